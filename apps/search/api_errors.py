"""Every API error is JSON: {"error": "<one readable sentence>", "status": <code>, "details": ...}."""
from __future__ import annotations

from typing import Any

from django.http import JsonResponse
from rest_framework.response import Response
from rest_framework.views import exception_handler


def _first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = _first_message(value)
            return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
        return "invalid request"
    if isinstance(detail, list):
        return _first_message(detail[0]) if detail else "invalid request"
    return str(detail)


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": _first_message(response.data), "status": response.status_code, "details": response.data}
    return response


def json_or_html_404(request, exception=None):
    """Unknown /api/ URLs answer in JSON like the rest of the API; other pages keep Django's 404."""
    if request.path.startswith("/api/"):
        return JsonResponse({"error": f"no API endpoint at {request.path}", "status": 404}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)

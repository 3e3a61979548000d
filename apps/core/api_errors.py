"""Every API error is JSON: {"error": "<one readable sentence>", "status": <code>, "details": ...}.

DRF's own errors go through `json_exception_handler`. Errors Django answers before or after a view
(unknown URL, a bad Host header, an unhandled exception) go through the handler400/403/404/500 views
below: JSON under /api/, Django's plain HTML pages elsewhere. Neither shows a traceback or settings
(DEBUG is off); Django logs a 500's traceback on the server ("django.request" logger).
Messages are in the request's language (LocaleMiddleware: Accept-Language or the language cookie;
DRF's own messages come translated from DRF's catalog).
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext, gettext_lazy
from django.views import defaults
from rest_framework import status as http_status
from rest_framework.exceptions import APIException, NotFound
from rest_framework.response import Response
from rest_framework.views import exception_handler


class Conflict(APIException):
    """409: the request is valid but the state of what it names forbids it (re-ingesting a removed file,
    searching an index built by another model)."""

    status_code = http_status.HTTP_409_CONFLICT
    default_code = "conflict"


class ServiceUnavailable(APIException):
    """503: the server cannot answer now (e.g. the model is not available)."""

    status_code = http_status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = gettext_lazy("the model is not available")


def first_message(detail: Any) -> str:
    if isinstance(detail, dict):
        for key, value in detail.items():
            message = first_message(value)
            return message if key in ("detail", "non_field_errors") else f"{key}: {message}"
        return gettext("invalid request")
    if isinstance(detail, list):
        return first_message(detail[0]) if detail else gettext("invalid request")
    return str(detail)


def json_exception_handler(exc: Exception, context: dict) -> Response | None:
    if type(exc) is Http404:  # get_object_or_404's "No Collection matches the given query." has no translation
        exc = NotFound()
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = {"error": first_message(response.data), "status": response.status_code, "details": response.data}
    return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json_error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message, "status": status}, status=status)


def json_or_html_400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """A request Django refused before any view; a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 that says so."""
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 2**20
            return _json_error(gettext("request body too large: the limit is %(limit)s MB (upload files as multipart)")
                               % {"limit": limit_mb}, 413)
        return _json_error(gettext("bad request"), 400)
    return defaults.bad_request(request, exception)


def json_or_html_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(gettext("permission denied"), 403)
    return defaults.permission_denied(request, exception)


def json_or_html_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown /api/ URLs answer in JSON like the rest of the API; other pages keep Django's 404."""
    if _is_api(request):
        return _json_error(gettext("no API endpoint at %(path)s") % {"path": request.path}, 404)
    return defaults.page_not_found(request, exception)


def json_or_html_500(request: HttpRequest) -> HttpResponse:
    """An unhandled exception: a fixed message, never the exception's text (it may hold paths or data)."""
    if _is_api(request):
        return _json_error(gettext("internal server error"), 500)
    return defaults.server_error(request)

"""API exceptions of the upload endpoints whose status DRF has no class for (rendered as JSON like every error).

Those the search endpoints share (409, 503) are in apps/core/api_errors.py."""
from __future__ import annotations

from django.utils.translation import gettext_lazy
from rest_framework import status
from rest_framework.exceptions import APIException


class PayloadTooLarge(APIException):
    """413: the request body is over the upload limit (refused while it streams in)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy("the upload is over the size limit")
    default_code = "payload_too_large"

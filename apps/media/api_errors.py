"""API exceptions of the media endpoints whose status DRF has no class for (rendered as JSON like every error)."""
from __future__ import annotations

from rest_framework import status
from rest_framework.exceptions import APIException


class Conflict(APIException):
    """409: the request is valid but the item's state forbids it (e.g. re-ingesting a removed file)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PayloadTooLarge(APIException):
    """413: the request body is over the upload limit (refused while it streams in)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "the upload is over the size limit"
    default_code = "payload_too_large"

"""Schema declarations of the media API that are more than a line: list filters and upload answers.

They describe ``filter_by_query`` and ``UploadMixin.create`` in apps/media/api.py as they behave, so
that the OpenAPI schema is exact (schemathesis checks it, tests/integration/test_api_schema.py).
"""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from apps.core.openapi import ErrorSerializer, error_responses

from .models import Status

_ID = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}

COLLECTION_FILTER = OpenApiParameter(
    "collection", str, description="only items of this collection (id or name); 404 if there is none")
STATUS_FILTER = OpenApiParameter(
    "status", str, description=f"only items at this stage: one of {', '.join(Status.values)} (others match nothing)")
ITEM_FILTERS = [COLLECTION_FILTER, STATUS_FILTER]
JOB_FILTERS = [
    COLLECTION_FILTER,
    OpenApiParameter("status", str, description=f"only jobs at this stage: one of {', '.join(Status.values)} "
                                                "(others match nothing)"),
    OpenApiParameter("video", _ID, description="only jobs of this video id"),
    OpenApiParameter("photo", _ID, description="only jobs of this photo id"),
]


def upload_responses(serializer: type) -> dict:
    """201 with the new item, 200 with the existing one when the collection has these bytes already."""
    return {
        201: OpenApiResponse(serializer, description="a new item, queued for ingestion"),
        200: OpenApiResponse(serializer, description="the collection had these bytes already (`duplicate`: true)"),
        **error_responses(413),
        503: OpenApiResponse(ErrorSerializer, description="The job queue (Redis) is down: the upload is kept, queued, "
                                                          "and processed when it is back (`item` holds it)."),
    }


def rebuild_responses(serializer: type) -> dict:
    """202 when the rebuild was sent; 503 when the broker is down (nothing is recorded: the client retries)."""
    return {202: serializer,
            503: OpenApiResponse(ErrorSerializer, description="The job queue (Redis) is down: no rebuild was queued, "
                                                              "the current index keeps answering; try again later.")}

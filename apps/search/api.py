"""REST endpoints: search (text, image, more-like-this), match explanation heat maps, and the collections
endpoint (media's viewset, with each collection's index summary)."""
from __future__ import annotations

from django.http import HttpResponse
from django.utils.translation import gettext
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_errors import Conflict, ServiceUnavailable
from apps.core.openapi import NOT_BLANK, error_responses
from apps.core.parsers import SafeJSONParser
from apps.core.throttles import SearchAnonThrottle, SearchUserThrottle
from apps.media import api as media_api
from apps.media.api import collection_or_404

from .embedders.base import ModelUnavailableError
from .images import ImageLoadError
from .index import IndexModelMismatchError
from .query_spec import MAX_TEXT_CHARS, QueryError
from .serializers import (
    ITEM_ID_SCHEMA,
    SearchJsonSerializer,
    SearchRequestSerializer,
    SearchResponseSerializer,
    response_to_dict,
)
from .service import SearchError, search_validated
from .vectors import index_summary


class CollectionViewSet(media_api.CollectionViewSet):
    """Collections the requesting user may see; a new one is private to its creator until shared or made public."""

    def get_serializer_context(self) -> dict:
        """Each collection's ``index`` (model, size, vector count, backend) is read from its index here."""
        return {**super().get_serializer_context(), "index_summary": index_summary}


def run_search(request: Request, data) -> Response:
    fields = SearchRequestSerializer(data=data)
    fields.is_valid(raise_exception=True)
    params = fields.validated_data
    collection = collection_or_404(params["collection"], request.user)
    try:
        response = search_validated(collection, params)
    except SearchError as exc:
        raise ValidationError(str(exc)) from exc
    except IndexModelMismatchError as exc:
        raise Conflict(str(exc)) from exc
    except ModelUnavailableError as exc:
        raise ServiceUnavailable(str(exc)) from exc
    return Response(response_to_dict(response, request))


SEARCH_RESPONSES = {200: SearchResponseSerializer, **error_responses(404, 409, 503)}


class SearchView(APIView):
    """Search a collection by text (Russian or English, with +/- and :weight syntax), example image,
    'more like this', or a list of weighted terms; given together, they are combined into one query."""

    parser_classes = [SafeJSONParser, MultiPartParser, FormParser]
    permission_classes = [AllowAny]  # POST only reads; the collection lookup itself hides what the client may not see
    throttle_classes = [SearchAnonThrottle, SearchUserThrottle]

    @extend_schema(
        operation_id="search",
        request={"application/json": SearchJsonSerializer, "multipart/form-data": SearchRequestSerializer,
                 "application/x-www-form-urlencoded": SearchJsonSerializer},
        responses=SEARCH_RESPONSES,
    )
    def post(self, request: Request) -> Response:
        return run_search(request, request.data)

    @extend_schema(operation_id="search_get", parameters=[SearchJsonSerializer], responses=SEARCH_RESPONSES)
    def get(self, request: Request) -> Response:
        return run_search(request, request.query_params)


class ExplainView(APIView):
    """A heat map (PNG) of which part of a keyframe or photo matches a text query."""

    throttle_classes = [SearchAnonThrottle, SearchUserThrottle]

    @extend_schema(
        operation_id="explain",
        parameters=[
            OpenApiParameter("text", {"type": "string", "pattern": NOT_BLANK, "maxLength": MAX_TEXT_CHARS}, required=True,
                             description="a query as the search reads it ('red car -night')"),
            OpenApiParameter("keyframe", ITEM_ID_SCHEMA, description="a keyframe id; give exactly one of keyframe, photo"),
            OpenApiParameter("photo", ITEM_ID_SCHEMA, description="a photo id; give exactly one of keyframe, photo"),
        ],
        responses={(200, "image/png"): OpenApiResponse(bytes, description="the heat map over the image"),
                   **error_responses(404, 503)},
    )
    def get(self, request: Request) -> HttpResponse:
        from .explain_service import explain_item

        text = (request.query_params.get("text") or "").strip()
        keyframe, photo = request.query_params.get("keyframe"), request.query_params.get("photo")
        if not text or (keyframe is None) == (photo is None):
            raise ValidationError(gettext("give text and exactly one of keyframe, photo"))
        for name, value in (("keyframe", keyframe), ("photo", photo)):
            if value is not None and not (value.isascii() and value.isdigit() and 0 < int(value) < 2**63):
                raise ValidationError({name: gettext("must be a positive whole number (an id)")})
        try:
            png = explain_item(text=text, keyframe_id=keyframe, photo_id=photo, actor=request.user)
        except QueryError as exc:
            raise ValidationError({"text": str(exc)}) from exc
        except ImageLoadError as exc:
            raise ValidationError({"image": str(exc)}) from exc
        except LookupError as exc:
            raise NotFound(str(exc)) from exc
        except ModelUnavailableError as exc:
            raise ServiceUnavailable(str(exc)) from exc
        return HttpResponse(png, content_type="image/png")

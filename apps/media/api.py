"""REST API for collections, videos, photos and ingest jobs (DRF generic viewsets)."""
from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.search.openapi import error_responses
from apps.search.parsers import SafeJSONParser

from .models import Collection, IngestJob, Photo, Video
from .openapi_params import ITEM_FILTERS, JOB_FILTERS, upload_responses
from .serializers import (
    CollectionSerializer,
    JobSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    RebuildQueuedSerializer,
    UploadFields,
    VideoDetailSerializer,
    VideoSerializer,
    VideoUploadSerializer,
)
from .services.collections import UnknownCollectionError, resolve_collection
from .services.queue import enqueue_rebuild
from .services.register import create_job, register_stream
from .services.storage import IMAGE_EXTENSIONS, kind_for_name


def filter_by_query(qs: QuerySet, request: Request, *fields: str) -> QuerySet:
    """Filter by the query parameters named ``fields``: a collection by id or name (the rule of every
    endpoint), other relations by id; anything else that is no id is a 400, not a 500."""
    for name in fields:
        value = request.query_params.get(name)
        if value is None:  # given but empty is no id or name either: 400/404 below, as the schema says
            continue
        if name == "collection":
            qs = qs.filter(collection=collection_or_404(value))
        elif name in ("video", "photo") and not (value.isascii() and value.isdigit() and int(value) < 2**63):
            raise ValidationError({name: "must be a whole number (an id)"})
        else:
            qs = qs.filter(**{name: value})
    return qs


class CollectionViewSet(viewsets.ModelViewSet):
    queryset = Collection.objects.all()
    serializer_class = CollectionSerializer
    parser_classes = [SafeJSONParser]  # JSON only: a form adds nothing, and a malformed one read as an empty PATCH
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=None, responses={202: RebuildQueuedSerializer})
    @action(detail=True, methods=["post"])
    def rebuild(self, request: Request, pk: str | None = None) -> Response:
        """Re-embed the whole collection with its configured model (e.g. after changing the model)."""
        collection = self.get_object()
        enqueue_rebuild(collection.pk)
        return Response({"status": "queued", "collection": collection.pk}, status=status.HTTP_202_ACCEPTED)


class UploadMixin:
    """POST multipart {collection, file}: 201 with the new item, or 200 with the existing one if the bytes are known."""

    expected_kind: str

    @extend_schema(request={"multipart/form-data": UploadFields}, responses=error_responses(413))
    def create(self, request: Request, *args, **kwargs) -> Response:
        fields = UploadFields(data=request.data)
        fields.is_valid(raise_exception=True)
        try:
            collection = resolve_collection(fields.validated_data["collection"])
        except UnknownCollectionError as exc:
            raise ValidationError({"collection": str(exc)}) from exc
        upload = fields.validated_data["file"]
        if kind_for_name(upload.name) != self.expected_kind:
            hint = ", ".join(sorted(IMAGE_EXTENSIONS))
            raise ValidationError({"file": f"'{upload.name}' is not a {self.expected_kind} (photos are {hint})"})
        try:
            registered = register_stream(collection, upload.chunks(), upload.name)
        except ValueError as exc:
            raise ValidationError({"file": str(exc)}) from exc
        data = self.get_serializer(registered.item).data
        data["duplicate"] = not registered.created
        return Response(data, status=status.HTTP_201_CREATED if registered.created else status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def reingest(self, request: Request, pk: str | None = None) -> Response:
        """Queue the item again from its stored file (e.g. after a failure or a pipeline change)."""
        job = create_job(self.get_object())
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(parameters=ITEM_FILTERS),
                    create=extend_schema(responses=upload_responses(VideoUploadSerializer)))
class VideoViewSet(UploadMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    expected_kind = "video"
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet:
        return filter_by_query(Video.objects.select_related("collection"), self.request, "collection", "status")

    def get_serializer_class(self):
        return VideoDetailSerializer if self.action == "retrieve" else VideoSerializer


@extend_schema_view(list=extend_schema(parameters=ITEM_FILTERS),
                    create=extend_schema(responses=upload_responses(PhotoUploadSerializer)))
class PhotoViewSet(UploadMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    expected_kind = "photo"
    serializer_class = PhotoSerializer
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> QuerySet:
        return filter_by_query(Photo.objects.select_related("collection"), self.request, "collection", "status")


@extend_schema_view(list=extend_schema(parameters=JOB_FILTERS))
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet:
        return filter_by_query(IngestJob.objects.all(), self.request, "collection", "status", "video", "photo")


def collection_or_404(ref: str) -> Collection:
    try:
        return resolve_collection(ref)
    except UnknownCollectionError as exc:
        raise NotFound(str(exc)) from exc

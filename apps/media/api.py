"""REST API for collections, videos, photos and ingest jobs (DRF generic viewsets)."""
from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.api_errors import Conflict
from apps.core.openapi import error_responses
from apps.core.parsers import SafeJSONParser
from apps.core.throttles import UploadAnonThrottle, UploadUserThrottle

from .access import Access, Actor, may, visible_collections
from .models import Collection, IngestJob, Photo, Video
from .openapi_params import ITEM_FILTERS, JOB_FILTERS, rebuild_responses, upload_responses
from .permissions import CollectionRights
from .serializers import (
    CollectionSerializer,
    JobSerializer,
    PhotoSerializer,
    PhotoUploadSerializer,
    RebuildQueuedSerializer,
    ShareSerializer,
    SharesSerializer,
    UploadFields,
    VideoDetailSerializer,
    VideoSerializer,
    VideoUploadSerializer,
)
from .services.collections import UnknownCollectionError, resolve_collection
from .services.deletion import delete_rows
from .services.queue import noting_send_failures, send_rebuild
from .services.register import FileGoneError, queue_again, register_stream
from .services.sharing import UnknownUserError, set_share, shares_of


def filter_by_query(qs: QuerySet, request: Request, *fields: str) -> QuerySet:
    """Filter by the query parameters named ``fields``: a collection by id or name (the rule of every
    endpoint), other relations by id; anything else that is no id is a 400, not a 500."""
    for name in fields:
        value = request.query_params.get(name)
        if value is None:  # given but empty is no id or name either: 400/404 below, as the schema says
            continue
        if name == "collection":
            qs = qs.filter(collection=collection_or_404(value, request.user))
        elif name in ("video", "photo") and not (value.isascii() and value.isdigit() and int(value) < 2**63):
            raise ValidationError({name: gettext("must be a whole number (an id)")})
        elif "\x00" in value:  # matches nothing, as any unknown value; PostgreSQL would refuse it (a 500)
            qs = qs.none()
        else:
            qs = qs.filter(**{name: value})
    return qs


#: The 503 message when a job was recorded but could not be sent to the workers.
QUEUE_UNAVAILABLE = gettext_lazy("the job queue is unavailable; the upload is kept and will be processed when it is back")

#: The 503 message of a rebuild asked for while the broker is down (nothing records it: the client retries).
REBUILD_UNAVAILABLE = gettext_lazy("the job queue is unavailable; the rebuild was not queued (the current index keeps "
                                   "answering): try again later")


def queue_unavailable(data: dict) -> Response:
    """503 for an upload or re-ingest recorded while the broker is down: kept "queued", sent by the sweeper later."""
    return Response({"error": str(QUEUE_UNAVAILABLE), "status": 503, "item": data},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})


class CollectionViewSet(viewsets.ModelViewSet):
    """Collections the requesting user may see; a new one is private to its creator until shared or made public."""

    serializer_class = CollectionSerializer
    permission_classes = [CollectionRights]
    write_rights = {"partial_update": Access.OWN, "destroy": Access.OWN, "shares": Access.OWN,
                    "rebuild": Access.WRITE}
    parser_classes = [SafeJSONParser]  # JSON only: a form adds nothing, and a malformed one read as an empty PATCH
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    # The serializer's ``index`` field calls ``context["index_summary"]``; the index is search's, so the viewset
    # routed at /api/collections/ is apps/search/api.py's subclass, which passes it.

    def get_queryset(self) -> QuerySet:
        return visible_collections(self.request.user)

    def perform_create(self, serializer) -> None:
        serializer.save(owner=self.request.user)

    def perform_destroy(self, instance: Collection) -> None:
        delete_rows(instance)

    @extend_schema(request=None, responses=rebuild_responses(RebuildQueuedSerializer))
    @action(detail=True, methods=["post"])
    def rebuild(self, request: Request, pk: str | None = None) -> Response:
        """Re-embed the whole collection with its configured model (e.g. after changing the model)."""
        collection = self.get_object()
        if not send_rebuild(collection.pk):
            return Response({"error": str(REBUILD_UNAVAILABLE), "status": 503},
                            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "60"})
        return Response({"status": "queued", "collection": collection.pk}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=ShareSerializer, responses={200: SharesSerializer})
    @action(detail=True, methods=["get", "post"])
    def shares(self, request: Request, pk: str | None = None) -> Response:
        """Who else may read or write this collection (owner only); POST {user, access: read|write|none}."""
        collection = self.get_object()
        if request.method == "POST":
            fields = ShareSerializer(data=request.data)
            fields.is_valid(raise_exception=True)
            try:
                set_share(collection, fields.validated_data["user"], fields.validated_data["access"])
            except UnknownUserError as exc:
                raise ValidationError({"user": str(exc)}) from exc
            except ValueError as exc:
                raise ValidationError({"user": str(exc)}) from exc
        elif not may(request.user, collection, Access.OWN):
            self.permission_denied(request, message=gettext("only the owner sees who a collection is shared with"))
        return Response({"collection": collection.pk, "shares": shares_of(collection)})


class UploadMixin:
    """POST multipart {collection, file}: 201 with the new item, or 200 with the existing one if the bytes are known."""

    expected_kind: str
    permission_classes = [CollectionRights]

    def get_queryset(self) -> QuerySet:
        model = Video if self.expected_kind == "video" else Photo
        qs = model.objects.select_related("collection").filter(collection__in=visible_collections(self.request.user))
        return filter_by_query(qs, self.request, "collection", "status")

    def perform_destroy(self, instance) -> None:
        delete_rows(instance)

    @extend_schema(request={"multipart/form-data": UploadFields}, responses=error_responses(413))
    def create(self, request: Request, *args, **kwargs) -> Response:
        fields = UploadFields(data=request.data)
        fields.is_valid(raise_exception=True)
        try:
            collection = resolve_collection(fields.validated_data["collection"], request.user)
        except UnknownCollectionError as exc:
            raise ValidationError({"collection": str(exc)}) from exc
        if not may(request.user, collection, Access.WRITE):
            refusal = gettext("collection '%(name)s' is read-only for you") % {"name": collection.name}
            self.permission_denied(request, message=refusal)
        upload = fields.validated_data["file"]
        try:  # the content decides: no photo or video, or the other kind, is a 400 and leaves nothing
            with noting_send_failures() as send_failed:
                registered = register_stream(collection, upload.chunks(), upload.name, expect=self.expected_kind)
                unsent = send_failed()  # read after the commit: the send runs in on_commit
        except ValueError as exc:
            raise ValidationError({"file": [str(exc)]}) from exc
        data = self.get_serializer(registered.item).data
        if unsent:
            return queue_unavailable(data)
        data["duplicate"] = not registered.created
        return Response(data, status=status.HTTP_201_CREATED if registered.created else status.HTTP_200_OK)

    @extend_schema(request=None, responses={202: JobSerializer})
    @action(detail=True, methods=["post"])
    def reingest(self, request: Request, pk: str | None = None) -> Response:
        """Queue the item again from its stored file (e.g. after a failure or a pipeline change)."""
        try:
            with noting_send_failures() as send_failed:
                job = queue_again(self.get_object())
                unsent = send_failed()
        except FileGoneError as exc:  # a failed upload's file was removed: 409, upload it again
            raise Conflict(str(exc)) from exc
        if unsent:
            return queue_unavailable(JobSerializer(job).data)
        return Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(list=extend_schema(parameters=ITEM_FILTERS),
                    create=extend_schema(responses=upload_responses(VideoUploadSerializer)))
class VideoViewSet(UploadMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    expected_kind = "video"
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadAnonThrottle, UploadUserThrottle]

    def get_serializer_class(self):
        return VideoDetailSerializer if self.action == "retrieve" else VideoSerializer


@extend_schema_view(list=extend_schema(parameters=ITEM_FILTERS),
                    create=extend_schema(responses=upload_responses(PhotoUploadSerializer)))
class PhotoViewSet(UploadMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin, viewsets.ReadOnlyModelViewSet):
    expected_kind = "photo"
    serializer_class = PhotoSerializer
    parser_classes = [MultiPartParser, FormParser]
    throttle_classes = [UploadAnonThrottle, UploadUserThrottle]


@extend_schema_view(list=extend_schema(parameters=JOB_FILTERS))
class JobViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = JobSerializer

    def get_queryset(self) -> QuerySet:
        jobs = IngestJob.objects.filter(collection__in=visible_collections(self.request.user))
        return filter_by_query(jobs, self.request, "collection", "status", "video", "photo")


def collection_or_404(ref: str, actor: Actor) -> Collection:
    """The collection ``actor`` may see by id or name; 404 alike for one that does not exist and one that is hidden."""
    try:
        return resolve_collection(ref, actor)
    except UnknownCollectionError as exc:
        raise NotFound(str(exc)) from exc

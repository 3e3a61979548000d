"""REST representations of collections, media items and ingest jobs."""
from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils.functional import lazy
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .access import Access, access_to
from .models import Collection, IngestJob, Keyframe, Photo, Scene, Status, Video
from .services import job_progress
from .services.models_allowed import model_names, unknown_model_message


def media_url(request, relative: str) -> str | None:
    if not relative:
        return None
    url = reverse("media-file", kwargs={"path": relative})
    return request.build_absolute_uri(url) if request else url


def model_name_field() -> serializers.ChoiceField:
    """A name from the operator's list as it is now; never a spec (it could name a server file)."""
    return serializers.ChoiceField(
        choices=model_names(), allow_blank=True, required=False,
        error_messages={"invalid_choice": lazy(unknown_model_message, str)()},  # in the request's language
        help_text="model name from the server's list (blank: the server default)",
    )


class StrictCharField(serializers.CharField):
    """Text as the schema states it: a JSON string (DRF's CharField also takes a number: 0 becomes "0"),
    at most max_length characters as sent (DRF measures the trimmed value, so 300 characters with 150
    spaces around them passed a 200-character limit the schema says they break)."""

    def to_internal_value(self, data: object) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if self.max_length is not None and len(data) > self.max_length:
            self.fail("max_length", max_length=self.max_length, length=len(data))
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, as the schema states it (DRF's BooleanField also takes 0, 1, "yes", "on")."""

    def to_internal_value(self, data: object) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


@extend_schema_field({"oneOf": [{"type": "string", "minLength": 1, "pattern": r"\S"}, {"type": "integer"}]})
class CollectionRefField(serializers.CharField):
    """A collection's id or name: a number is an id (JSON clients send ids as numbers)."""


class StatusCountsSerializer(serializers.Serializer):
    """How many items of a collection are at each pipeline stage (schema of ``CollectionSerializer._counts``)."""

    queued = serializers.IntegerField()
    probing = serializers.IntegerField()
    detecting = serializers.IntegerField()
    embedding = serializers.IntegerField()
    reading = serializers.IntegerField(help_text="reading on-screen text: already searchable")
    indexed = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField()


class IndexInfoSerializer(serializers.Serializer):
    """The collection's vector index (schema of ``CollectionSerializer.get_index``)."""

    model_id = serializers.CharField(allow_null=True, help_text="the model that built it; null while empty")
    dim = serializers.IntegerField(allow_null=True, help_text="vector size; null while empty")
    vectors = serializers.IntegerField(help_text="keyframes and photos indexed")
    backend = serializers.CharField(help_text="index backend (flat, ...)")


class CollectionSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.CharField: StrictCharField, models.TextField: StrictCharField,
                                models.BooleanField: StrictBooleanField}
    model = serializers.CharField(source="model_label", read_only=True,
                                  help_text="the model's spec, or its name when the spec names a server path")
    videos = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    index = serializers.SerializerMethodField()
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    access = serializers.SerializerMethodField(help_text="what the requesting user may do: read, write or own")

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "embedder", "model", "owner", "public", "access", "created_at",
                  "read_screen_text", "text_languages", "videos", "photos", "index"]

    def get_access(self, obj: Collection) -> str:
        request = self.context.get("request")
        level = access_to(request.user, obj) if request else Access.OWN
        return level.name.lower()

    def get_fields(self) -> dict:
        fields = super().get_fields()
        fields["embedder"] = model_name_field()  # built per use: the list is read from settings now
        return fields

    def _counts(self, qs) -> dict[str, int]:
        counts = {status: 0 for status, _ in Status.choices}
        for status in qs.values_list("status", flat=True):
            counts[status] += 1
        counts["total"] = sum(counts.values())
        return counts

    @extend_schema_field(StatusCountsSerializer)
    def get_videos(self, obj: Collection) -> dict[str, int]:
        return self._counts(obj.videos.all())

    @extend_schema_field(StatusCountsSerializer)
    def get_photos(self, obj: Collection) -> dict[str, int]:
        return self._counts(obj.photos.all())

    @extend_schema_field(IndexInfoSerializer)
    def get_index(self, obj: Collection) -> dict:
        """The view passes the service that reads the index (``context["index_summary"]``): a serializer
        represents what it is given and opens no index itself."""
        return self.context["index_summary"](obj)


class ShareSerializer(serializers.Serializer):
    """Give a user read or read-write access to a collection, or take it back (``none``)."""

    user = serializers.CharField(max_length=150, help_text="username")
    access = serializers.ChoiceField(choices=["read", "write", "none"])


class ShareEntrySerializer(serializers.Serializer):
    user = serializers.CharField()
    access = serializers.ChoiceField(choices=["read", "write"])


class SharesSerializer(serializers.Serializer):
    """Who else may read or write a collection (answer of ``/collections/{id}/shares/``)."""

    collection = serializers.IntegerField()
    shares = ShareEntrySerializer(many=True)


class JobSerializer(serializers.ModelSerializer):
    """A job and its progress; ``done``/``total``/``unit``/``percent`` are the numbers ``manage.py ingest`` shows."""

    kind = serializers.ChoiceField(choices=["video", "photo"], read_only=True)
    progress = serializers.FloatField(read_only=True, min_value=0.0, max_value=1.0,
                                      help_text="0..1 within the current stage")
    done = serializers.IntegerField(
        read_only=True, min_value=0,
        help_text="units of the current stage done: frames analysed (detecting), keyframes or photos embedded "
                  "(embedding; indexed keeps the final count); 0 in stages that count nothing")
    total = serializers.IntegerField(
        read_only=True, min_value=0,
        help_text="units of the current stage in all (frames: expected until the decode ends, then exact); "
                  "0 while unknown. Reset to 0 when the job moves to the next stage")
    unit = serializers.SerializerMethodField(help_text="what done/total count; null while nothing is counted")
    percent = serializers.SerializerMethodField(
        help_text="whole percent of the current stage, 0-100 (from done/total when known, else progress)")

    class Meta:
        model = IngestJob
        fields = [
            "id", "collection", "kind", "video", "photo", "status", "progress", "done", "total", "unit", "percent",
            "error", "attempts", "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=list(job_progress.UNITS), allow_null=True))
    def get_unit(self, obj: IngestJob) -> str | None:
        return job_progress.unit(obj)

    @extend_schema_field(serializers.IntegerField(min_value=0, max_value=100))
    def get_percent(self, obj: IngestJob) -> int:
        return job_progress.percent(obj)


class SceneSerializer(serializers.ModelSerializer):
    class Meta:
        model = Scene
        fields = ["index", "start", "end"]


class KeyframeSerializer(serializers.ModelSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Keyframe
        fields = ["id", "time", "segment_start", "segment_end", "thumbnail_url"]

    def get_thumbnail_url(self, obj: Keyframe) -> str | None:
        return media_url(self.context.get("request"), obj.thumbnail.name)


class UploadFields(serializers.Serializer):
    """Multipart upload: the collection (id or name) and the file."""

    collection = serializers.CharField()
    file = serializers.FileField(allow_empty_file=True)  # an empty file is refused by the upload service, saying so


class MediaItemSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()
    reingesting = serializers.BooleanField(read_only=True, help_text="Ingested again; the indexed version stays searchable.")

    def get_url(self, obj) -> str | None:
        return media_url(self.context.get("request"), obj.file.name)

    @extend_schema_field(JobSerializer(allow_null=True))
    def get_latest_job(self, obj) -> dict | None:
        job = obj.jobs.order_by("-created_at", "-id").first()
        return JobSerializer(job).data if job else None


class VideoSerializer(MediaItemSerializer):
    class Meta:
        model = Video
        fields = [
            "id", "collection", "original_name", "status", "reingesting", "error", "url", "size_bytes", "sha256",
            "duration", "fps", "width", "height", "codec", "rotation", "created_at", "indexed_at", "latest_job",
        ]
        read_only_fields = fields


class VideoDetailSerializer(VideoSerializer):
    scenes = SceneSerializer(many=True, read_only=True)
    keyframes = KeyframeSerializer(many=True, read_only=True)

    class Meta(VideoSerializer.Meta):
        fields = VideoSerializer.Meta.fields + ["scenes", "keyframes"]
        read_only_fields = fields


class PhotoSerializer(MediaItemSerializer):
    thumbnail_url = serializers.SerializerMethodField()

    class Meta:
        model = Photo
        fields = [
            "id", "collection", "original_name", "status", "reingesting", "error", "url", "thumbnail_url", "size_bytes", "sha256",
            "width", "height", "created_at", "indexed_at", "latest_job",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, obj: Photo) -> str | None:
        return media_url(self.context.get("request"), obj.thumbnail.name)


class VideoUploadSerializer(VideoSerializer):
    """Upload's answer (schema only): the video, and whether these bytes were already in the collection."""

    duplicate = serializers.BooleanField(read_only=True,
                                         help_text="true (status 200): the collection had these bytes already")

    class Meta(VideoSerializer.Meta):
        fields = VideoSerializer.Meta.fields + ["duplicate"]


class PhotoUploadSerializer(PhotoSerializer):
    """Upload's answer (schema only): the photo, and whether these bytes were already in the collection."""

    duplicate = serializers.BooleanField(read_only=True,
                                         help_text="true (status 200): the collection had these bytes already")

    class Meta(PhotoSerializer.Meta):
        fields = PhotoSerializer.Meta.fields + ["duplicate"]


class RebuildQueuedSerializer(serializers.Serializer):
    """Rebuild's answer: the collection's re-embedding is queued."""

    status = serializers.ChoiceField(choices=["queued"])
    collection = serializers.IntegerField(help_text="the collection's id")

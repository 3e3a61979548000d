"""REST representations of collections, media items and ingest jobs."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from .models import Collection, IngestJob, Keyframe, Photo, Scene, Status, Video


def media_url(request, relative: str) -> str | None:
    if not relative:
        return None
    url = reverse("media-file", kwargs={"path": relative})
    return request.build_absolute_uri(url) if request else url


class CollectionSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="embedder_spec", read_only=True)
    videos = serializers.SerializerMethodField()
    photos = serializers.SerializerMethodField()
    index = serializers.SerializerMethodField()

    class Meta:
        model = Collection
        fields = ["id", "name", "description", "embedder", "model", "created_at", "videos", "photos", "index"]

    def validate_embedder(self, value: str) -> str:
        """A spec of no valid form would fail every search and ingest of the collection: refuse it here."""
        from apps.search.embedders.registry import UnknownEmbedderError, check_spec

        if value.strip():
            try:
                check_spec(value)
            except UnknownEmbedderError as exc:
                raise serializers.ValidationError(str(exc)) from exc
        return value

    def _counts(self, qs) -> dict[str, int]:
        counts = {status: 0 for status, _ in Status.choices}
        for status in qs.values_list("status", flat=True):
            counts[status] += 1
        counts["total"] = sum(counts.values())
        return counts

    def get_videos(self, obj: Collection) -> dict[str, int]:
        return self._counts(obj.videos.all())

    def get_photos(self, obj: Collection) -> dict[str, int]:
        return self._counts(obj.photos.all())

    def get_index(self, obj: Collection) -> dict:
        from .services.vectors import collection_index

        info = collection_index(obj).info()
        return {"model_id": info.model_id, "dim": info.dim, "vectors": info.count, "backend": info.backend}


class JobSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = IngestJob
        fields = [
            "id", "collection", "kind", "video", "photo", "status", "progress", "error", "attempts",
            "created_at", "started_at", "finished_at",
        ]


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
    file = serializers.FileField(allow_empty_file=True)  # an empty file becomes a failed item with a reason, as via the CLI


class MediaItemSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    latest_job = serializers.SerializerMethodField()

    def get_url(self, obj) -> str | None:
        return media_url(self.context.get("request"), obj.file.name)

    def get_latest_job(self, obj) -> dict | None:
        job = obj.jobs.order_by("-created_at", "-id").first()
        return JobSerializer(job).data if job else None


class VideoSerializer(MediaItemSerializer):
    class Meta:
        model = Video
        fields = [
            "id", "collection", "original_name", "status", "error", "url", "size_bytes", "sha256",
            "duration", "fps", "width", "height", "codec", "created_at", "indexed_at", "latest_job",
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
            "id", "collection", "original_name", "status", "error", "url", "thumbnail_url", "size_bytes", "sha256",
            "width", "height", "created_at", "indexed_at", "latest_job",
        ]
        read_only_fields = fields

    def get_thumbnail_url(self, obj: Photo) -> str | None:
        return media_url(self.context.get("request"), obj.thumbnail.name)

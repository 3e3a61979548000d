"""Admin: manage collections, media, scenes/keyframes and jobs; re-ingest media, queue index rebuilds.

The collection admin's index column and consistency page read the index: apps/search/admin.py registers
the collection admin in use, this one extended with them.
"""
from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from .access import visible_collections
from .forms import CollectionAdminForm
from .models import Collection, CollectionShare, IngestJob, Keyframe, Photo, Scene, Video
from .services.deletion import delete_rows
from .services.models_allowed import DEFAULT_NAME, allowed_models
from .services.queue import send_rebuild
from .services.register import FileGoneError, queue_again


def thumb(relative: str, height: int = 60) -> str:
    if not relative:
        return "-"
    # height="" rather than style="": the Content-Security-Policy refuses inline styles.
    return format_html('<img src="{}" height="{}" alt="">', reverse("media-file", kwargs={"path": relative}), height)


class DeleteInOneTransaction:
    """Admin deletes go through services/deletion.py: a running ingest's new rows go with the item."""

    def delete_model(self, request, obj) -> None:
        delete_rows(obj)

    def delete_queryset(self, request, queryset) -> None:
        delete_rows(queryset)


class ShareInline(admin.TabularInline):
    model = CollectionShare
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Collection)
class CollectionAdmin(DeleteInOneTransaction, admin.ModelAdmin):
    form = CollectionAdminForm  # the model is a select of the operator's names (settings.EMBEDDERS)
    list_display = ["name", "owner", "public", "model_in_use", "read_screen_text", "video_count", "photo_count",
                    "created_at"]
    list_filter = ["public", "read_screen_text"]
    search_fields = ["name", "owner__username"]
    autocomplete_fields = ["owner"]
    inlines = [ShareInline]
    actions = ["rebuild_index"]

    def get_queryset(self, request):
        """Staff see every collection (apps/media/access.py), through the same helper as every other entry point."""
        return visible_collections(request.user)

    @admin.display(description="model")
    def model_in_use(self, obj: Collection) -> str:
        name = obj.embedder or DEFAULT_NAME
        spec = allowed_models().get(name)
        return f"{name} ({spec})" if spec else f"{name} (not configured)"

    @admin.display(description="videos")
    def video_count(self, obj: Collection) -> int:
        return obj.videos.count()

    @admin.display(description="photos")
    def photo_count(self, obj: Collection) -> int:
        return obj.photos.count()

    @admin.action(description="Rebuild index with the collection's model")
    def rebuild_index(self, request, queryset) -> None:
        unsent = [collection.name for collection in queryset if not send_rebuild(collection.pk)]
        if unsent:
            self.message_user(request, "The job queue is unavailable: no rebuild queued for "
                              f"{', '.join(unsent)}; try again later.", messages.ERROR)
        if sent := queryset.count() - len(unsent):
            self.message_user(request, f"Rebuild queued for {sent} collection(s).", messages.SUCCESS)


class SceneInline(admin.TabularInline):
    model = Scene
    extra = 0
    fields = ["index", "start", "end"]
    readonly_fields = fields
    can_delete = False


class ReingestMixin(DeleteInOneTransaction):
    @admin.action(description="Re-ingest selected items")
    def reingest(self, request, queryset) -> None:
        queued = 0
        for item in queryset:
            try:
                queue_again(item)
                queued += 1
            except FileGoneError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{queued} item(s) queued again.", messages.SUCCESS)


@admin.register(Video)
class VideoAdmin(ReingestMixin, admin.ModelAdmin):
    list_display = ["original_name", "collection", "status", "duration", "error", "created_at"]
    list_filter = ["status", "collection"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["sha256", "size_bytes", "duration", "fps", "width", "height", "codec", "indexed_at",
                       "text_read_at", "text_note"]
    inlines = [SceneInline]
    actions = ["reingest"]


@admin.register(Photo)
class PhotoAdmin(ReingestMixin, admin.ModelAdmin):
    list_display = ["preview", "original_name", "collection", "status", "error", "created_at"]
    list_filter = ["status", "collection"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["sha256", "size_bytes", "width", "height", "indexed_at"]
    actions = ["reingest"]

    @admin.display(description="")
    def preview(self, obj: Photo) -> str:
        return thumb(obj.thumbnail.name)


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ["video", "index", "start", "end"]
    list_filter = ["video__collection"]


@admin.register(Keyframe)
class KeyframeAdmin(admin.ModelAdmin):
    list_display = ["preview", "video", "time", "segment_start", "segment_end"]
    list_filter = ["video__collection"]

    @admin.display(description="")
    def preview(self, obj: Keyframe) -> str:
        return thumb(obj.thumbnail.name)


@admin.register(IngestJob)
class IngestJobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "item", "collection", "status", "progress", "attempts", "error", "created_at"]
    list_filter = ["status", "collection"]
    readonly_fields = ["started_at", "finished_at", "attempts"]

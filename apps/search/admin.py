"""Admin of collections' indexes: the collection admin in use is media's, extended with its index.

apps/media/admin.py registers a collection admin that knows rows only (media imports nothing of search);
this module replaces that registration with :class:`CollectionIndexAdmin`, the same admin plus an "index"
column (vectors and model of each collection's index) and the consistency page (`manage.py verify`'s
report, read-only). URLs, names and templates stay media's (``admin:media_collection_consistency``,
admin/media/collection/...): the admin is still that of the media.Collection model.
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path

from apps.media.admin import CollectionAdmin, VideoAdmin
from apps.media.models import Collection, TextSpan, Video

from . import consistency
from .vectors import collection_index


class CollectionIndexAdmin(CollectionAdmin):
    list_display = ["name", "owner", "public", "model_in_use", "video_count", "photo_count", "index_summary",
                    "created_at"]

    @admin.display(description="index")
    def index_summary(self, obj: Collection) -> str:
        info = collection_index(obj).info()
        return f"{info.count} vectors, {info.model_id or 'empty'}"

    def get_urls(self):
        view = self.admin_site.admin_view(self.consistency_view)
        return [
            path("consistency/", view, name="media_collection_consistency"),
            path("<path:object_id>/consistency/", view, name="media_collection_consistency_one"),
            *super().get_urls(),
        ]

    def consistency_view(self, request, object_id: str | None = None) -> TemplateResponse:
        """The report of `manage.py verify` (all collections, or one), read-only; repairs stay on the command line."""
        collection = self.get_object(request, unquote(object_id)) if object_id is not None else None
        if object_id is not None and collection is None:
            raise Http404("no such collection")
        if not self.has_view_permission(request, collection):
            raise PermissionDenied
        report = consistency.verify(collection)
        context = {**self.admin_site.each_context(request), "opts": self.opts, "collection": collection,
                   "title": f"Consistency of {collection}" if collection else "Consistency", "report": report.as_dict()}
        return TemplateResponse(request, "admin/media/collection/consistency.html", context)


admin.site.unregister(Collection)
admin.site.register(Collection, CollectionIndexAdmin)


class TextSpanInline(admin.TabularInline):
    """A video's words as the text index searches them (subtitle cues, on-screen text), read-only: the readers
    write them (apps/media/services/text_spans.py), a re-ingest replaces them."""

    model = TextSpan
    extra = 0
    fields = ["start", "end", "source", "language", "text", "confidence", "track"]
    readonly_fields = fields
    can_delete = False
    show_change_link = False
    verbose_name = "word span"
    verbose_name_plural = "words in the video (subtitle cues, on-screen text)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class VideoWordsAdmin(VideoAdmin):
    """media's video admin plus the video's words (searched by apps/search/text_index.py)."""

    inlines = [*VideoAdmin.inlines, TextSpanInline]


admin.site.unregister(Video)
admin.site.register(Video, VideoWordsAdmin)

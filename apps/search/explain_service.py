"""Heat map for one stored keyframe or photo against a text query (glue between rows and explain.py)."""
from __future__ import annotations

from django.conf import settings

from apps.media.access import Actor, visible_collections
from apps.media.models import Keyframe, Photo
from apps.media.services import storage

from .embedders.registry import get_embedder
from .explain import explain_png
from .images import open_image
from .query import embed_query
from .query_spec import build_query


def explain_item(*, text: str, actor: Actor, keyframe_id: str | None = None, photo_id: str | None = None) -> bytes:
    """The heat map against the text query as the search reads it ('red car -night' included);
    QueryError when the text is no valid query, LookupError when the item does not exist or ``actor`` may not
    see its collection."""
    query = build_query(text=text)
    visible = visible_collections(actor)
    if keyframe_id is not None:
        row = Keyframe.objects.select_related("video__collection").filter(
            pk=keyframe_id, video__collection__in=visible).first()
        if row is None:
            raise LookupError(f"no keyframe {keyframe_id}")
        collection, relative = row.video.collection, row.thumbnail.name
    else:
        row = Photo.objects.select_related("collection").filter(pk=photo_id, collection__in=visible).first()
        if row is None:
            raise LookupError(f"no photo {photo_id}")
        collection, relative = row.collection, row.thumbnail.name or row.file.name
    if not storage.is_stored(relative):  # a failed item's file is removed (apps/media/services/register.py)
        raise LookupError(f"{'keyframe ' + str(keyframe_id) if keyframe_id else 'photo ' + str(photo_id)} has no stored image")
    embedder = get_embedder(collection.embedder_spec)
    image = open_image(storage.absolute(relative), max_pixels=settings.MAX_IMAGE_PIXELS)  # a failed photo may be huge
    return explain_png(embedder, image, embed_query(embedder, query, _no_stored_items).vector)


def _no_stored_items(term) -> None:
    raise AssertionError("a text query has no stored items")

"""The bridge between media rows and their collection's vector index."""
from __future__ import annotations

import threading
from collections import OrderedDict

from django.conf import settings

from apps.search.ids import keyframe_vector_id, photo_vector_id
from apps.search.index import CollectionIndex, IndexModelMismatchError

from ..models import Collection, Photo, Video
from . import storage

_open: OrderedDict[tuple[str, str], CollectionIndex] = OrderedDict()
_open_lock = threading.Lock()


def collection_index(collection: Collection) -> CollectionIndex:
    """This process's CollectionIndex for the collection (``settings.OPEN_INDEXES`` are kept, LRU).

    One instance per collection per process, so the vectors it loaded serve the next search too:
    it re-reads only what other processes wrote since (a stat, a header, new log records), instead
    of the whole index file per request.
    """
    key = (str(collection.index_dir), settings.INDEX_BACKEND)
    with _open_lock:
        index = _open.pop(key, None) or CollectionIndex(collection.index_dir, backend=settings.INDEX_BACKEND)
        _open[key] = index
        while len(_open) > max(1, settings.OPEN_INDEXES):
            _open.popitem(last=False)
    return index


def remove_video_vectors(video: Video) -> int:
    ids = [keyframe_vector_id(pk) for pk in video.keyframes.values_list("pk", flat=True)]
    return collection_index(video.collection).remove(ids) if ids else 0


def remove_photo_vectors(photo: Photo) -> int:
    return collection_index(photo.collection).remove([photo_vector_id(photo.pk)])


def delete_item_files(item: Video | Photo) -> None:
    """Remove the stored file and thumbnails of a deleted item."""
    kind = "video" if isinstance(item, Video) else "photo"
    if item.file.name:
        storage.absolute(item.file.name).unlink(missing_ok=True)
    storage.remove_tree(storage.thumbnail_dir(item.collection_id, kind, item.pk))


def ensure_index_model(collection: Collection, index: CollectionIndex, model_id: str) -> None:
    """Refuse early, with the store's own message, when the index was built by another model."""
    built_by = index.info().model_id
    if built_by and built_by != model_id:
        raise IndexModelMismatchError(
            f"the index of collection '{collection.name}' was built by model {built_by}, but the configured "
            f"model is {model_id}; rebuild the index (admin action 'Rebuild index', "
            f"`python manage.py rebuild_index --collection \"{collection.name}\"`, or POST "
            f"/api/collections/{collection.pk}/rebuild/)"
        )

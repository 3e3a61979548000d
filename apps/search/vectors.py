"""The bridge between media rows and their collection's vector index.

Vectors of an item are added only while its row exists, and dropped once it is deleted, under one
lock per collection (:func:`item_write`): an ingest that finishes after its item was deleted can
therefore never leave vectors behind (see signals.py for the deleting side). Indexing and querying
both open a collection's index through :func:`collection_index`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import numpy as np
from django.conf import settings

from apps.media.models import Collection, Photo, Video
from apps.media.services import locks, storage
from apps.media.services.deletion import ItemDeletedError

from .ids import photo_vector_id
from .index import CollectionIndex, IndexModelMismatchError

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


def index_of(collection_id: int) -> CollectionIndex:
    """The index of a collection known by id only (e.g. one whose row was just deleted)."""
    return collection_index(Collection(pk=collection_id))


@contextmanager
def item_write(collection_id: int) -> Iterator[None]:
    """The collection's lock for "is the item still there? then add its vectors" and "it is gone: drop them"."""
    with locks.hold(storage.collection_lock_path(collection_id)):
        yield


def add_item_vectors(item: Video | Photo, index: CollectionIndex, model_id: str, ids: list[int],
                     embeddings: np.ndarray) -> None:
    """Add an item's vectors if its row still exists; ItemDeletedError (nothing added) when it was deleted."""
    with item_write(item.collection_id):
        if not type(item).objects.filter(pk=item.pk).exists():
            raise ItemDeletedError(f"{type(item).__name__.lower()} {item.pk} was deleted during its ingest")
        index.add(model_id, ids, embeddings)


def add_photo_vectors(collection_id: int, index: CollectionIndex, model_id: str, photo_ids: list[int],
                      embeddings: np.ndarray) -> set[int]:
    """Add the vectors of those photos that still exist (one write); returns their ids."""
    with item_write(collection_id):
        kept = set(Photo.objects.filter(pk__in=photo_ids).values_list("pk", flat=True))
        rows = [i for i, pk in enumerate(photo_ids) if pk in kept]
        if rows:
            index.add(model_id, [photo_vector_id(photo_ids[i]) for i in rows], embeddings[rows])
    return kept


def drop_vectors(collection_id: int, ids: Iterable[int]) -> int:
    """Remove vector ids of deleted (or never indexed) items, under the collection's write lock."""
    ids = list(ids)
    if not ids:
        return 0
    with item_write(collection_id):
        return index_of(collection_id).remove(ids)


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


def index_summary(collection: Collection) -> dict:
    """What the API shows of a collection's index: the model that built it, its vector size and count, its backend."""
    info = collection_index(collection).info()
    return {"model_id": info.model_id, "dim": info.dim, "vectors": info.count, "backend": info.backend}

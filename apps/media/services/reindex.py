"""Rebuild a collection's index from what is stored, e.g. after switching the collection's model.

Keyframes are re-embedded from their saved images, so no video is decoded again.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator

import numpy as np
from django.conf import settings

from apps.search.embedders.registry import get_embedder
from apps.search.ids import keyframe_vector_id, photo_vector_id
from apps.search.images import ImageLoadError, open_image

from ..models import Collection, Keyframe, Photo, Status
from . import storage, vectors
from .keyframe_store import SavedImages

log = logging.getLogger(__name__)


def _batches(queryset, size: int) -> Iterator[list]:
    batch: list = []
    for row in queryset.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


#: Vectors gathered before one index write: each write copies the index in memory once, so a
#: rebuild writes in large steps, not once per embedding batch.
INDEX_WRITE_BATCH = 4096


class _IndexWriter:
    """Collects (ids, vectors) and adds them to the index a few thousand at a time."""

    def __init__(self, index, model_id: str) -> None:
        self.index, self.model_id = index, model_id
        self.ids: list[int] = []
        self.vectors: list[np.ndarray] = []
        self.count = 0

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        self.ids.extend(ids)
        self.vectors.append(vectors)
        if len(self.ids) >= INDEX_WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.ids:
            self.index.add(self.model_id, self.ids, np.concatenate(self.vectors))
            self.count += len(self.ids)
            self.ids, self.vectors = [], []


def rebuild_collection_index(collection: Collection) -> int:
    """Re-embed every indexed keyframe and photo with the collection's current model; returns the count."""
    embedder = get_embedder(collection.embedder_spec)
    index = vectors.collection_index(collection)
    index.reset(embedder.model_id)
    writer = _IndexWriter(index, embedder.model_id)
    size = settings.EMBED_BATCH_SIZE
    keyframes = Keyframe.objects.filter(video__collection=collection, video__status=Status.INDEXED).order_by("pk")
    for batch in _batches(keyframes, size):
        images = SavedImages([kf.thumbnail.name for kf in batch])
        writer.add([keyframe_vector_id(kf.pk) for kf in batch], embedder.encode_images(images))
    photos = Photo.objects.filter(collection=collection, status=Status.INDEXED).order_by("pk")
    for batch in _batches(photos, size):
        kept, images = [], []
        for photo in batch:
            try:
                images.append(open_image(storage.absolute(photo.file.name), max_pixels=settings.MAX_IMAGE_PIXELS))
                kept.append(photo)
            except (ImageLoadError, FileNotFoundError) as exc:
                log.warning("photo %s skipped in rebuild: %s", photo.pk, exc)
        if kept:
            writer.add([photo_vector_id(p.pk) for p in kept], embedder.encode_images(images))
    writer.flush()
    return writer.count

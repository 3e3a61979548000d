"""Rebuild a collection's index from what is stored, e.g. after switching the collection's model.

Keyframes are re-embedded from their saved images, so no video is decoded again. The vectors go
to a new index generation beside the live one (:mod:`index_rebuild`): searches keep
answering from the old vectors until the new ones replace them in one step, a rebuild killed at
any point changes nothing a search sees, and ingests running meanwhile are carried over.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

import numpy as np
from django.conf import settings
from django.db.models import QuerySet

from apps.media.models import Collection, Keyframe, Photo
from apps.media.services import checkpoints, storage
from apps.media.services.keyframe_store import SavedImages

from . import vectors
from .embedders.base import Embedder
from .embedders.registry import get_embedder
from .ids import decode_vector_id, keyframe_vector_id, photo_vector_id
from .images import ImageLoadError, open_image
from .index import CollectionIndex
from .index_rebuild import BuildDelta, IndexBuild

log = logging.getLogger(__name__)

#: Vectors gathered before one index write: each write copies the index in memory once, so a
#: rebuild writes in large steps, not once per embedding batch.
INDEX_WRITE_BATCH = 4096
#: Ids per ``pk__in`` query (SQLite caps the variables of one statement).
QUERY_CHUNK = 10_000

Embedded = tuple[list[int], np.ndarray]


#: Rows read per query. Each query is read to the end before any embedding: an open cursor would
#: hold SQLite's read lock, and ingests could not commit for the whole rebuild.
ROWS_PER_QUERY = 1024


def _batches(queryset: QuerySet, size: int) -> Iterator[list]:
    """The rows of ``queryset`` in pk order, ``size`` at a time, without keeping a cursor open."""
    pks = list(queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(pks), ROWS_PER_QUERY):
        rows = list(queryset.filter(pk__in=pks[start:start + ROWS_PER_QUERY]).order_by("pk"))
        for first in range(0, len(rows), size):
            yield rows[first:first + size]


class _IndexWriter:
    """Collects (ids, vectors) and adds them to the new generation a few thousand at a time."""

    def __init__(self, build: IndexBuild) -> None:
        self.build = build
        self.ids: list[int] = []
        self.vectors: list[np.ndarray] = []

    def add(self, ids: list[int], vectors: np.ndarray) -> None:
        self.ids.extend(ids)
        self.vectors.append(vectors)
        if len(self.ids) >= INDEX_WRITE_BATCH:
            self.flush()

    def flush(self) -> None:
        if self.ids:
            self.build.add(self.ids, np.concatenate(self.vectors))
            self.ids, self.vectors = [], []


def rebuild_collection_index(collection: Collection) -> int:
    """Re-embed the collection's searchable keyframes and photos with its current model; returns the new count."""
    embedder = get_embedder(collection.embedder_spec)
    with IndexBuild(vectors.collection_index(collection), embedder.model_id) as build:
        checkpoints.reached("rebuild.started")
        writer = _IndexWriter(build)
        keyframes = Keyframe.objects.filter(video__collection=collection, video__indexed_at__isnull=False)
        photos = Photo.objects.filter(collection=collection, indexed_at__isnull=False)
        for ids, embedded in embed_items(embedder, keyframes, photos):
            writer.add(ids, embedded)
            checkpoints.reached("rebuild.batch")
        writer.flush()
        build.swap(lambda delta, live: catch_up(collection, embedder, build, delta, live),
                   before_swap=lambda: checkpoints.reached("rebuild.swap"))
        return build.count


def embed_items(embedder: Embedder, keyframes: QuerySet, photos: QuerySet) -> Iterator[Embedded]:
    """(vector ids, vectors) of the keyframes' saved images and the photos' files, a batch at a time.

    An image that is gone (a re-ingest replaced the video's images meanwhile) is left out: if its
    vector is still live, the catch-up carries it over.
    """
    size = settings.EMBED_BATCH_SIZE
    for batch in _batches(keyframes, size):
        embedded = _embed_keyframes(embedder, batch)
        if embedded is not None:
            yield embedded
    for batch in _batches(photos, size):
        embedded = _embed_photos(embedder, batch)
        if embedded is not None:
            yield embedded


def _embed_keyframes(embedder: Embedder, batch: list[Keyframe]) -> Embedded | None:
    for _ in range(2):
        kept = [kf for kf in batch if storage.is_stored(kf.thumbnail.name)]
        if not kept:
            return None
        try:
            images = embedder.encode_images(SavedImages([kf.thumbnail.name for kf in kept]))
        except FileNotFoundError:  # removed between the check and the read: look again
            continue
        if len(kept) < len(batch):
            log.warning("%d keyframes without a saved image skipped in rebuild", len(batch) - len(kept))
        return [keyframe_vector_id(kf.pk) for kf in kept], images
    return None


def _embed_photos(embedder: Embedder, batch: list[Photo]) -> Embedded | None:
    kept, images = [], []
    for photo in batch:
        try:
            images.append(open_image(storage.absolute(photo.file.name), max_pixels=settings.MAX_IMAGE_PIXELS))
            kept.append(photo)
        except (ImageLoadError, FileNotFoundError) as exc:
            log.warning("photo %s skipped in rebuild: %s", photo.pk, exc)
    if not kept:
        return None
    return [photo_vector_id(p.pk) for p in kept], embedder.encode_images(images)


def catch_up(collection: Collection, embedder: Embedder, build: IndexBuild, delta: BuildDelta,
             live: CollectionIndex) -> None:
    """Carry what ingests changed in the live index during the rebuild over to the new generation."""
    build.remove(delta.removed)
    keyframe_pks, photo_pks = _split(delta.unlisted)
    kept_keyframes = _existing(Keyframe.objects.filter(video__collection=collection), keyframe_pks)
    kept_photos = _existing(Photo.objects.filter(collection=collection), photo_pks)
    build.remove([keyframe_vector_id(pk) for pk in set(keyframe_pks) - kept_keyframes]
                 + [photo_vector_id(pk) for pk in set(photo_pks) - kept_photos])
    if not delta.missing.size:
        return
    if live.info().model_id == embedder.model_id:  # the same model: its vectors are the ones we would compute
        present, stored = live.reconstruct_present(delta.missing)
        if present.size:
            build.add(present, stored)
        return
    keyframe_pks, photo_pks = _split(delta.missing)
    for chunk in _chunks(keyframe_pks):
        for ids, embedded in embed_items(embedder, Keyframe.objects.filter(pk__in=chunk), Photo.objects.none()):
            build.add(ids, embedded)
    for chunk in _chunks(photo_pks):
        for ids, embedded in embed_items(embedder, Keyframe.objects.none(), Photo.objects.filter(pk__in=chunk)):
            build.add(ids, embedded)


def _split(ids: np.ndarray) -> tuple[list[int], list[int]]:
    """Vector ids as (keyframe pks, photo pks)."""
    keyframes: list[int] = []
    photos: list[int] = []
    for vid in ids.tolist():
        kind, pk = decode_vector_id(vid)
        (keyframes if kind == "keyframe" else photos).append(pk)
    return keyframes, photos


def _chunks(pks: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(pks), QUERY_CHUNK):
        yield pks[start:start + QUERY_CHUNK]


def _existing(rows: QuerySet, pks: Iterable[int]) -> set[int]:
    """The pks among ``pks`` that ``rows`` holds."""
    found: set[int] = set()
    for chunk in _chunks(list(pks)):
        found.update(rows.filter(pk__in=chunk).values_list("pk", flat=True))
    return found

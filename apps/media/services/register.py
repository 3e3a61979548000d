"""Turn an uploaded or server-side file into a queued Video or Photo (and its ingest job).

Content decides identity: the same bytes added twice to a collection give back the existing item,
so nothing is stored, embedded or indexed twice. Content also decides the kind: a file is a photo
or a video by its sniffed format, never by its name, and anything else is refused unstored.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.db import IntegrityError, transaction

from ..models import Collection, IngestJob, Photo, Status, Video
from . import storage
from .queue import enqueue_job
from .subtitle_reading import keep_sidecars


@dataclass(frozen=True)
class Registered:
    item: Video | Photo
    created: bool
    job: IngestJob | None


class FileGoneError(ValueError):
    """The item's stored file was removed (its upload was unusable): only a new upload can bring it back."""


def register_stream(
    collection: Collection, stream: BinaryIO | Iterable[bytes], original_name: str, expect: str | None = None
) -> Registered:
    """Store a file (streamed) in the collection and queue its ingestion, unless it is already there.

    Raises :class:`sniff.UnacceptedFileError` (a ValueError) when the content is no photo or video, or
    not the ``expect``-ed kind ("photo"/"video"), and ValueError over the size limit; nothing is kept then.
    """
    chunks = storage.read_chunks(stream) if hasattr(stream, "read") else stream
    upload = storage.stream_to_temp(chunks, original_name, expect)
    model = Photo if upload.kind == "photo" else Video
    existing = model.objects.filter(collection=collection, sha256=upload.sha256).first()
    if existing is not None and not storage.is_stored(existing.file.name):
        return _restore_file(existing, upload, original_name)
    if existing is not None:
        upload.temp_path.unlink(missing_ok=True)
        return Registered(existing, False, None)
    relative = storage.place(upload, storage.item_dir(collection.pk, upload.kind), original_name)
    try:
        with transaction.atomic():
            item = model.objects.create(
                collection=collection,
                file=relative,
                original_name=storage.safe_name(original_name),
                sha256=upload.sha256,
                size_bytes=upload.size_bytes,
                status=Status.QUEUED,
            )
            job = create_job(item)
    except IntegrityError:  # another request stored the same bytes a moment ago
        storage.absolute(relative).unlink(missing_ok=True)
        return Registered(model.objects.get(collection=collection, sha256=upload.sha256), False, None)
    return Registered(item, True, job)


def register_path(collection: Collection, path: Path) -> Registered:
    """register_stream for a file on the server's disk; a new video also keeps the subtitle files beside it.

    One transaction, so the job is sent (on commit) only once the sidecars are kept for it to read.
    """
    with transaction.atomic():
        with open(path, "rb") as fh:
            registered = register_stream(collection, fh, path.name)
        if registered.created and isinstance(registered.item, Video):
            keep_sidecars(registered.item, path)
    return registered


def _restore_file(item: Video | Photo, upload: storage.StoredUpload, original_name: str) -> Registered:
    """The same bytes again for an item whose unusable file was removed: store them and queue it anew."""
    relative = storage.place(upload, storage.item_dir(item.collection_id, upload.kind), original_name)
    with transaction.atomic():
        type(item).objects.filter(pk=item.pk).update(file=relative, size_bytes=upload.size_bytes)
        item.file, item.size_bytes = relative, upload.size_bytes
        job = create_job(item)
    return Registered(item, True, job)


def queue_again(item: Video | Photo, send: bool = True) -> IngestJob:
    """Queue an item again from its stored file; FileGoneError when there is none to ingest any more."""
    if not storage.is_stored(item.file.name):
        raise FileGoneError(
            f"'{item.original_name}' has no stored file any more (it was removed when its ingestion failed"
            f"{': ' + item.error if item.error else ''}); upload the file again"
        )
    return create_job(item, send)


def create_job(item: Video | Photo, send: bool = True) -> IngestJob:
    """Create a queued job for an item and send it to the workers once the transaction commits
    (``send=False``: the caller sends it, e.g. once it let go of the item's lock)."""
    field = "video" if isinstance(item, Video) else "photo"
    job = IngestJob.objects.create(collection=item.collection, status=Status.QUEUED, **{field: item})
    if item.status != Status.QUEUED or item.error:
        type(item).objects.filter(pk=item.pk).update(status=Status.QUEUED, error="")
        item.status, item.error = Status.QUEUED, ""
    if send:
        enqueue_job(job.pk, photo=field == "photo")
    return job

"""An ingest job's state machine: its stages, attempts, failure, its item's lock; nothing of the index.

A job and its item move through the stages together (queued -> probing -> detecting -> embedding ->
indexed | failed), one transaction each, so they never disagree. The run itself (analyse, embed,
index) is apps/search/indexing.py; the sweeper (sweeper.py) and the resuming of a killed
``manage.py ingest`` (apps/search/resume.py) use the same rules.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import IngestJob, Photo, Status, Video
from . import locks, storage
from .cleanup import ItemLeftovers, delete_item_files

log = logging.getLogger(__name__)

TERMINAL = (Status.INDEXED, Status.FAILED)
#: What a run reports for a job whose item was deleted while it ran.
DELETED = "deleted"
#: Progress is written at most this often (the stage's last count always).
PROGRESS_WRITE_INTERVAL_S = 0.5


_watchers: list[Callable[[int], None]] = []


@contextmanager
def watching(callback: Callable[[int], None]) -> Iterator[None]:
    """Call ``callback(job id)`` after each stage or progress write this process makes within the block.

    Why: ``manage.py ingest`` without workers runs the jobs in its own thread; its progress bar reads
    the job's row when told it changed (with workers it polls the rows), so both show the API's numbers.
    """
    _watchers.append(callback)
    try:
        yield
    finally:
        _watchers.remove(callback)


def _written(job_pk: int) -> None:
    for callback in list(_watchers):
        callback(job_pk)


class JobRun:
    """Moves one job and its item through the stages, recording progress in the database."""

    def __init__(self, job: IngestJob) -> None:
        self.job = job
        self.item: Video | Photo = job.item
        self._last_progress_write = 0.0

    def stage(self, status: str, progress: float = 0.0, *, done: int = 0, total: int = 0) -> None:
        """Move the job and its item to ``status`` together (one transaction): they never disagree.

        The counts start again with each stage (``total`` when already known: the keyframes to embed).
        """
        now = timezone.now()
        fields: dict = {"status": status, "progress": progress, "done": done, "total": total, "heartbeat_at": now}
        if status in (Status.INDEXED, Status.FAILED):
            fields["finished_at"] = now
        item_fields: dict = {"status": status, "updated_at": now}
        if status in (Status.INDEXED, Status.READING):  # reading text comes after the visual commit: searchable
            item_fields.update(indexed_at=now, error="")
        with transaction.atomic():
            IngestJob.objects.filter(pk=self.job.pk).update(**fields)
            type(self.item).objects.filter(pk=self.item.pk).update(**item_fields)
        _written(self.job.pk)

    def progress(self, done: int, total: int) -> None:
        """``done`` of ``total`` units of the stage (frames, keyframes): what the jobs API and the CLI show.

        Throttled: at most a few writes per second, whatever the caller's rate, but the stage's last
        count (done == total) is always written. Each write is a heartbeat.
        """
        now = time.monotonic()
        if now - self._last_progress_write >= PROGRESS_WRITE_INTERVAL_S or done >= total:
            self._last_progress_write = now
            IngestJob.objects.filter(pk=self.job.pk).update(
                progress=round(min(done / total, 1.0), 3) if total > 0 else 0.0, done=done, total=total,
                heartbeat_at=timezone.now())
            _written(self.job.pk)

    def fail(self, reason: str, file_unusable: bool = False) -> None:
        """Record the failure on the job and the item (together); a file the caller found unusable is removed too."""
        mark_failed(self.job, self.item, reason)
        if file_unusable:
            discard_unusable_file(self.item)


def mark_failed(job: IngestJob, item: Video | Photo, reason: str) -> None:
    """The job and its item end "failed" with ``reason``, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        IngestJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error=reason, finished_at=now,
                                                   heartbeat_at=now)
        type(item).objects.filter(pk=item.pk).update(status=Status.FAILED, error=reason, updated_at=now)


def requeue_if_unchanged(job: IngestJob, heartbeat_at=None) -> bool:
    """Mark ``job`` and its item queued again from the start of the stages, unless the job changed since it was
    read (another sweeper or CLI claimed it first): the one claim the sweeper and the CLI's resume both make.
    Runs in the caller's transaction; False when the claim lost."""
    unchanged = IngestJob.objects.filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at,
                                         attempts=job.attempts)
    if not unchanged.update(status=Status.QUEUED, progress=0.0, done=0, total=0, heartbeat_at=heartbeat_at):
        return False
    item = job.item
    type(item).objects.filter(pk=item.pk).exclude(status__in=TERMINAL).update(status=Status.QUEUED,
                                                                              updated_at=timezone.now())
    return True


def gave_up_reason(attempts: int) -> str:
    return f"gave up after {attempts} attempts (worker died each time)"


def discard_unusable_file(item: Video | Photo) -> None:
    """Delete the stored file and thumbnails of an item that was never indexed; the row keeps its error.

    A bad upload is not kept on disk for nothing (nor served): the failure stays listed, and the same
    bytes uploaded again are stored anew. An item indexed before keeps its file: its keyframes,
    thumbnails and vectors still stand for it, and a repaired file can be re-ingested in place.
    """
    model = type(item)
    if not model.objects.filter(pk=item.pk, indexed_at__isnull=True).exists():
        return
    delete_item_files(item)
    cleared = {"file": "", "thumbnail": ""} if isinstance(item, Photo) else {"file": ""}
    model.objects.filter(pk=item.pk).update(**cleared)


@contextmanager
def item_lock(job: IngestJob) -> Iterator[None]:
    """One run at a time per item, across processes and machines sharing MEDIA_ROOT.

    The broker may hand a task to a second worker while the first still runs it (a task longer
    than the visibility timeout); interleaved runs would leave orphan vectors. The second run
    waits here; the OS releases the lock when a worker dies, so a redelivered job is not blocked.
    """
    item = job.item
    path = storage.lock_path(job.kind, item.pk)
    try:
        with locks.hold(path):
            yield
    finally:
        if not item_exists(item):  # deleted meanwhile: its lock file would outlive it
            path.unlink(missing_ok=True)


def item_exists(item: Video | Photo) -> bool:
    return type(item).objects.filter(pk=item.pk).exists()


def drop_deleted(item: Video | Photo, what: str) -> str:
    """Remove what a run wrote for an item deleted under it (its thumbnails, staging folder...)."""
    log.info("%s: its %s was deleted during the ingest; dropped what the run wrote", what, type(item).__name__.lower())
    ItemLeftovers(type(item).__name__.lower(), item.pk, item.collection_id).remove()
    return DELETED


def finished_status(job: IngestJob) -> str | None:
    """None while the job is to be run; else its final status (a concurrent delivery finished it) or
    "missing" (the item, and its jobs with it, was deleted before the run began)."""
    status = IngestJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
    if status is None:
        return "missing"
    return status if status in TERMINAL else None


def start_run(job: IngestJob) -> JobRun | None:
    """Count the attempt and clear the last error before working on the job.

    None, and the job failed, when it has been started ``JOB_MAX_ATTEMPTS`` times already: each
    earlier run died with its worker (a finished run ends the job), so this one would likely too.
    """
    attempts = IngestJob.objects.filter(pk=job.pk).values_list("attempts", flat=True).first() or 0
    if attempts >= settings.JOB_MAX_ATTEMPTS:
        log.error("ingest job %s: %s", job.pk, gave_up_reason(attempts))
        mark_failed(job, job.item, gave_up_reason(attempts))
        return None
    now = timezone.now()
    IngestJob.objects.filter(pk=job.pk).update(attempts=F("attempts") + 1, started_at=now, heartbeat_at=now, error="")
    return JobRun(job)

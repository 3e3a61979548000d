"""Hand jobs to Celery once the rows they refer to are committed.

Videos go one job per task. Photos are cheap one by one but costly in overhead (a task, an
embedding call and an index write each), so photos registered inside :func:`photo_batches` are
sent to the workers ``PHOTO_TASK_BATCH`` jobs per task; outside it a photo goes alone.

A send that fails (the broker is down) leaves the job "queued" with no ``heartbeat_at``: the
sweeper (sweeper.py) sends it once the broker is back, so an upload is never lost. The failure
is noted for this thread, so the request that queued the job can say so (:func:`send_failed`).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from celery import signature
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError

from ..models import IngestJob, Status

log = logging.getLogger(__name__)

_pending = threading.local()  # the photo job ids of the open photo_batches() block, per thread

#: What a send raises when the broker cannot be reached (kombu wraps redis' errors; OSError for raw sockets).
BROKER_DOWN = (OperationalError, ConnectionError, OSError)

#: The Celery tasks jobs are sent to, by name: workers/tasks.py defines them and depends on these services, so
#: apps never import workers. videosearch/celery.py registers them in every process, so a send without a broker
#: (task_always_eager) still runs them in place.
INGEST_JOB = "videosearch.ingest_job"
INGEST_PHOTO_JOBS = "videosearch.ingest_photo_jobs"
REBUILD_INDEX = "videosearch.rebuild_index"


def enqueue_job(job_id: int, *, photo: bool = False) -> None:
    """Send a job to the workers after commit (held back while a photo batch is open)."""
    batch: list[int] | None = getattr(_pending, "photo_jobs", None)
    if photo and batch is not None:
        batch.append(job_id)
        return
    transaction.on_commit(lambda: send_jobs([job_id], photo=photo))


def send_jobs(job_ids: list[int], *, photo: bool = False, countdown: float = 0) -> bool:
    """Send jobs now; True when the broker took them all. A failure is logged and noted, not raised."""
    if photo:
        size = max(1, settings.PHOTO_TASK_BATCH)
        groups = [job_ids[start:start + size] for start in range(0, len(job_ids), size)]
        sends: list[tuple[list[int], Callable[[], object]]] = [
            (group, lambda group=group: signature(INGEST_PHOTO_JOBS).apply_async((group,), countdown=countdown or None))
            for group in groups]
    else:
        sends = [([job_id], lambda job_id=job_id: signature(INGEST_JOB).apply_async((job_id,), countdown=countdown or None))
                 for job_id in job_ids]
    ok = True
    for group, send in sends:
        try:
            send()
        except BROKER_DOWN as exc:
            log.warning("job queue unavailable (%s): jobs %s stay queued for the sweeper", exc, group)
            _pending.send_failed = True
            ok = False
            continue
        mark_sent(group)
    return ok


def mark_sent(job_ids: list[int]) -> None:
    """A queued job with a heartbeat was sent: the sweeper leaves it to the broker."""
    IngestJob.objects.filter(pk__in=job_ids, status=Status.QUEUED).update(heartbeat_at=timezone.now())


@contextmanager
def noting_send_failures() -> Iterator[Callable[[], bool]]:
    """Within the block, the returned callable says whether a send failed (e.g. for a 503 answer)."""
    _pending.send_failed = False
    try:
        yield lambda: bool(getattr(_pending, "send_failed", False))
    finally:
        _pending.send_failed = False


@contextmanager
def photo_batches() -> Iterator[None]:
    """Collect the photo jobs created in this block and send them in batches when it ends."""
    if getattr(_pending, "photo_jobs", None) is not None:  # nested: the outer block sends
        yield
        return
    _pending.photo_jobs = []
    try:
        yield
    finally:
        job_ids, _pending.photo_jobs = _pending.photo_jobs, None
        if job_ids:
            transaction.on_commit(lambda: send_jobs(job_ids, photo=True))


def send_rebuild(collection_id: int) -> bool:
    """Send a rebuild of the collection's index now; False (logged) when the broker is down.

    A rebuild has no row to keep it (unlike a job): the caller says "try again later" instead of
    "queued", and the old index keeps answering meanwhile.
    """
    try:
        signature(REBUILD_INDEX).delay(collection_id)
    except BROKER_DOWN as exc:
        log.warning("job queue unavailable (%s): rebuild of collection %s not sent", exc, collection_id)
        return False
    return True

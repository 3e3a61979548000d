"""Hand jobs to Celery once the rows they refer to are committed.

Videos go one job per task. Photos are cheap one by one but costly in overhead (a task, an
embedding call and an index write each), so photos registered inside :func:`photo_batches` are
sent to the workers ``PHOTO_TASK_BATCH`` jobs per task; outside it a photo goes alone.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import transaction

_pending = threading.local()  # the photo job ids of the open photo_batches() block, per thread


def enqueue_job(job_id: int, *, photo: bool = False) -> None:
    """Send a job to the workers after commit (held back while a photo batch is open)."""
    batch: list[int] | None = getattr(_pending, "photo_jobs", None)
    if photo and batch is not None:
        batch.append(job_id)
        return
    if photo:
        transaction.on_commit(lambda: _send_photo_jobs([job_id]))
        return
    from workers.tasks import ingest_job  # imported late: tasks depend on services, not the reverse

    transaction.on_commit(lambda: ingest_job.delay(job_id))


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
            transaction.on_commit(lambda: _send_photo_jobs(job_ids))


def _send_photo_jobs(job_ids: list[int]) -> None:
    from workers.tasks import ingest_photo_jobs

    size = max(1, settings.PHOTO_TASK_BATCH)
    for start in range(0, len(job_ids), size):
        ingest_photo_jobs.delay(job_ids[start:start + size])


def enqueue_rebuild(collection_id: int) -> None:
    from workers.tasks import rebuild_index

    transaction.on_commit(lambda: rebuild_index.delay(collection_id))

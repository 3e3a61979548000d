"""A background beat that tells the sweeper a job's worker is alive, whatever the job is doing.

Why a thread: some stages make no progress calls for minutes (a slow model's embedding batch, a
slow index write), and a silent job is taken for one whose worker died (sweeper.py).
The thread writes ``heartbeat_at`` every ``JOB_HEARTBEAT_S`` until the run ends; a worker that is
SIGKILLed stops beating with it, which is the point.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection
from django.utils import timezone

from ..models import IngestJob, Status

log = logging.getLogger(__name__)


def beat(job_ids: list[int]) -> None:
    """Mark the jobs alive now (those not finished)."""
    IngestJob.objects.filter(pk__in=job_ids).exclude(status__in=[Status.INDEXED, Status.FAILED]).update(
        heartbeat_at=timezone.now())


@contextmanager
def beating(job_ids: list[int]) -> Iterator[None]:
    """Beat for ``job_ids`` in a daemon thread while the block runs.

    Not when tasks run eagerly (no broker, no worker to lose): the caller is the worker, and a
    second connection would fight the caller's open transaction for SQLite's write lock.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        yield
        return
    stop = threading.Event()

    def loop() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_S):
                try:
                    beat(job_ids)
                except Exception:  # noqa: BLE001 - a missed beat is retried; the job must not die of it
                    log.warning("heartbeat of jobs %s failed", job_ids, exc_info=True)
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=loop, name=f"heartbeat-{job_ids[:3]}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)

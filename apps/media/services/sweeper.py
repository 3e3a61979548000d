"""Take up jobs whose worker died, and jobs the broker never got: no job stays unfinished for good.

Why: a worker SIGKILLed mid-ingest (OOM killer, a lost machine) leaves its job "detecting" until
the broker's visibility timeout (an hour) hands the task on; a send that failed while the broker
was down leaves the job "queued" with no task at all. The sweeper runs every
``JOB_SWEEP_EVERY_S`` (celery beat) and when a worker starts, and sends again:

- a started job whose heartbeat is older than ``JOB_STALE_S`` and whose item lock no live process
  holds (a run alive but slow to beat keeps its lock), after ``JOB_MAX_ATTEMPTS`` runs it ends
  "failed" instead;
- a queued job never sent (no heartbeat) older than ``JOB_STALE_S``;
- a queued job sent longer ago than the broker's visibility timeout (the broker lost it).

A job sent again goes back to "queued" (job and item together), so the next sweep leaves it to the
broker. Sending twice is harmless: a run skips a job another run finished (jobs.finished_status).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import IngestJob, Status
from . import locks, storage
from .jobs import TERMINAL, gave_up_reason, mark_failed, requeue_if_unchanged
from .queue import send_jobs

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # queued jobs the broker never got
    failed: list[int] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # stale, but a live process holds the item's lock

    def __bool__(self) -> bool:
        return bool(self.requeued or self.sent or self.failed)


def stale_jobs(now=None) -> list[IngestJob]:
    """Unfinished jobs no live worker seems to be on (see the module doc), oldest first."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.JOB_STALE_S)
    lost = now - timedelta(seconds=max(settings.JOB_STALE_S, visibility_timeout_s()))
    started = ~Q(status=Status.QUEUED) & (Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, created_at__lt=stale))
    never_sent = Q(status=Status.QUEUED, heartbeat_at__isnull=True, created_at__lt=stale)
    sent_long_ago = Q(status=Status.QUEUED, heartbeat_at__lt=lost)
    return list(IngestJob.objects.select_related("video", "photo").exclude(status__in=TERMINAL)
                .filter(started | never_sent | sent_long_ago).order_by("pk"))


def visibility_timeout_s() -> float:
    return float(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout", 3600))


def backoff_s(attempts: int) -> float:
    """Delay before a run after ``attempts`` died: none after the first, then 10 s, 20 s... up to 5 min."""
    return 0.0 if attempts <= 1 else min(10.0 * 2 ** (attempts - 2), 300.0)


def requeue_stale_jobs() -> SweepReport:
    """Send again (or give up on) every stale job; see the module doc."""
    report = SweepReport()
    for job in stale_jobs():
        item = job.item
        if item is None:
            continue
        with locks.try_hold(storage.lock_path(job.kind, item.pk)) as free:
            if not free:  # a live run has it (waiting on the database, say): not ours to take
                report.busy.append(job.pk)
                continue
            _take_up(job, report)
    if report:
        log.warning("sweeper: requeued %s, sent %s, gave up on %s", report.requeued, report.sent, report.failed)
    return report


def _take_up(job: IngestJob, report: SweepReport) -> None:
    """Fail, or mark queued and send, one stale job; a job changed since it was read is left alone."""
    now = timezone.now()
    unchanged = IngestJob.objects.filter(pk=job.pk, status=job.status, heartbeat_at=job.heartbeat_at,
                                         attempts=job.attempts)
    if job.attempts >= settings.JOB_MAX_ATTEMPTS:
        if unchanged.exists():
            mark_failed(job, job.item, gave_up_reason(job.attempts))
            report.failed.append(job.pk)
        return
    with transaction.atomic():  # claim it (another sweeper may be at it too), job and item together
        if not requeue_if_unchanged(job, heartbeat_at=now):
            return
    (report.sent if job.status == Status.QUEUED else report.requeued).append(job.pk)
    if not send_jobs([job.pk], photo=bool(job.photo_id), countdown=backoff_s(job.attempts)):
        # the broker is still down: unsent again, so the next sweep tries once more
        IngestJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(heartbeat_at=None)

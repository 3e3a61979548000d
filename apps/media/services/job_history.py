"""An item's ingest jobs, newest first, as its page lists them: what happened each time, and why it failed.

Each re-ingest, retry from the admin or upload again is one job (a worker's repeated tries of one job
are its ``attempts``); the page shows the latest ones with their times, how long they ran and their reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import IngestJob, Photo, Status, Video
from . import job_progress

#: Jobs listed on a page; an item re-ingested more often says how many were left out.
MAX_JOBS = 20


@dataclass(frozen=True)
class JobEntry:
    pk: int
    status: str
    state: str  # the stage and its counts in words, e.g. "embedding 40/88 keyframes"
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str

    @property
    def finished(self) -> bool:
        return self.status in (Status.INDEXED, Status.FAILED)

    @property
    def duration_s(self) -> float | None:
        """How long its last attempt ran, start to finish; None while it runs or when it never started."""
        if self.started_at is None or self.finished_at is None:
            return None
        return max((self.finished_at - self.started_at).total_seconds(), 0.0)


@dataclass(frozen=True)
class JobHistory:
    jobs: list[JobEntry]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.jobs)


def job_history(item: Video | Photo, limit: int = MAX_JOBS) -> JobHistory:
    """The item's latest ``limit`` jobs, newest first, and how many it has in all."""
    jobs = IngestJob.objects.filter(**{type(item).__name__.lower(): item}).order_by("-created_at", "-id")
    entries = [
        JobEntry(job.pk, job.status, job_progress.describe(job), job.attempts, job.created_at, job.started_at,
                 job.finished_at, job.error)
        for job in jobs[:limit]
    ]
    return JobHistory(entries, jobs.count())

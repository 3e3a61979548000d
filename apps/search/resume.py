"""Take up again the unfinished items that an earlier ``manage.py ingest``, killed midway, left behind.

Why: without workers (no ``REDIS_URL``) the command runs the jobs itself. Killed midway (the OOM killer,
a closed SSH session, ``kill -9``), it left items "queued", "probing", "detecting" or "embedding" that
nothing would ever finish (no worker, so no sweeper either), and running it again found their files
"already in the collection" and skipped them.

The next run over the same files resumes them instead, each only while no live process is on it: its
item lock (held by every run of the item, freed by the OS when the process dies) is free, and when tasks
go to workers, its job started and died, or was never sent; a job waiting at the broker is left to the
workers. Resuming puts the same job back to "queued" (job and item together, as the sweeper does) and
runs or sends it again: its attempts keep counting, so a file that kills every run still ends "failed"
after ``JOB_MAX_ATTEMPTS``. What the killed run left of the item goes first, under its lock: vectors its
final write added without rows, its staging folder, thumbnail files no row refers to (the index's temp
files go with the collection's next index write). Failed items stay failed.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from apps.media.models import IngestJob, Photo, Status, Video
from apps.media.services import locks, storage, strays
from apps.media.services.jobs import TERMINAL, requeue_if_unchanged
from apps.media.services.queue import enqueue_job
from apps.media.services.register import FileGoneError, queue_again

from .indexing import drop_uncommitted_vectors

SUPERSEDED = "superseded by a resumed job"


@dataclass
class ResumeReport:
    resumed: list[IngestJob] = field(default_factory=list)  # run here, or sent to the workers, again
    queued: list[IngestJob] = field(default_factory=list)  # sent to the workers before: still waiting there
    running: list[IngestJob] = field(default_factory=list)  # a live process holds the item's lock
    gone: list[tuple[Video | Photo, str]] = field(default_factory=list)  # no stored file: marked failed

    @property
    def job_ids(self) -> list[int]:
        """The jobs whose end a caller can wait for."""
        return [job.pk for job in (*self.resumed, *self.queued, *self.running)]

    def send(self) -> None:
        """Run (eager) or send the resumed jobs; call without holding any item's lock (a run here takes it)."""
        for job in self.resumed:
            enqueue_job(job.pk, photo=bool(job.photo_id))


def tasks_run_here() -> bool:
    """Whether Celery runs tasks in the calling process (no ``REDIS_URL``): then no worker will take a job up."""
    from videosearch.celery import app

    return bool(app.conf.task_always_eager)


def resume_unfinished(items: Iterable[Video | Photo], eager: bool | None = None, send: bool = True) -> ResumeReport:
    """Resume those of ``items`` (existing rows) that are not indexed or failed and that no one is on.

    ``eager``: whether jobs run in this process (default: Celery's setting). ``send=False``: the caller
    calls ``report.send()`` (to say what is resumed before it runs). Photos sent inside
    ``queue.photo_batches()`` go to the workers in batches, like new ones.
    """
    eager = tasks_run_here() if eager is None else eager
    report = ResumeReport()
    for item in items:
        kind = "video" if isinstance(item, Video) else "photo"
        lock = storage.lock_path(kind, item.pk)
        try:
            with locks.try_hold(lock, create=True) as free:  # held: no run of the item starts meanwhile
                if free:
                    _take_up(item, kind, eager, report)
                else:
                    _busy(item, kind, report)
        finally:
            if not type(item).objects.filter(pk=item.pk).exists():  # deleted meanwhile: no lock file of ours stays
                lock.unlink(missing_ok=True)
    if send:  # once every lock is let go: a run in this process takes it
        report.send()
    return report


def _unfinished_jobs(item: Video | Photo, kind: str) -> list[IngestJob]:
    """The item's jobs not indexed or failed, newest first."""
    return list(IngestJob.objects.select_related("video", "photo").filter(**{kind: item})
                .exclude(status__in=TERMINAL).order_by("-pk"))


def _busy(item: Video | Photo, kind: str, report: ResumeReport) -> None:
    jobs = _unfinished_jobs(item, kind)
    if jobs:
        report.running.append(jobs[0])


def _take_up(item: Video | Photo, kind: str, eager: bool, report: ResumeReport) -> None:
    """With the item's lock held: mark its job queued again and list it in ``report.resumed``, unless it is
    not ours to run."""
    model = type(item)
    status = model.objects.filter(pk=item.pk).values_list("status", flat=True).first()
    if status is None or status in TERMINAL:  # deleted, or finished since it was read
        return
    jobs = _unfinished_jobs(item, kind)
    job = jobs[0] if jobs else None
    if job is not None and not eager and job.status == Status.QUEUED and job.heartbeat_at is not None:
        report.queued.append(job)  # at the broker: a worker takes it (the sweeper sends it again if it was lost)
        return
    if kind == "video":
        drop_uncommitted_vectors(item)  # first: its note is in the folders cleared next
    strays.remove_item_strays(item.collection_id, kind, item.pk)
    now = timezone.now()
    with transaction.atomic():
        if job is None:  # no job left to finish (none should be): a new one
            try:
                job = queue_again(item, send=False)
            except FileGoneError as exc:
                model.objects.filter(pk=item.pk).update(status=Status.FAILED, error=str(exc), updated_at=now)
                report.gone.append((item, str(exc)))
                return
        else:
            IngestJob.objects.filter(pk__in=[older.pk for older in jobs[1:]]).update(
                status=Status.FAILED, error=SUPERSEDED, finished_at=now)
            if not requeue_if_unchanged(job):
                report.queued.append(job)  # the sweeper claimed it meanwhile and sent it to the workers
                return
    job.status = Status.QUEUED
    report.resumed.append(job)


def names(items: Iterable[Video | Photo | IngestJob], limit: int = 5) -> str:
    """'a.mp4, b.jpg, c.jpg, ...': the first ``limit`` names, for one line of output."""
    listed = [item.item.original_name if isinstance(item, IngestJob) else item.original_name for item in items]
    return ", ".join(listed[:limit]) + (", ..." if len(listed) > limit else "")

"""manage.py ingest PATH --collection NAME: add a file or a folder (recursively) to a collection.

Run again over the same files, it resumes the items an earlier run left unfinished (apps/search/resume.py).
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import QuerySet
from tqdm import tqdm

from analysis.subtitles import SIDECAR_EXTENSIONS
from apps.media.access import Access, LocalOperator, may
from apps.media.management.cli_actor import actor_for, add_user_argument
from apps.media.models import NOT_ONLY_DIGITS, Collection, IngestJob, Status
from apps.media.services import job_progress
from apps.media.services.collections import UnknownCollectionError, resolve_collection
from apps.media.services.jobs import watching
from apps.media.services.models_allowed import UnknownModelError, resolve_operator_choice
from apps.media.services.queue import photo_batches
from apps.media.services.register import register_path
from apps.media.services.sniff import NotMediaError
from apps.media.services.storage import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from apps.search.resume import ResumeReport, names, resume_unfinished

TERMINAL = {Status.INDEXED, Status.FAILED}


def find_media(root: Path) -> tuple[list[Path], int]:
    """Candidate media files under root by extension (sorted), plus how many other files were skipped.

    A single file is always taken. Candidates are sniffed when added: content decides, not the name.
    """
    if root.is_file():
        return [root], 0
    files, skipped = [], 0
    for path in sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")):
        if path.suffix.lower() in VIDEO_EXTENSIONS | IMAGE_EXTENSIONS:
            files.append(path)
        elif path.suffix.lower() not in SIDECAR_EXTENSIONS:  # subtitle files are read with their video
            skipped += 1
    return files, skipped


class JobCounts:
    """The running job's stage and counts on the current progress bar ("clip.mp4: detecting 1234/2950 frames"),
    read from its row: the numbers the jobs API answers."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None

    def follow(self, bar: tqdm) -> Iterator:
        """Iterate ``bar``, showing counts on it meanwhile."""
        self.bar = bar
        try:
            yield from bar
        finally:
            self.bar = None

    def show(self, jobs: QuerySet[IngestJob]) -> None:
        """Show the first of ``jobs`` (if any) on the bar."""
        if self.bar is None:
            return
        job = jobs.select_related("video", "photo").first()
        if job is not None and job.item is not None:
            self.bar.set_postfix_str(f"{shorten(job.item.original_name)}: {job_progress.describe(job)}")


def shorten(name: str, width: int = 32) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


class Command(BaseCommand):
    help = "Add a video/photo file or a folder (recursive) to a collection, creating the collection if needed."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--collection", required=True, help="collection id or name (a name is created if missing)")
        parser.add_argument("--model", default="",
                            help="model of a NEW collection: a name from `manage.py list_models`, or the spec of a "
                                 "listed model (default: the server's)")
        add_user_argument(parser, "the owner of a new collection; needs write access to an existing one")
        parser.add_argument("--public", action="store_true", help="a NEW collection is searchable by anyone (default: private)")
        parser.add_argument("--no-wait", action="store_true", help="queue and return without waiting for workers")

    def handle(self, *args, path: Path, collection: str, model: str, no_wait: bool, user: str, public: bool,
               **options) -> None:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        try:
            model = resolve_operator_choice(model)
        except UnknownModelError as exc:
            raise CommandError(str(exc)) from exc
        files, skipped = find_media(path)
        if not files:
            raise CommandError(f"no video or image files under {path} ({skipped} other files skipped)")
        actor = actor_for(user)
        try:
            target, created = resolve_collection(collection, actor), False
        except UnknownCollectionError:
            try:
                NOT_ONLY_DIGITS(collection)
            except ValidationError as exc:
                raise CommandError(f"no collection with id {collection}, and {exc.messages[0]}") from exc
            if Collection.objects.filter(name=collection).exists():  # someone else's, invisible to this user
                raise CommandError(f"collection '{collection}' belongs to someone else: pick another name") from None
            owner = None if isinstance(actor, LocalOperator) else actor
            target = Collection.objects.create(name=collection, embedder=model, owner=owner, public=public)
            created = True
        if created:
            visibility = "public" if target.public else "private"
            self.stdout.write(f"created collection '{target.name}' ({visibility}; model {target.embedder_spec})")
        elif not may(actor, target, Access.WRITE):
            raise CommandError(f"user '{user}' may not add to collection '{target.name}' (read-only)")
        job_ids, duplicates, not_media, refused = [], 0, [], []
        added, unfinished = set(), {}  # items of this run; earlier ones not indexed or failed yet
        counts = JobCounts()
        # Without workers each file is ingested here, while it is added: the bar shows its job's counts.
        with photo_batches(), watching(lambda job_id: counts.show(IngestJob.objects.filter(pk=job_id))):
            for file in counts.follow(tqdm(files, desc="adding", unit="file", disable=None)):
                try:
                    registered = register_path(target, file)
                except NotMediaError:
                    not_media.append(file.name)
                    continue
                except ValueError as exc:  # over the size limit
                    refused.append(str(exc))
                    continue
                key = (type(registered.item).__name__, registered.item.pk)
                if registered.job:
                    job_ids.append(registered.job.pk)
                    added.add(key)
                elif registered.item.status not in TERMINAL and key not in added:
                    unfinished[key] = registered.item
                else:  # indexed, failed, or the same content twice in this run
                    duplicates += 1
            resumed = resume_unfinished(unfinished.values(), send=False)
            self._report_resumed(resumed)  # before the resumed jobs run (here, without workers)
            resumed.send()
        job_ids += resumed.job_ids
        if skipped:
            self.stdout.write(f"skipped {skipped} file(s) that are neither video nor image")
        if not_media:
            self.stdout.write(self.style.WARNING(
                f"skipped {len(not_media)} file(s) whose content is neither video nor image: {', '.join(not_media)}"
            ))
        for reason in refused:
            self.stdout.write(self.style.ERROR(f"  not added: {reason}"))
        if duplicates:
            self.stdout.write(f"{duplicates} file(s) already in the collection (same content): not added again")
        if not no_wait:
            self._wait(job_ids, counts)
        self._report(job_ids)

    def _report_resumed(self, report: ResumeReport) -> None:
        if report.resumed:
            self.stdout.write(f"resumed {len(report.resumed)} unfinished item(s) from an earlier run: "
                              f"{names(report.resumed)}")
        if report.running:
            self.stdout.write(f"{len(report.running)} unfinished item(s) being ingested by another process now: "
                              f"{names(report.running)}")
        if report.queued:
            self.stdout.write(f"{len(report.queued)} unfinished item(s) still queued for the workers: "
                              f"{names(report.queued)}")
        for item, reason in report.gone:
            self.stdout.write(self.style.ERROR(f"  not resumed: {item.original_name}: {reason}"))

    def _wait(self, job_ids: list[int], counts: JobCounts) -> None:
        """Progress bar over jobs finishing (instant when tasks ran in-process), with the running one's counts."""
        with tqdm(total=len(job_ids), desc="ingesting", unit="item", disable=None) as bar:
            counts.bar = bar
            done = 0
            while done < len(job_ids):
                now_done = IngestJob.objects.filter(pk__in=job_ids, status__in=TERMINAL).count()
                counts.show(IngestJob.objects.filter(pk__in=job_ids).exclude(status__in=[*TERMINAL, Status.QUEUED])
                            .order_by("-heartbeat_at", "-pk"))
                bar.update(now_done - done)
                done = now_done
                if done < len(job_ids):
                    time.sleep(0.5)

    def _report(self, job_ids: list[int]) -> None:
        jobs = IngestJob.objects.filter(pk__in=job_ids).select_related("video", "photo")
        indexed = sum(job.status == Status.INDEXED for job in jobs)
        self.stdout.write(self.style.SUCCESS(f"{indexed} indexed") + f", {len(job_ids) - indexed} not indexed")
        for job in jobs:
            if job.status == Status.FAILED:
                self.stdout.write(self.style.ERROR(f"  failed: {job.item.original_name}: {job.error}"))

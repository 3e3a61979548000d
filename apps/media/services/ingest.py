"""Run one ingest job: probe -> shots -> keyframes -> embeddings -> collection index.

Re-running a job (a retry, a redelivery after a worker died, a re-ingest from the admin) replaces
what an earlier attempt left, so an item never ends up with duplicate keyframes or vectors. The
replacement is one step at the very end: until then searches keep finding the indexed version.
An item deleted while its job runs stops the run wherever it notices (:class:`ItemDeletedError`):
the keyframe rows and the index are written only while the item's row exists, and what the run
wrote before goes with the item (cleanup.py).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from PIL import Image

from analysis.errors import BAD_INPUT, BlankVideoError, EmptyFileError, MediaError
from analysis.probe import ProbeResult
from analysis.shots import Shot
from analysis.video_analysis import analyze_video
from apps.search.embedders.base import ModelUnavailableError
from apps.search.embedders.registry import get_embedder
from apps.search.ids import keyframe_vector_id, keyframe_vector_ids
from apps.search.images import ImageLoadError, open_image
from apps.search.index import CollectionIndex, IndexModelMismatchError

from ..models import IngestJob, Keyframe, Photo, Scene, Status, Video
from . import checkpoints, heartbeat, locks, storage, thumbnails, vectors
from .cleanup import ItemLeftovers
from .deletion import ItemDeletedError
from .keyframe_store import KeyframeStaging, SavedImages, forget_pending_vectors, pending_vectors

log = logging.getLogger(__name__)

#: Errors whose message is meant for the user; anything else is reported as an internal error.
USER_ERRORS = (MediaError, ImageLoadError, ModelUnavailableError, IndexModelMismatchError)
#: Failures of the file itself: a never-indexed item's file is removed (the row keeps the reason).
#: Anything else (model missing, index trouble, a timeout) keeps the file, so a re-ingest can work.
UNUSABLE_FILE = (*BAD_INPUT, ImageLoadError)
TERMINAL = (Status.INDEXED, Status.FAILED)
#: What run_job reports for a job whose item was deleted while it ran.
DELETED = "deleted"


class JobRun:
    """Moves one job and its item through the stages, recording progress in the database."""

    def __init__(self, job: IngestJob) -> None:
        self.job = job
        self.item: Video | Photo = job.item
        self._last_progress_write = 0.0

    def stage(self, status: str, progress: float = 0.0) -> None:
        """Move the job and its item to ``status`` together (one transaction): they never disagree."""
        now = timezone.now()
        fields: dict = {"status": status, "progress": progress, "heartbeat_at": now}
        if status in (Status.INDEXED, Status.FAILED):
            fields["finished_at"] = now
        item_fields: dict = {"status": status, "updated_at": now}
        if status == Status.INDEXED:
            item_fields.update(indexed_at=now, error="")
        with transaction.atomic():
            IngestJob.objects.filter(pk=self.job.pk).update(**fields)
            type(self.item).objects.filter(pk=self.item.pk).update(**item_fields)

    def progress(self, fraction: float) -> None:
        """Throttled progress writes: at most a few per second, whatever the caller's rate. Each is a heartbeat."""
        now = time.monotonic()
        if now - self._last_progress_write >= 0.5:
            self._last_progress_write = now
            IngestJob.objects.filter(pk=self.job.pk).update(progress=round(float(fraction), 3),
                                                            heartbeat_at=timezone.now())

    def fail(self, reason: str, exc: Exception | None = None) -> None:
        """Record the failure on the job and the item (together); a file that ``exc`` shows unusable is removed too."""
        mark_failed(self.job, self.item, reason)
        if isinstance(exc, UNUSABLE_FILE):
            discard_unusable_file(self.item)


def mark_failed(job: IngestJob, item: Video | Photo, reason: str) -> None:
    """The job and its item end "failed" with ``reason``, in one transaction."""
    now = timezone.now()
    with transaction.atomic():
        IngestJob.objects.filter(pk=job.pk).update(status=Status.FAILED, error=reason, finished_at=now,
                                                   heartbeat_at=now)
        type(item).objects.filter(pk=item.pk).update(status=Status.FAILED, error=reason, updated_at=now)


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
    vectors.delete_item_files(item)
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


def run_job(job_id: int) -> str:
    """Execute a job; returns the final status. Failures are recorded on the job and the item."""
    job = IngestJob.objects.select_related("video", "photo", "collection").filter(pk=job_id).first()
    if job is None or job.item is None:
        log.warning("ingest job %s no longer exists; skipping", job_id)
        return "missing"
    if job.photo_id:
        return run_photo_jobs([job_id]).get(str(job_id), "missing")
    with item_lock(job):
        if (done := finished_status(job)) is not None:
            return done
        if (run := start_run(job)) is None:
            return Status.FAILED
        try:
            with heartbeat.beating([job.pk]):
                ingest_video(run, job.video)
        except Exception as exc:  # noqa: BLE001 - recorded for the user; unexpected ones logged with traceback
            if isinstance(exc, ItemDeletedError) or not item_exists(job.video):
                return drop_deleted(job.video, f"ingest job {job.pk}")
            run.fail(failure_reason(exc, f"ingest job {job.pk}"), exc)
            return Status.FAILED
        run.stage(Status.INDEXED, 1.0)
        return Status.INDEXED


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


def failure_reason(exc: Exception, what: str) -> str:
    """The message a user sees for a failed item: ours as is, anything else as an internal error."""
    if isinstance(exc, USER_ERRORS):
        log.info("%s failed: %s", what, exc)
        return str(exc)
    log.error("%s crashed", what, exc_info=exc)
    return f"internal error while ingesting: {type(exc).__name__}: {exc}"


def ingest_video(run: JobRun, video: Video) -> None:
    path = storage.absolute(video.file.name)
    run.stage(Status.PROBING)
    checkpoints.reached("ingest.probing")
    embedder = get_embedder(video.collection.embedder_spec)
    index = vectors.collection_index(video.collection)
    vectors.ensure_index_model(video.collection, index, embedder.model_id)  # fail before the costly decode

    def record_probe(info: ProbeResult) -> None:
        Video.objects.filter(pk=video.pk).update(
            duration=info.duration, fps=info.fps, width=info.width, height=info.height, codec=info.codec
        )
        run.stage(Status.DETECTING)

    drop_uncommitted_vectors(video)  # before the staging folder (which may hold their note) is cleared
    staging = KeyframeStaging(storage.thumbnail_dir(video.collection_id, "video", video.pk))

    def keep(keyframe) -> None:
        staging.add(keyframe)
        checkpoints.reached("ingest.keyframe_saved")

    try:
        analysis = analyze_video(path, max_gap=settings.MAX_KEYFRAME_GAP_S, on_progress=run.progress,
                                 on_probe=record_probe, on_keyframe=keep)
        if not staging.keyframes:
            raise BlankVideoError("no usable frame found: the video is entirely black or blank")
        staging.save_fingerprints(analysis.fingerprints)
        run.stage(Status.EMBEDDING)
        embeddings = embedder.encode_images(SavedImages(staging.staged_images()))
        checkpoints.reached("ingest.before_swap")
        replace_keyframes(video, analysis.shots, staging, index, embedder.model_id, embeddings)
    finally:
        staging.discard()  # nothing left to discard once committed


def replace_keyframes(video: Video, shots: list[Shot], staging: KeyframeStaging, index: CollectionIndex,
                      model_id: str, embeddings: np.ndarray) -> list[Keyframe]:
    """Put this analysis in place of the video's scenes, keyframes, images and vectors, in one step.

    The new vectors join the index inside the transaction that swaps the rows, and the old ones
    leave once it has committed: a search sees the old rows with their vectors, then the new rows
    with theirs (old vectors without a row are skipped), never a video whose rows have no vectors.
    ItemDeletedError when the video was deleted meanwhile: its row is written first, so the transaction
    holds it (row lock; SQLite's write lock) until the rows, images and vectors are in; a delete waits
    for it, then takes them all with it (cleanup.py, under the same collection write lock).
    """
    added: list[int] = []
    try:
        with transaction.atomic():
            if not Video.objects.filter(pk=video.pk).update(updated_at=timezone.now()):
                raise ItemDeletedError(f"video {video.pk} was deleted during its ingest")
            old_ids = {keyframe_vector_id(pk) for pk in video.keyframes.values_list("pk", flat=True)}
            video.scenes.all().delete()
            scenes = Scene.objects.bulk_create(
                Scene(video=video, index=shot.index, start=shot.start, end=shot.end) for shot in shots
            )
            by_index = {scene.index: scene for scene in scenes}
            keyframes = Keyframe.objects.bulk_create(
                Keyframe(
                    video=video,
                    scene=by_index[kf.shot_index],
                    time=kf.time,
                    segment_start=kf.segment_start,
                    segment_end=kf.segment_end,
                    thumbnail=kf.thumbnail,
                )
                for kf in staging.keyframes
            )
            staging.note_vectors([kf.pk for kf in keyframes])  # a kill from here on leaves vectors without rows
            added = [keyframe_vector_id(kf.pk) for kf in keyframes]
            with vectors.item_write(video.collection_id):
                index.add(model_id, added, embeddings)
            staging.commit()
            checkpoints.reached("ingest.before_commit")
    except BaseException:
        if added:  # the rows were rolled back: their vectors must not stay behind
            try:
                index.remove(added)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                log.exception("could not remove the vectors of a rolled-back ingest of video %s", video.pk)
        raise
    staging.committed()
    vectors.drop_vectors(video.collection_id, old_ids - set(added))
    return keyframes


def drop_uncommitted_vectors(video: Video) -> int:
    """Drop the vectors that a final write of ``video`` killed before its commit added without rows; returns
    how many were in the index. Call holding the item's lock (no final write of it runs).

    The write noted its keyframe ids first (keyframe_store.PENDING_VECTORS); those that have no row now are
    dropped. Checked inside a transaction, under the collection's write lock, in the order a final write
    takes them: on SQLite, which may give a rolled-back id to another video's keyframe, a final write
    of that video is then either committed (its rows exist) or not yet begun (it adds them again itself).
    """
    folder = storage.thumbnail_dir(video.collection_id, "video", video.pk)
    noted = sorted(pending_vectors(folder))
    dropped = 0
    if noted:
        with transaction.atomic(), vectors.item_write(video.collection_id):
            rows: set[int] = set()
            for start in range(0, len(noted), 500):  # within any database's limit of query parameters
                rows.update(Keyframe.objects.filter(pk__in=noted[start:start + 500]).values_list("pk", flat=True))
            gone = np.array([pk for pk in noted if pk not in rows], dtype=np.int64)
            if gone.size:
                dropped = vectors.index_of(video.collection_id).remove(keyframe_vector_ids(gone))
        if dropped:
            log.warning("video %s: dropped %s vector(s) of a final write that was killed before its commit",
                        video.pk, dropped)
    forget_pending_vectors(folder)
    return dropped


@dataclass
class _PreparedPhoto:
    run: JobRun
    image: Image.Image


def run_photo_jobs(job_ids: list[int]) -> dict[str, str]:
    """Ingest a batch of photo jobs; returns ``{job id: final status}`` (ids as strings, JSON keys).

    Each photo is checked, thumbnailed and recorded on its own (a bad file fails alone), then the
    good ones of each collection are embedded in one call and added to the index in one write.
    Items are locked in id order, so a redelivered batch overlapping a running one waits instead
    of deadlocking, then skips what the first finished.
    """
    jobs = list(
        IngestJob.objects.select_related("photo", "collection")
        .filter(pk__in=job_ids, photo__isnull=False)
        .order_by("pk")
    )
    results = {str(job_id): "missing" for job_id in job_ids}
    with ExitStack() as held:
        for job in jobs:
            held.enter_context(item_lock(job))
        held.enter_context(heartbeat.beating([job.pk for job in jobs]))
        by_collection: dict[int, list[_PreparedPhoto]] = {}
        for job in jobs:
            if (done := finished_status(job)) is not None:
                results[str(job.pk)] = done
                continue
            if (run := start_run(job)) is None:
                results[str(job.pk)] = Status.FAILED
                continue
            try:
                image = prepare_photo(run, job.photo)
            except Exception as exc:  # noqa: BLE001 - a bad photo fails alone, with its reason
                if isinstance(exc, ItemDeletedError) or not item_exists(job.photo):
                    results[str(job.pk)] = drop_deleted(job.photo, f"ingest job {job.pk}")
                else:
                    run.fail(failure_reason(exc, f"ingest job {job.pk}"), exc)
                    results[str(job.pk)] = Status.FAILED
                continue
            by_collection.setdefault(job.collection_id, []).append(_PreparedPhoto(run, image))
        for batch in by_collection.values():
            results.update(_embed_photo_batch(batch))
    return results


def _embed_photo_batch(batch: list[_PreparedPhoto]) -> dict[str, str]:
    """Embed prepared photos of one collection together and index them in one write; {job id: status}.

    Only the photos that still exist when the vectors are written are added (and marked indexed).
    """
    jobs = {str(item.run.job.pk): item for item in batch}
    try:
        collection = batch[0].run.item.collection
        embedder = get_embedder(collection.embedder_spec)
        index = vectors.collection_index(collection)
        vectors.ensure_index_model(collection, index, embedder.model_id)
        embeddings = embedder.encode_images([item.image for item in batch])
        checkpoints.reached("ingest.photo_batch_embedded")
        kept = vectors.add_photo_vectors(collection.pk, index, embedder.model_id,
                                         [item.run.item.pk for item in batch], embeddings)
    except Exception as exc:  # noqa: BLE001 - every photo of the batch gets the reason (their files stay)
        reason = failure_reason(exc, f"a batch of {len(batch)} photos")
        for item in batch:
            item.run.fail(reason)
        return dict.fromkeys(jobs, Status.FAILED)
    results = {}
    for job_id, item in jobs.items():
        if item.run.item.pk in kept:
            item.run.stage(Status.INDEXED, 1.0)
            results[job_id] = Status.INDEXED
        else:
            results[job_id] = drop_deleted(item.run.item, f"ingest job {job_id}")
    return results


def prepare_photo(run: JobRun, photo: Photo) -> Image.Image:
    """Check and open a photo, save its thumbnail and size; returns the working image to embed."""
    path: Path = storage.absolute(photo.file.name)
    run.stage(Status.PROBING)
    if path.stat().st_size == 0:
        raise EmptyFileError("the file is empty (0 bytes)")
    image = open_image(path, max_pixels=settings.MAX_IMAGE_PIXELS)
    thumb = thumbnails.save_jpeg(
        thumbnails.photo_thumbnail(image), f"{storage.thumbnail_dir(photo.collection_id, 'photo', photo.pk)}/thumb.jpg"
    )
    width, height = original_size(path)
    if not Photo.objects.filter(pk=photo.pk).update(width=width, height=height, thumbnail=thumb):
        raise ItemDeletedError(f"photo {photo.pk} was deleted during its ingest")
    run.stage(Status.EMBEDDING)
    return image


def original_size(path: Path) -> tuple[int, int]:
    """The stored photo's own size (the working image is downscaled)."""
    with Image.open(path) as img:
        return img.size

"""Run ingest jobs (the tasks' work): analyse the item (media), then index it: embeddings -> collection index.

Re-running a job (a retry, a redelivery after a worker died, a re-ingest from the admin) replaces
what an earlier attempt left, so an item never ends up with duplicate keyframes or vectors. The
replacement is one step at the very end: until then searches keep finding the indexed version.
An item deleted while its job runs stops the run wherever it notices (:class:`ItemDeletedError`):
the keyframe rows and the index are written only while the item's row exists, and what the run
wrote before goes with the item (apps/media/services/cleanup.py; its vectors: signals.py).
The job's states, attempts and lock are apps/media/services/jobs.py.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from PIL import Image

from analysis.errors import BAD_INPUT, BlankVideoError, EmptyFileError, MediaError
from analysis.probe import ProbeResult
from analysis.shots import Shot
from analysis.video_analysis import analyze_video
from apps.media.models import IngestJob, Keyframe, Photo, Scene, Status, Video
from apps.media.services import checkpoints, heartbeat, storage, thumbnails
from apps.media.services.deletion import ItemDeletedError
from apps.media.services.jobs import (
    JobRun,
    drop_deleted,
    finished_status,
    item_exists,
    item_lock,
    start_run,
)
from apps.media.services.keyframe_store import KeyframeStaging, SavedImages, forget_pending_vectors, pending_vectors
from apps.media.services.subtitle_reading import store_subtitles

from . import screen_text_stage, vectors
from .embedders.base import Embedder, ModelUnavailableError
from .embedders.common import batched
from .embedders.registry import get_embedder
from .ids import keyframe_vector_id, keyframe_vector_ids
from .images import ImageLoadError, open_image
from .index import CollectionIndex, IndexModelMismatchError

log = logging.getLogger(__name__)

#: Errors whose message is meant for the user; anything else is reported as an internal error.
USER_ERRORS = (MediaError, ImageLoadError, ModelUnavailableError, IndexModelMismatchError)
#: Failures of the file itself: a never-indexed item's file is removed (the row keeps the reason).
#: Anything else (model missing, index trouble, a timeout) keeps the file, so a re-ingest can work.
UNUSABLE_FILE = (*BAD_INPUT, ImageLoadError)


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
            run.fail(failure_reason(exc, f"ingest job {job.pk}"), isinstance(exc, UNUSABLE_FILE))
            return Status.FAILED
        keyframes = Keyframe.objects.filter(video=job.video).count()
        run.stage(Status.INDEXED, 1.0, done=keyframes, total=keyframes)
        return Status.INDEXED


def failure_reason(exc: Exception, what: str) -> str:
    """The message a user sees for a failed item: ours as is, anything else as an internal error."""
    if isinstance(exc, USER_ERRORS):
        log.info("%s failed: %s", what, exc)
        return str(exc)
    log.error("%s crashed", what, exc_info=exc)
    return f"internal error while ingesting: {type(exc).__name__}: {exc}"


def ingest_video(run: JobRun, video: Video) -> None:
    if screen_text_stage.visual_committed(run.job, video):  # killed while reading text: only that is left
        screen_text_stage.read_screen_text(run, video, None)
        return
    path = storage.absolute(video.file.name)
    text_watch = screen_text_stage.watch_for(video)
    run.stage(Status.PROBING)
    checkpoints.reached("ingest.probing")
    embedder = get_embedder(video.collection.embedder_spec)
    index = vectors.collection_index(video.collection)
    vectors.ensure_index_model(video.collection, index, embedder.model_id)  # fail before the costly decode

    def record_probe(info: ProbeResult) -> None:
        Video.objects.filter(pk=video.pk).update(
            duration=info.duration, fps=info.fps, width=info.width, height=info.height, codec=info.codec,
            rotation=info.rotation,
        )
        run.stage(Status.DETECTING)

    drop_uncommitted_vectors(video)  # before the staging folder (which may hold their note) is cleared
    staging = KeyframeStaging(storage.thumbnail_dir(video.collection_id, "video", video.pk))

    def keep(keyframe) -> None:
        staging.add(keyframe)
        checkpoints.reached("ingest.keyframe_saved")

    try:
        analysis = analyze_video(path, max_gap=settings.MAX_KEYFRAME_GAP_S, on_progress=run.progress,
                                 on_probe=record_probe, on_keyframe=keep,
                                 on_frame=text_watch.offer if text_watch is not None else None)
        if not staging.keyframes:
            raise BlankVideoError("no usable frame found: the video is entirely black or blank")
        checkpoints.reached("ingest.analysed")
        staging.save_fingerprints(analysis.fingerprints)
        embeddings = embed_keyframes(run, embedder, SavedImages(staging.staged_images()))
        checkpoints.reached("ingest.before_swap")
        replace_keyframes(video, analysis.shots, staging, index, embedder.model_id, embeddings)
    finally:
        staging.discard()  # nothing left to discard once committed
    store_subtitles(video, path)  # the cues said in it; never fails the visual index
    if text_watch is not None:
        text_watch.finish()
    screen_text_stage.read_screen_text(run, video, text_watch)  # on-screen text; never fails it either


def embed_keyframes(run: JobRun, embedder: Embedder, images: Sequence[Image.Image]) -> np.ndarray:
    """The keyframes' vectors, embedded a batch at a time so the job counts keyframes embedded as it goes."""
    run.stage(Status.EMBEDDING, total=len(images))
    parts, done = [], 0
    for chunk in batched(images, settings.EMBED_BATCH_SIZE):
        parts.append(embedder.encode_images(chunk))
        done += len(chunk)
        run.progress(done, len(images))
    return np.concatenate(parts) if parts else np.zeros((0, embedder.dim), dtype=np.float32)


def replace_keyframes(video: Video, shots: list[Shot], staging: KeyframeStaging, index: CollectionIndex,
                      model_id: str, embeddings: np.ndarray) -> list[Keyframe]:
    """Put this analysis in place of the video's scenes, keyframes, images and vectors, in one step.

    The new vectors join the index inside the transaction that swaps the rows, and the old ones
    leave once it has committed: a search sees the old rows with their vectors, then the new rows
    with theirs (old vectors without a row are skipped), never a video whose rows have no vectors.
    ItemDeletedError when the video was deleted meanwhile: its row is written first, so the transaction
    holds it (row lock; SQLite's write lock) until the rows, images and vectors are in; a delete waits
    for it, then takes them all with it (signals.py, under the same collection write lock).
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
                    run.fail(failure_reason(exc, f"ingest job {job.pk}"), isinstance(exc, UNUSABLE_FILE))
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
            item.run.stage(Status.INDEXED, 1.0, done=1, total=1)
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
    run.stage(Status.EMBEDDING, total=1)  # one photo; its batch is embedded in one call
    return image


def original_size(path: Path) -> tuple[int, int]:
    """The stored photo's own size (the working image is downscaled)."""
    with Image.open(path) as img:
        return img.size

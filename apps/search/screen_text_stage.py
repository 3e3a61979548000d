"""The job's "reading text" stage: on-screen text (OCR) of a video whose visual index is already committed.

Why a stage of its own, after the visual commit: OCR is optional (``Collection.read_screen_text``) and never
worth failing a video for, so it runs once the video is searchable (``indexed_at`` is set when the stage
starts) and any failure ends up in ``Video.text_note`` ("on-screen text: ..."), the job still ending indexed.
The presence test rides the analysis decode (:class:`analysis.screen_text.TextWatch`); a job resumed during
this stage (the sweeper requeued it) finds its visual index committed and runs only this stage, with a
working-size decode of its own for the plan (:func:`visual_committed`).
"""
from __future__ import annotations

import logging

from django.utils import timezone

from analysis.errors import MediaError
from analysis.ocr import OcrError, OcrUnavailableError
from analysis.screen_text import TextWatch, read_runs, watch_video
from apps.media.models import IngestJob, Keyframe, Status, TextSource, Video
from apps.media.services import storage
from apps.media.services.deletion import ItemDeletedError
from apps.media.services.jobs import JobRun, item_exists
from apps.media.services.text_spans import replace_spans

log = logging.getLogger(__name__)

NOTE_PREFIX = "on-screen text: "


def watch_for(video: Video) -> TextWatch | None:
    """The presence test to feed during the analysis decode, or None when the collection does not read text."""
    return TextWatch() if video.collection.read_screen_text else None


def visual_committed(job: IngestJob, video: Video) -> bool:
    """Whether this job already committed the video's keyframes and vectors (it was killed while reading
    text): the video was made searchable after the job was created, and its keyframes are there."""
    indexed_at = Video.objects.filter(pk=video.pk).values_list("indexed_at", flat=True).first()
    return (indexed_at is not None and indexed_at >= job.created_at
            and Keyframe.objects.filter(video_id=video.pk).exists())


def read_screen_text(run: JobRun, video: Video, watch: TextWatch | None) -> None:
    """Read, store and date the video's on-screen text; a failure becomes its text note, never the job's."""
    collection = type(video.collection).objects.filter(pk=video.collection_id).first()
    if collection is None or not collection.read_screen_text:
        replace_spans(video, TextSource.SCREEN, [])  # switched off: no stale words of an earlier read
        return
    run.stage(Status.READING)
    path = storage.absolute(video.file.name)
    try:
        if watch is None:
            watch = watch_video(path)
        lines = read_runs(path, watch, collection.text_languages, on_progress=run.progress)
        replace_spans(video, TextSource.SCREEN, lines)
    except Exception as exc:  # noqa: BLE001 - the visual index stands; the reason goes to the note
        if not item_exists(video):
            raise ItemDeletedError(f"video {video.pk} was deleted during its ingest") from exc
        log.warning("video %s: on-screen text not read: %s", video.pk, exc, exc_info=not _expected(exc))
        set_note(video, f"{type(exc).__name__}: {exc}" if not _expected(exc) else str(exc))
        return
    Video.objects.filter(pk=video.pk).update(text_read_at=timezone.now())
    set_note(video, None)
    log.info("video %s: %s line(s) of on-screen text from %s frame(s) read (%s tested)", video.pk, len(lines),
             watch.frames_read, watch.sampled)


def _expected(exc: Exception) -> bool:
    """A failure with a sentence for the note (no traceback needed in the log)."""
    return isinstance(exc, (OcrUnavailableError, OcrError, MediaError))


def set_note(video: Video, note: str | None) -> None:
    """Put (or, with None, clear) this stage's line in the video's text note, keeping other stages' lines."""
    current = Video.objects.filter(pk=video.pk).values_list("text_note", flat=True).first() or ""
    lines = [line for line in current.splitlines() if line and not line.startswith(NOTE_PREFIX)]
    if note:
        lines.append(NOTE_PREFIX + note)
    Video.objects.filter(pk=video.pk).update(text_note="\n".join(lines))

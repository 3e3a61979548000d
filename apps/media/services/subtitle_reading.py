"""A video's subtitle cues, from its own text streams and the subtitle files that came with it, into TextSpans.

Why two steps: a video imported from the server's disk may have sidecar files beside it (``movie.srt``,
``movie.ru.srt``), but the job reads the stored copy, elsewhere, possibly much later. So the import keeps a
copy of them (:func:`keep_sidecars`, called by register.register_path) and every ingest reads the streams
and those copies again (:func:`store_subtitles`). Reading subtitles never fails the visual index: what is
skipped or fails is written to ``Video.text_note`` on lines starting "subtitles: " (the OCR stage writes
its own lines there).
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

from django.db import transaction

from analysis.subtitles import MAX_SIDECAR_BYTES, find_sidecars, read_sidecar, read_streams

from ..models import TextSource, Video
from . import storage
from .text_spans import replace_spans

log = logging.getLogger(__name__)

NOTE_PREFIX = "subtitles: "
#: How many sidecar files one import keeps at most (a folder of thousands of look-alike names is no reason to).
MAX_SIDECARS = 20


def keep_sidecars(video: Video, original: Path) -> list[str]:
    """Copy the subtitle files beside ``original`` into the video's sidecar folder, replacing what was there.

    A file over the size limit is copied only up to one byte past it, so the ingest still notes it as too
    large without anyone storing it whole. Returns the names kept.
    """
    folder = storage.absolute(storage.sidecar_dir(video.collection_id, video.pk))
    storage.remove_tree(storage.sidecar_dir(video.collection_id, video.pk))
    found = find_sidecars(original)[:MAX_SIDECARS]
    kept = []
    for source in found:
        name = storage.safe_name(source.name)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _bounded_copy(source, folder / name, MAX_SIDECAR_BYTES + 1)
        except OSError as exc:
            log.warning("video %s: could not keep subtitle file %s: %s", video.pk, source.name, exc)
            continue
        kept.append(name)
    return kept


def _bounded_copy(source: Path, target: Path, limit: int) -> None:
    """Copy at most ``limit`` bytes, through a temp file renamed into place (a reader never sees half a file)."""
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".sidecar-")
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as out:
            out.write(src.read(limit))
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def kept_sidecars(video: Video) -> list[Path]:
    """The subtitle files kept for ``video`` (none for uploads), by name."""
    folder = storage.absolute(storage.sidecar_dir(video.collection_id, video.pk))
    try:
        return sorted(path for path in folder.iterdir() if path.is_file() and not path.name.startswith("."))
    except OSError:
        return []


def store_subtitles(video: Video, path: Path) -> int:
    """Read every cue of the video (its text streams, then its kept sidecars) into its subtitle TextSpans.

    Returns how many cues were stored. Never raises: an unexpected failure is logged and noted on the video,
    and the previous cues stay.
    """
    try:
        stem = Path(storage.safe_name(video.original_name or path.name)).stem
        read = read_streams(path)
        for sidecar in kept_sidecars(video):
            read.extend(read_sidecar(sidecar, stem))
        stored = replace_spans(video, TextSource.SUBTITLE, read.cues)
        notes = read.notes
    except Exception as exc:  # noqa: BLE001 - subtitles must never fail the visual index
        log.exception("video %s: reading its subtitles failed", video.pk)
        stored, notes = 0, [f"reading failed ({type(exc).__name__}: {exc})"]
    try:
        set_note_lines(video, notes)
    except Exception:  # noqa: BLE001 - e.g. the video was deleted meanwhile
        log.exception("video %s: could not record its subtitle notes", video.pk)
    return stored


def set_note_lines(video: Video, notes: list[str]) -> None:
    """Replace this stage's lines of ``Video.text_note`` (those starting "subtitles: "), keeping the others."""
    with transaction.atomic():
        current = Video.objects.select_for_update().filter(pk=video.pk).values_list("text_note", flat=True).first()
        if current is None:
            return
        others = [line for line in current.splitlines() if line and not line.startswith(NOTE_PREFIX)]
        mine = [NOTE_PREFIX + " ".join(note.split()) for note in notes]
        text = "\n".join([*others, *mine])
        Video.objects.filter(pk=video.pk).update(text_note=text)
        video.text_note = text


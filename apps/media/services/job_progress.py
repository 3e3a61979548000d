"""A job's progress as people read it: the unit its counts are in, the percent of its stage, one phrase.

One definition for the jobs API (serializers.py), the CLI's progress bar (``manage.py ingest``) and the
pages, so all of them show the same numbers: "detecting 1234/2950 frames", "embedding 40/88 keyframes".
"""
from __future__ import annotations

from django.utils.translation import ngettext, pgettext

from ..models import IngestJob, Status

FRAMES, KEYFRAMES, PHOTOS = "frames", "keyframes", "photos"
UNITS = (FRAMES, KEYFRAMES, PHOTOS)


def unit(job: IngestJob) -> str | None:
    """What ``done``/``total`` count in the job's stage; None while nothing is counted (queued, probing, failed)."""
    if job.status in (Status.DETECTING, Status.READING):  # reading text: frames read by OCR
        return FRAMES
    if job.status in (Status.EMBEDDING, Status.INDEXED):
        return KEYFRAMES if job.video_id else PHOTOS
    return None


def percent(job: IngestJob) -> int:
    """Whole percent of the current stage, 0..100: from the counts when known, else from ``progress``.

    Rounded down, so 100 means the stage is done rather than 99.6% of the way.
    """
    if job.status == Status.INDEXED:
        return 100
    if job.total > 0:
        return max(0, min(100, job.done * 100 // job.total))
    return max(0, min(100, int(job.progress * 100)))


def describe(job: IngestJob) -> str:
    """The stage and its counts in a few words, e.g. "detecting 1234/2950 frames" (in the active language:
    the page's; the CLI's is English)."""
    label = job.get_status_display()
    if job.status == Status.DETECTING:
        label = pgettext("ingest stage", "detecting")
    elif job.status == Status.READING:
        label = pgettext("ingest stage", "reading text")
    counted = unit(job)
    if counted is None or job.total <= 0:
        return str(label)
    numbers = {"done": job.done, "total": job.total}
    if counted == FRAMES:
        counts = ngettext("%(done)d/%(total)d frame", "%(done)d/%(total)d frames", job.total) % numbers
    elif counted == KEYFRAMES:
        counts = ngettext("%(done)d/%(total)d keyframe", "%(done)d/%(total)d keyframes", job.total) % numbers
    else:
        counts = ngettext("%(done)d/%(total)d photo", "%(done)d/%(total)d photos", job.total) % numbers
    return f"{label} {counts}"

"""Store the words of a video (subtitle cues, on-screen text) so the full-text index can find them.

Every write of TextSpan rows goes through here: it fills ``terms`` (the stemmed words the index is built
on) and replaces one source of one video in one transaction, so a re-read never leaves duplicates and a
reader killed half-way leaves the previous words in place.
"""
from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from analysis.text_terms import terms_of
from analysis.timed_text import TimedText
from apps.media.models import TextSource, TextSpan, Video


def replace_spans(video: Video, source: TextSource, spans: Iterable[TimedText]) -> int:
    """Put ``spans`` in place of the video's words from ``source``; returns how many were stored."""
    rows = [
        TextSpan(
            video=video, source=source, start=span.start, end=span.end, text=span.text, language=span.language,
            track=span.track, boxes=[box.as_json() for box in span.boxes], confidence=span.confidence,
            terms=" ".join(terms_of(span.text)),
        )
        for span in spans
        if span.text.strip()
    ]
    with transaction.atomic():
        TextSpan.objects.filter(video=video, source=source).delete()
        TextSpan.objects.bulk_create(rows, batch_size=500)
    return len(rows)

"""Moment retrieval by words: quoted queries' R1@0.5, and what fusing the words changes in a plain query's metrics.

For the ``evaluate text`` report (``apps/search/evaluation/text_media.py`` ingests the generated media with its
subtitles and burned-in text, then calls :func:`evaluate_text_queries` on that collection). Everything goes
through ``apps.search.service.search``, as the API does: a quoted query is a words-only search, a plain one is
the fused search, and the same query with ``words=False`` the CLIP ranking alone.

Ground truth is ``(query, video id, start, end)``; a query may have several occurrences (in one video or
several). Clips of different videos never overlap: each video gets a slot of ``_VIDEO_STRIDE`` seconds (its
position in the order videos are met, not its id: float seconds stay exact) before the metrics
(moment_metrics.py) compare intervals.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from apps.media.models import Collection

from .moment_metrics import Interval, r1, score_query, summarise

_VIDEO_STRIDE = 1e6  # 11 days: longer than any video
R1_THRESHOLD = 0.5


class _Slots(dict):
    """Video id -> its slot on one time line, given in the order videos are met."""

    def shifted(self, video_id: int, start: float, end: float) -> Interval:
        offset = self.setdefault(video_id, len(self)) * _VIDEO_STRIDE
        return (offset + start, offset + end)


def _ranked(collection: Collection, text: str, top_k: int, slots: _Slots, *, words: bool = True) -> list[Interval]:
    from apps.search.query_spec import build_query
    from apps.search.service import ClipResult, search

    response = search(collection, build_query(text=text), top_k=top_k, media="videos", words=words)
    return [slots.shifted(r.clip.video_id, r.clip.start, r.clip.end) for r in response.results if isinstance(r, ClipResult)]


def quoted(text: str) -> str:
    """The query as a quoted phrase (words only), unless it is quoted already."""
    text = text.strip()
    return text if text.startswith('"') and text.endswith('"') and len(text) > 1 else f'"{text}"'


def occurrences_by_query(truth: Iterable[tuple[str, int, float, float]], slots: _Slots) -> dict[str, list[Interval]]:
    found: dict[str, list[Interval]] = defaultdict(list)
    for text, video_id, start, end in truth:
        found[text].append(slots.shifted(video_id, start, end))
    return dict(found)


def evaluate_text_queries(collection: Collection, truth: Iterable[tuple[str, int, float, float]], *,
                          top_k: int = 10) -> dict:
    """``quoted_R1@0.5``: the share of queries whose first words-only clip overlaps an occurrence with
    tIoU >= 0.5; ``fused`` and ``clip_only``: the moment metrics (R1@0.5/0.7, mAP@0.5/0.75, occurrence recall)
    of the same queries typed plainly, with and without the words; ``change``: fused minus clip-only."""
    slots = _Slots()
    occurrences = occurrences_by_query(truth, slots)
    if not occurrences:
        raise ValueError("no ground truth to evaluate")
    quoted_hits, fused, clip_only, misses = [], [], [], []
    for text, occ in occurrences.items():
        ranked = _ranked(collection, quoted(text), top_k, slots)
        quoted_hits.append(r1(ranked, occ, R1_THRESHOLD))
        if not quoted_hits[-1]:
            misses.append(text)
        fused.append(score_query(_ranked(collection, text, top_k, slots), occ))
        clip_only.append(score_query(_ranked(collection, text, top_k, slots, words=False), occ))
    fused_summary, clip_summary = summarise(fused), summarise(clip_only)
    return {
        "queries": len(occurrences),
        f"quoted_R1@{R1_THRESHOLD}": sum(quoted_hits) / len(quoted_hits),
        "quoted_misses": misses,
        "fused": fused_summary,
        "clip_only": clip_summary,
        "change": {key: round(fused_summary[key] - clip_summary[key], 4) for key in fused_summary},
    }

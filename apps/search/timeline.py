"""How well each stretch of a video matches a query: the heat strip under a video result.

Why not a model pass: the keyframe vectors are already in the collection index, so a video's
timeline is one dot product per keyframe with the query vector the search embedded anyway. Pure
NumPy here; the service reads the segments and vectors.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

#: At most this many entries per video: a day-long recording has tens of thousands of segments,
#: and a strip a few hundred pixels wide cannot show more. Neighbours are joined, keeping the best.
MAX_ENTRIES = 400


@dataclass(frozen=True)
class TimelineEntry:
    """The query's score over ``[start, end)`` of a video (the best of its keyframes there)."""

    start: float
    end: float
    score: float


def score_segments(
    segments: Sequence[tuple[int, float, float]],
    vectors: Mapping[int, np.ndarray],
    query: np.ndarray,
    max_entries: int = MAX_ENTRIES,
) -> list[TimelineEntry]:
    """Entries in time order for ``segments`` (vector id, start, end) whose vectors are known.

    Segments without a vector (not indexed yet) are left out: the strip shows a gap there.
    """
    known = sorted((start, end, vid) for vid, start, end in segments if vid in vectors)
    if not known:
        return []
    matrix = np.stack([vectors[vid] for _, _, vid in known]).astype(np.float32, copy=False)
    scores = matrix @ np.asarray(query, dtype=np.float32).reshape(-1)
    entries = [TimelineEntry(float(s), float(e), float(x)) for (s, e, _), x in zip(known, scores, strict=True)]
    return downsample(entries, max_entries)


def downsample(entries: list[TimelineEntry], max_entries: int) -> list[TimelineEntry]:
    """Join runs of neighbouring entries so that at most ``max_entries`` remain (best score kept)."""
    if len(entries) <= max_entries:
        return entries
    per_bin = -(-len(entries) // max_entries)
    return [
        TimelineEntry(chunk[0].start, chunk[-1].end, max(e.score for e in chunk))
        for chunk in (entries[i : i + per_bin] for i in range(0, len(entries), per_bin))
    ]

"""How well each stretch of a video matches a query: the heat strip under a video result.

Why not a model pass: the keyframe vectors are already in the collection index, so a video's
timeline is one dot product per keyframe with the query vector the search embedded anyway. Pure
NumPy here; the service reads the segments and vectors.
"""
from __future__ import annotations

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
    starts: np.ndarray,
    ends: np.ndarray,
    vectors: np.ndarray,
    query: np.ndarray,
    max_entries: int = MAX_ENTRIES,
) -> list[TimelineEntry]:
    """Entries in time order for segments ``[starts[i], ends[i])`` whose stored vectors are ``vectors[i]``.

    Segments without a vector (not indexed yet) are simply not passed: the strip shows a gap there.
    """
    if not len(starts):
        return []
    order = np.argsort(starts, kind="stable")
    starts, ends = np.asarray(starts, dtype=np.float64)[order], np.asarray(ends, dtype=np.float64)[order]
    scores = (np.asarray(vectors, dtype=np.float32)[order] @ np.asarray(query, dtype=np.float32).reshape(-1))
    if len(scores) > max_entries:
        per_bin = -(-len(scores) // max_entries)
        first = np.arange(0, len(scores), per_bin)
        last = np.minimum(first + per_bin, len(scores)) - 1
        starts, ends, scores = starts[first], ends[last], np.maximum.reduceat(scores, first)
    return [TimelineEntry(float(s), float(e), float(x)) for s, e, x in zip(starts, ends, scores, strict=True)]

"""How well each stretch of a video matches a query: the heat strip under a video result.

Why not a model pass: the keyframe vectors are already in the collection index, so a video's
timeline is one dot product per keyframe with the query vector the search embedded anyway (the
service does that product for all listed videos at once). Pure NumPy here: order and binning.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: At most this many entries per video: a day-long recording has tens of thousands of segments,
#: and a strip a few hundred pixels wide cannot show more. Neighbours are joined, keeping the best.
MAX_ENTRIES = 400


class TimelineEntry(NamedTuple):
    """The query's score over ``[start, end)`` of a video (the best of its keyframes there).

    A tuple, not a dataclass: a page of long videos makes thousands, and a frozen dataclass costs
    about 1.5 us each to build.
    """

    start: float
    end: float
    score: float


def timeline_entries(
    starts: np.ndarray,
    ends: np.ndarray,
    scores: np.ndarray,
    max_entries: int = MAX_ENTRIES,
) -> list[TimelineEntry]:
    """Entries in time order for segments ``[starts[i], ends[i])`` that scored ``scores[i]``.

    Segments without a vector (not indexed yet) are simply not passed: the strip shows a gap there.
    """
    if not len(starts):
        return []
    order = np.argsort(starts, kind="stable")
    starts, ends = np.asarray(starts, dtype=np.float64)[order], np.asarray(ends, dtype=np.float64)[order]
    scores = np.asarray(scores, dtype=np.float64)[order]
    if len(scores) > max_entries:
        per_bin = -(-len(scores) // max_entries)
        first = np.arange(0, len(scores), per_bin)
        last = np.minimum(first + per_bin, len(scores)) - 1
        starts, ends, scores = starts[first], ends[last], np.maximum.reduceat(scores, first)
    return [TimelineEntry(s, e, x) for s, e, x in zip(starts.tolist(), ends.tolist(), scores.tolist(), strict=True)]

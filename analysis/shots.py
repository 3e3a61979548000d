"""Shots and segments: the pure time arithmetic between cut detection and keyframe choice.

A *shot* runs from one cut to the next. A *segment* is the slice of a shot one keyframe stands for,
so a search hit can point at a clip no longer than ``max_gap`` seconds.

Splitting rule (chosen so a single decoding pass can finish segments while the shot is still
running, with bounded memory): a shot of length ``D`` gets ``n = ceil(D / max_gap)`` segments; when
``n <= 2`` they are equal; otherwise the first ``n - 2`` are exactly ``max_gap`` long and the last two
share the remainder equally (each between ``max_gap / 2`` and ``max_gap``). Segment ``k`` of a shot is
therefore final as soon as the shot is known to be longer than ``(k + 2) * max_gap``
(:func:`settled_segment_count`).
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_MIN_SHOT = 0.4
# The first and last shot may be shorter: a video trimmed just after or just before a cut still has
# that cut. What the inner minimum guards against (a flash frame's cut, a picture coming back) is
# rejected by the cut filters before it gets here; this floor only drops a few frames' sliver.
DEFAULT_MIN_EDGE_SHOT = 0.25
# Float noise allowed when comparing a shot's length with a multiple of max_gap.
_EPS = 1e-9


@dataclass(frozen=True)
class Shot:
    """One continuous camera take, [start, end) in seconds."""

    index: int
    start: float
    end: float


@dataclass(frozen=True)
class Segment:
    """A slice of a shot represented by one keyframe."""

    shot_index: int
    start: float
    end: float


def cuts_to_shots(cut_times: Iterable[float], duration: float,
                  min_shot: float = DEFAULT_MIN_SHOT,
                  min_edge_shot: float = DEFAULT_MIN_EDGE_SHOT) -> list[Shot]:
    """Shots covering [0, duration] exactly, split at ``cut_times``.

    Cuts outside (0, duration) are ignored; a cut closer than ``min_shot`` to the previous boundary
    is dropped (detector jitter). The first and the last shot need only ``min_edge_shot`` (never
    more than ``min_shot``): the first cut is dropped when closer than that to 0, the last when it
    would leave a final shot shorter than that.
    """
    if duration <= 0:
        return []
    min_edge_shot = min(min_edge_shot, min_shot)
    bounds = [0.0]
    for cut in sorted(cut_times):
        least = min_edge_shot if len(bounds) == 1 else min_shot
        gap = cut - bounds[-1]
        if gap > 0 and gap >= least and duration - cut > 0:  # gap > 0: no empty shot even with a minimum of 0
            bounds.append(float(cut))
    if len(bounds) > 1 and duration - bounds[-1] < min_edge_shot:
        bounds.pop()
    bounds.append(float(duration))
    return [Shot(i, start, end) for i, (start, end) in enumerate(zip(bounds, bounds[1:]))]


def shot_segment_edges(start: float, end: float, max_gap: float) -> list[float]:
    """Edges (including ``start`` and ``end``) of the segments of one shot, per the module rule."""
    if max_gap <= 0:
        raise ValueError("max_gap must be positive")
    length = end - start
    if length <= 0:
        return [start, end]
    n = max(1, math.ceil(length / max_gap - _EPS))
    if n <= 2:
        edges = [start + length * i / n for i in range(n)]
    else:
        edges = [start + max_gap * i for i in range(n - 1)]
        edges.append(edges[-1] + (end - edges[-1]) / 2)
    edges.append(end)
    return edges


def settled_segment_count(start: float, now: float, max_gap: float) -> int:
    """How many leading segments of a shot that began at ``start`` and is still running at ``now``
    are already final, whatever its eventual end (each of them exactly ``max_gap`` long)."""
    return max(0, math.ceil((now - start) / max_gap - _EPS) - 2)


def split_into_segments(shots: Iterable[Shot], max_gap: float) -> list[Segment]:
    """Segments of every shot, none longer than ``max_gap``.

    They partition the shots' span exactly: consecutive, gap-free, with every shot boundary also a
    segment boundary (the edges are the shots' own floats, not recomputed sums).
    """
    segments: list[Segment] = []
    for shot in shots:
        edges = shot_segment_edges(shot.start, shot.end, max_gap)
        segments.extend(Segment(shot.index, a, b) for a, b in zip(edges, edges[1:]))
    return segments

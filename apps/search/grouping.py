"""Turn keyframe hits into moments: pure functions, no Django, no I/O.

A search returns scored keyframes. Each keyframe stands for a segment ``[start, end)`` of its
video; the segments of one video partition it (black stretches aside) and their edges include the
real shot cuts. Users want *moments*: every separate stretch of a video that matches the query,
each once, and a clip that covers what matched rather than the whole video. So:

1. **Match.** A segment matches the query when it scores at least
   ``median + match_fraction * spread``, ``spread = best - median`` over all hit scores of this
   query: how far the top stands out from the typical hit. Being relative to the query's own score
   distribution, the rules are invariant to shifting and scaling scores, so they hold for any
   model's score scale (CLIP cosines bunch around 0.2-0.35, other models do not). Segments that do
   not match separate moments: the car that passes at 0:12, 0:47 and 1:30 gives three clips.
2. **Merge.** Starting from the best unassigned matching segment (the seed), a clip grows over
   *adjacent* matching segments of the same video (``prev.end == next.start`` within
   ``touch_tolerance``) as long as each scores close to the seed: ``score >= seed - alpha * spread``.
   Neighbours are compared with the seed, not with each other, so a slow decline cannot drag a clip
   across a whole shot. Across a shot cut the bar is higher (``cross_shot_alpha``): the next shot
   joins only when it matches about as well as the seed. When all scores are equal (spread 0) only
   equal-scored neighbours merge.
3. **Suppress near-duplicates.** Matching clips of one video that touch or are closer than
   ``min_separation`` seconds form one moment (a run of matching segments the seed rule split, or
   hits flickering across a fraction of a second): only its best clip is returned. Non-matching
   segments grow into clips of their own by the same seed rule (nothing is hidden; they rank below
   every match), except within ``min_separation`` of a match: there they are its fading edge.
4. **Order.** Score descending; ties by video id, start time and keyframe id, so results
   never depend on the order of the input.

A clip's ``start``/``end`` are its outer segment edges (real shot boundaries where it covers
whole shots), ``best_time`` is the time of its best keyframe and its score is that keyframe's.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Fraction of the query's score spread above the median from which a segment matches the query.
MATCH_FRACTION = 0.3
#: Fraction of the query's score spread a neighbour may fall below the clip's best and still merge.
MERGE_ALPHA = 0.5
#: Across a shot cut a neighbour must score this close (fraction of the spread): a cut changes the
#: content, so the next shot joins the clip only when it matches about as well as the best frame.
CROSS_SHOT_ALPHA = 0.15
#: Matching clips of one video closer than this many seconds are one moment; only the best is kept.
MIN_SEPARATION = 1.0
#: Span edges closer than this (seconds) count as touching.
TOUCH_TOLERANCE = 1e-3


@dataclass(frozen=True)
class KeyframeSpan:
    """The part ``[start, end)`` of a video represented by one keyframe (taken at ``time``)."""

    keyframe_id: int
    video_id: int
    shot_index: int
    time: float
    start: float
    end: float


@dataclass
class Clip:
    """A contiguous stretch of one video; ``matched`` when it is a moment that matches the query."""

    video_id: int
    start: float
    end: float
    best_time: float
    score: float
    best_keyframe_id: int
    keyframe_ids: list[int] = field(default_factory=list)  # in time order
    matched: bool = True


@dataclass(frozen=True)
class Thresholds:
    """The score bars of one query, derived from its own score distribution."""

    match: float  # a segment matches from this score
    within_shot: float  # how far below its seed a neighbour in the same shot may score
    across_cut: float  # ... across a shot cut


def thresholds(
    scores: Sequence[float],
    *,
    match_fraction: float = MATCH_FRACTION,
    alpha: float = MERGE_ALPHA,
    cross_shot_alpha: float = CROSS_SHOT_ALPHA,
) -> Thresholds:
    """The match bar and merge tolerances for a query whose hits scored ``scores`` (not empty)."""
    median = statistics.median(scores)
    spread = max(scores) - median
    return Thresholds(
        match=median + match_fraction * spread,
        within_shot=alpha * spread,
        across_cut=min(alpha, cross_shot_alpha) * spread,
    )


def _best_per_keyframe(hits: Sequence[tuple[KeyframeSpan, float]]) -> dict[int, tuple[KeyframeSpan, float]]:
    """One entry per keyframe, keeping its highest score (a keyframe may be hit twice)."""
    best: dict[int, tuple[KeyframeSpan, float]] = {}
    for seg, score in hits:
        score = float(score)
        if seg.keyframe_id not in best or score > best[seg.keyframe_id][1]:
            best[seg.keyframe_id] = (seg, score)
    return best


def _rank_key(seg: KeyframeSpan, score: float) -> tuple[float, int, float, int]:
    return (-score, seg.video_id, seg.start, seg.keyframe_id)


def _touches(a: KeyframeSpan, b: KeyframeSpan, touch: float) -> bool:
    """Whether ``b`` starts where ``a`` ends (``a`` before ``b``)."""
    return abs(b.start - a.end) <= touch


def _grow(
    run: list[tuple[KeyframeSpan, float]],
    seed: int,
    assigned: set[int],
    floors: tuple[float, float],
    touch: float,
    matched: bool,
    bar: float,
) -> tuple[int, int]:
    """Extend [seed, seed] over touching, unassigned segments of ``run`` scoring >= the floor.

    ``floors`` is (within the same shot, across a shot cut). A clip holds either matching segments
    only (``matched``: score >= ``bar``) or non-matching ones only.
    """

    def joins(cand: tuple[KeyframeSpan, float], edge: KeyframeSpan) -> bool:
        seg, score = cand
        floor = floors[0] if seg.shot_index == edge.shot_index else floors[1]
        return score >= floor and (score >= bar) == matched and seg.keyframe_id not in assigned

    lo = hi = seed
    while lo > 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):
        lo -= 1
    while hi + 1 < len(run) and _touches(run[hi][0], run[hi + 1][0], touch) and joins(run[hi + 1], run[hi][0]):
        hi += 1
    return lo, hi


def _clip(members: list[tuple[KeyframeSpan, float]], seed: tuple[KeyframeSpan, float], matched: bool) -> Clip:
    seed_seg, seed_score = seed
    return Clip(
        video_id=seed_seg.video_id,
        start=members[0][0].start,
        end=members[-1][0].end,
        best_time=seed_seg.time,
        score=seed_score,
        best_keyframe_id=seed_seg.keyframe_id,
        keyframe_ids=[s.keyframe_id for s, _ in members],
        matched=matched,
    )


def _merge(by_video: dict[int, list[tuple[KeyframeSpan, float]]], bars: Thresholds, touch: float) -> list[Clip]:
    """Seeded region growing, best seeds first, each keyframe in exactly one clip.

    A clip holds matching segments only, or non-matching ones only: a match never grows into the
    footage around it that does not match.
    """
    seeds = sorted(
        ((vid, i) for vid, run in by_video.items() for i in range(len(run))),
        key=lambda vi: _rank_key(*by_video[vi[0]][vi[1]]),
    )
    assigned: set[int] = set()
    clips: list[Clip] = []
    for vid, i in seeds:
        run = by_video[vid]
        seed_seg, seed_score = run[i]
        if seed_seg.keyframe_id in assigned:
            continue
        matched = seed_score >= bars.match
        floors = (seed_score - bars.within_shot, seed_score - bars.across_cut)
        lo, hi = _grow(run, i, assigned, floors, touch, matched, bars.match)
        members = run[lo : hi + 1]
        assigned.update(s.keyframe_id for s, _ in members)
        clips.append(_clip(members, run[i], matched))
    return clips


def _moments(clips: list[Clip], min_separation: float) -> list[list[Clip]]:
    """Chain matching clips of one video whose gaps are below ``min_separation`` into moments."""
    moments: list[list[Clip]] = []
    reach = float("-inf")
    for clip in sorted(clips, key=lambda c: (c.start, c.end)):
        if moments and clip.start < reach + min_separation:
            moments[-1].append(clip)
        else:
            moments.append([clip])
            reach = float("-inf")
        reach = max(reach, clip.end)
    return moments


def _suppress(clips: list[Clip], min_separation: float) -> list[Clip]:
    """The best clip of each moment, plus the non-matching clips that are not next to one."""
    by_video: dict[int, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_video[clip.video_id].append(clip)
    kept: list[Clip] = []
    for video_clips in by_video.values():
        matched = [c for c in video_clips if c.matched]
        near = [(c.start - min_separation, c.end + min_separation) for c in matched]
        kept.extend(min(moment, key=_clip_rank) for moment in _moments(matched, min_separation))
        kept.extend(c for c in video_clips if not c.matched
                    and not any(c.start < hi and c.end > lo for lo, hi in near))
    return kept


def _clip_rank(c: Clip) -> tuple[float, int, float, int]:
    return (-c.score, c.video_id, c.start, c.best_keyframe_id)


def group_hits(
    hits: Sequence[tuple[KeyframeSpan, float]],
    *,
    match_fraction: float = MATCH_FRACTION,
    alpha: float = MERGE_ALPHA,
    cross_shot_alpha: float = CROSS_SHOT_ALPHA,
    min_separation: float = MIN_SEPARATION,
    touch_tolerance: float = TOUCH_TOLERANCE,
    limit: int | None = None,
) -> list[Clip]:
    """Group scored keyframe segments into ranked clips (see module docstring for the rules).

    ``match_fraction`` sets the match bar, ``alpha`` scales the merge tolerance (0 merges only equal
    scores), ``cross_shot_alpha`` the tolerance across a shot cut, ``min_separation`` is the
    distance in seconds under which matching clips are one moment, ``limit`` caps the number of
    clips returned.
    """
    best = _best_per_keyframe(hits)
    if not best:
        return []
    by_video: dict[int, list[tuple[KeyframeSpan, float]]] = defaultdict(list)
    for seg, score in best.values():
        by_video[seg.video_id].append((seg, score))
    for run in by_video.values():
        run.sort(key=lambda h: (h[0].start, h[0].end, h[0].keyframe_id))
    bars = thresholds([s for _, s in best.values()], match_fraction=match_fraction, alpha=alpha,
                      cross_shot_alpha=cross_shot_alpha)
    clips = _suppress(_merge(by_video, bars, touch_tolerance), min_separation)
    clips.sort(key=_clip_rank)
    return clips[:limit] if limit is not None else clips

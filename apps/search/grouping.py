"""Turn keyframe hits into clips: pure functions, no Django, no I/O.

A search returns scored keyframes. Each keyframe stands for a segment ``[start, end)`` of its
video; the segments of one video partition it and their edges include the real shot cuts.
Users want *moments*, not ten near-identical frames of the same shot, so:

1. **Merge.** Starting from the best unassigned hit (the seed), a clip grows over *adjacent*
   matching segments of the same video (``prev.end == next.start`` within ``touch_tolerance``)
   as long as each neighbour scores close to the seed: ``score >= seed - alpha * spread``.
   ``spread = best - median`` over all hit scores of this query, i.e. how far the top stands
   out from the typical hit. Being relative to the query's own score distribution, the rule is
   invariant to shifting and scaling scores, so it works for any model's score scale (CLIP
   cosines bunch around 0.2-0.35, other models do not). Neighbours are compared with the seed,
   not with each other, so a slow decline cannot drag a clip across a whole video. Across a shot
   cut the bar is higher (``cross_shot_alpha``): the next shot joins only when it matches about as
   well as the seed. When all scores are equal (spread 0) only equal-scored neighbours merge.
2. **Suppress.** At most one clip per stretch of video: clips of one video that overlap or
   are closer than ``min_separation`` seconds are chained into a stretch, and only the best
   clip of each stretch is returned (a higher-scored clip nearby always wins).
3. **Order.** Score descending; ties by video id, start time and keyframe id, so results
   never depend on the order of the input.

A clip's ``start``/``end`` are its outer segment edges (real shot boundaries where it covers
whole shots), ``best_time`` is the time of its best keyframe and its score is that keyframe's.
"""
from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Fraction of the query's score spread a neighbour may fall below the clip's best and still merge.
MERGE_ALPHA = 0.5
#: Across a shot cut a neighbour must score this close (fraction of the spread): a cut changes the
#: content, so the next shot joins the clip only when it matches about as well as the best frame.
CROSS_SHOT_ALPHA = 0.15
#: Clips of one video closer than this many seconds to a better clip are suppressed.
MIN_SEPARATION = 1.0
#: Segment edges closer than this (seconds) count as touching.
TOUCH_TOLERANCE = 1e-3


@dataclass(frozen=True)
class Segment:
    """The part ``[start, end)`` of a video represented by one keyframe (taken at ``time``)."""

    keyframe_id: int
    video_id: int
    shot_index: int
    time: float
    start: float
    end: float


@dataclass
class Clip:
    """A contiguous matching stretch of one video."""

    video_id: int
    start: float
    end: float
    best_time: float
    score: float
    best_keyframe_id: int
    keyframe_ids: list[int] = field(default_factory=list)  # in time order


def _best_per_keyframe(hits: Sequence[tuple[Segment, float]]) -> dict[int, tuple[Segment, float]]:
    """One entry per keyframe, keeping its highest score (a keyframe may be hit twice)."""
    best: dict[int, tuple[Segment, float]] = {}
    for seg, score in hits:
        score = float(score)
        if seg.keyframe_id not in best or score > best[seg.keyframe_id][1]:
            best[seg.keyframe_id] = (seg, score)
    return best


def _rank_key(seg: Segment, score: float) -> tuple[float, int, float, int]:
    return (-score, seg.video_id, seg.start, seg.keyframe_id)


def merge_tolerance(scores: Sequence[float], alpha: float = MERGE_ALPHA) -> float:
    """How far below a clip's best a neighbour may score and still merge: alpha * (max - median)."""
    return alpha * (max(scores) - statistics.median(scores)) if scores else 0.0


def _grow(
    run: list[tuple[Segment, float]],
    seed: int,
    assigned: set[int],
    floors: tuple[float, float],
    touch: float,
) -> tuple[int, int]:
    """Extend [seed, seed] over touching, unassigned segments of ``run`` scoring >= the floor.

    ``floors`` is (within the same shot, across a shot cut).
    """
    lo = hi = seed
    while lo > 0 and _joins(run[lo - 1], run[lo], assigned, floors, touch):
        lo -= 1
    while hi + 1 < len(run) and _joins(run[hi + 1], run[hi], assigned, floors, touch, after=True):
        hi += 1
    return lo, hi


def _joins(
    cand: tuple[Segment, float],
    edge: tuple[Segment, float],
    assigned: set[int],
    floors: tuple[float, float],
    touch: float,
    after: bool = False,
) -> bool:
    seg, score = cand
    gap = seg.start - edge[0].end if after else edge[0].start - seg.end
    floor = floors[0] if seg.shot_index == edge[0].shot_index else floors[1]
    return abs(gap) <= touch and score >= floor and seg.keyframe_id not in assigned


def _merge(
    by_video: dict[int, list[tuple[Segment, float]]],
    tolerances: tuple[float, float],
    touch: float,
) -> list[Clip]:
    """Seeded region growing, best seeds first, each keyframe in exactly one clip."""
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
        floors = (seed_score - tolerances[0], seed_score - tolerances[1])
        lo, hi = _grow(run, i, assigned, floors, touch)
        members = run[lo : hi + 1]
        assigned.update(s.keyframe_id for s, _ in members)
        clips.append(
            Clip(
                video_id=vid,
                start=members[0][0].start,
                end=members[-1][0].end,
                best_time=seed_seg.time,
                score=seed_score,
                best_keyframe_id=seed_seg.keyframe_id,
                keyframe_ids=[s.keyframe_id for s, _ in members],
            )
        )
    return clips


def _stretches(clips: list[Clip], min_separation: float) -> list[list[Clip]]:
    """Chain clips of one video whose gaps are below min_separation into stretches."""
    stretches: list[list[Clip]] = []
    reach = float("-inf")
    for clip in sorted(clips, key=lambda c: (c.start, c.end)):
        if stretches and clip.start < reach + min_separation:
            stretches[-1].append(clip)
        else:
            stretches.append([clip])
            reach = float("-inf")
        reach = max(reach, clip.end)
    return stretches


def _suppress(clips: list[Clip], min_separation: float) -> list[Clip]:
    """Keep only the best clip of each stretch (clips chained by gaps < min_separation).

    Plain pairwise NMS would still return every other hit of a long run of similar shots; a
    stretch is the whole run, so a run yields exactly one clip.
    """
    by_video: dict[int, list[Clip]] = defaultdict(list)
    for clip in clips:
        by_video[clip.video_id].append(clip)
    return [
        min(stretch, key=_clip_rank)
        for video_clips in by_video.values()
        for stretch in _stretches(video_clips, min_separation)
    ]


def _clip_rank(c: Clip) -> tuple[float, int, float, int]:
    return (-c.score, c.video_id, c.start, c.best_keyframe_id)


def group_hits(
    hits: Sequence[tuple[Segment, float]],
    *,
    alpha: float = MERGE_ALPHA,
    cross_shot_alpha: float = CROSS_SHOT_ALPHA,
    min_separation: float = MIN_SEPARATION,
    touch_tolerance: float = TOUCH_TOLERANCE,
    limit: int | None = None,
) -> list[Clip]:
    """Group scored keyframe segments into ranked clips (see module docstring for the rules).

    ``alpha`` scales the merge tolerance (0 merges only equal scores), ``cross_shot_alpha`` the
    tolerance across a shot cut, ``min_separation`` is
    the suppression radius in seconds, ``limit`` caps the number of clips returned.
    """
    best = _best_per_keyframe(hits)
    if not best:
        return []
    by_video: dict[int, list[tuple[Segment, float]]] = defaultdict(list)
    for seg, score in best.values():
        by_video[seg.video_id].append((seg, score))
    for run in by_video.values():
        run.sort(key=lambda h: (h[0].start, h[0].end, h[0].keyframe_id))
    scores = [s for _, s in best.values()]
    tolerances = (merge_tolerance(scores, alpha), merge_tolerance(scores, min(alpha, cross_shot_alpha)))
    clips = _suppress(_merge(by_video, tolerances, touch_tolerance), min_separation)
    clips.sort(key=_clip_rank)
    return clips[:limit] if limit is not None else clips

"""Moment-retrieval metrics over ranked clips (pure functions, no model, no Django).

As reported for Charades-STA / QVHighlights: a query has one or more ground-truth occurrences
(intervals in seconds) and the system returns a ranked list of clips (intervals).

- ``R1@t``: the first clip overlaps some occurrence with tIoU >= t.
- ``AP@t``: average precision over the ranked list; a clip is a true positive when it matches a
  not-yet-matched occurrence with tIoU >= t (so two clips on one occurrence count once, as in
  detection), normalised by the number of occurrences (missed ones count as zero precision).
- occurrence recall: the share of occurrences hit (tIoU >= t) by some clip within the top
  (number of occurrences + slack); it asks whether *every* recurrence is found, not just the best.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from apps.search.temporal import temporal_iou

Interval = tuple[float, float]

R1_THRESHOLDS = (0.5, 0.7)
MAP_THRESHOLDS = (0.5, 0.75)
RECALL_THRESHOLD = 0.5
#: Clips beyond the number of occurrences that may still count for occurrence recall.
RECALL_SLACK = 2


def r1(ranked: Sequence[Interval], occurrences: Sequence[Interval], threshold: float) -> float:
    """1.0 when the top clip has tIoU >= threshold with some occurrence, else 0.0."""
    if not ranked:
        return 0.0
    return float(any(temporal_iou(ranked[0], occ) >= threshold for occ in occurrences))


def true_positives(ranked: Sequence[Interval], occurrences: Sequence[Interval], threshold: float) -> list[bool]:
    """Per ranked clip: does it match a still unmatched occurrence (its best-overlapping one) at the threshold?"""
    matched: set[int] = set()
    flags = []
    for clip in ranked:
        candidates = [(temporal_iou(clip, occ), i) for i, occ in enumerate(occurrences) if i not in matched]
        best = max(candidates, default=(0.0, -1))
        hit = best[0] >= threshold
        if hit:
            matched.add(best[1])
        flags.append(hit)
    return flags


def average_precision(ranked: Sequence[Interval], occurrences: Sequence[Interval], threshold: float) -> float:
    """AP of the ranked clips against all occurrences, normalised by the number of occurrences."""
    if not occurrences:
        raise ValueError("a query needs at least one ground-truth occurrence")
    hits, total = 0, 0.0
    for rank, hit in enumerate(true_positives(ranked, occurrences, threshold), start=1):
        if hit:
            hits += 1
            total += hits / rank
    return total / len(occurrences)


def occurrences_hit(ranked: Sequence[Interval], occurrences: Sequence[Interval], threshold: float = RECALL_THRESHOLD,
                    slack: int = RECALL_SLACK) -> int:
    """How many occurrences some clip within the top (len(occurrences) + slack) overlaps with tIoU >= threshold."""
    top = ranked[: len(occurrences) + slack]
    return sum(any(temporal_iou(clip, occ) >= threshold for clip in top) for occ in occurrences)


@dataclass(frozen=True)
class QueryScore:
    """All metrics of one query."""

    r1: dict[float, float]
    ap: dict[float, float]
    hit: int
    occurrences: int


def score_query(ranked: Sequence[Interval], occurrences: Sequence[Interval]) -> QueryScore:
    return QueryScore(
        r1={t: r1(ranked, occurrences, t) for t in R1_THRESHOLDS},
        ap={t: average_precision(ranked, occurrences, t) for t in MAP_THRESHOLDS},
        hit=occurrences_hit(ranked, occurrences),
        occurrences=len(occurrences),
    )


def summarise(scores: Sequence[QueryScore]) -> dict[str, float]:
    """Means over queries of R1 and AP; occurrence recall pooled over all occurrences of all queries."""
    if not scores:
        raise ValueError("no queries to summarise")
    out = {f"R1@{t}": sum(s.r1[t] for s in scores) / len(scores) for t in R1_THRESHOLDS}
    out |= {f"mAP@{t}": sum(s.ap[t] for s in scores) / len(scores) for t in MAP_THRESHOLDS}
    out[f"occurrence_recall@{RECALL_THRESHOLD}"] = sum(s.hit for s in scores) / sum(s.occurrences for s in scores)
    return out

"""Moment-retrieval metrics on hand-made ranked clip lists (pure, no model)."""
from __future__ import annotations

import pytest

from apps.search.evaluation.moment_metrics import (
    average_precision,
    occurrences_hit,
    r1,
    score_query,
    summarise,
    true_positives,
)

OCC = [(0.0, 4.0), (10.0, 14.0), (20.0, 24.0)]


def test_r1_looks_only_at_the_first_clip() -> None:
    assert r1([(10.0, 14.0), (50.0, 51.0)], OCC, 0.5) == 1.0
    assert r1([(50.0, 51.0), (10.0, 14.0)], OCC, 0.5) == 0.0
    assert r1([], OCC, 0.5) == 0.0


def test_r1_threshold_is_inclusive_and_strict_below() -> None:
    # [0, 3] vs [0, 4]: tIoU 0.75
    assert r1([(0.0, 3.0)], OCC, 0.7) == 1.0
    assert r1([(0.0, 3.0)], OCC, 0.75) == 1.0
    # [0, 2] vs [0, 4]: tIoU 0.5
    assert r1([(0.0, 2.0)], OCC, 0.5) == 1.0
    assert r1([(0.0, 2.0)], OCC, 0.7) == 0.0


def test_one_clip_over_the_whole_video_hits_nothing() -> None:
    whole = [(0.0, 24.0)]
    assert r1(whole, OCC, 0.5) == 0.0
    assert average_precision(whole, OCC, 0.5) == 0.0
    assert occurrences_hit(whole, OCC) == 0


def test_returning_only_one_of_three_occurrences() -> None:
    ranked = [(10.0, 14.0), (50.0, 54.0), (60.0, 64.0)]
    assert occurrences_hit(ranked, OCC) == 1
    assert average_precision(ranked, OCC, 0.5) == pytest.approx(1 / 3)
    score = score_query(ranked, OCC)
    assert score.hit == 1 and score.occurrences == 3
    assert summarise([score])["occurrence_recall@0.5"] == pytest.approx(1 / 3)


def test_all_occurrences_first_is_perfect() -> None:
    ranked = [(20.0, 24.0), (0.1, 4.0), (10.0, 13.9), (50.0, 54.0)]
    assert average_precision(ranked, OCC, 0.5) == 1.0
    assert average_precision(ranked, OCC, 0.75) == 1.0
    assert occurrences_hit(ranked, OCC) == 3


def test_average_precision_counts_rank_of_each_hit() -> None:
    # hits at ranks 1 and 3, third occurrence missed: (1/1 + 2/3) / 3
    ranked = [(0.0, 4.0), (50.0, 54.0), (20.0, 24.0)]
    assert average_precision(ranked, OCC, 0.5) == pytest.approx((1 + 2 / 3) / 3)


def test_a_second_clip_on_the_same_occurrence_is_a_false_positive() -> None:
    ranked = [(0.0, 4.0), (0.0, 3.5), (10.0, 14.0)]
    assert true_positives(ranked, OCC, 0.5) == [True, False, True]
    assert average_precision(ranked, OCC, 0.5) == pytest.approx((1 + 2 / 3) / 3)


def test_a_clip_matches_its_best_overlapping_unmatched_occurrence() -> None:
    occ = [(0.0, 4.0), (4.0, 8.0)]
    # at 0.3, [1, 8] clears both (tIoU 0.375 and 0.571): it takes the second, leaving the first for [0, 4]
    ranked = [(1.0, 8.0), (0.0, 4.0)]
    assert true_positives(ranked, occ, 0.3) == [True, True]


def test_occurrence_recall_only_counts_the_top_occurrences_plus_two() -> None:
    misses = [(50.0, 51.0)] * 5  # 3 occurrences + 2 = 5 clips looked at
    assert occurrences_hit([*misses, (0.0, 4.0)], OCC) == 0
    assert occurrences_hit([*misses[:4], (0.0, 4.0)], OCC) == 1
    assert occurrences_hit([*misses[:4], (0.0, 4.0)], OCC, slack=1) == 0


def test_stricter_threshold_never_scores_higher() -> None:
    ranked = [(0.0, 3.0), (10.0, 12.5), (20.5, 24.0)]  # tIoU 0.75, 0.625, 0.875
    assert average_precision(ranked, OCC, 0.5) == 1.0
    assert average_precision(ranked, OCC, 0.75) == pytest.approx((1 + 2 / 3) / 3)


def test_summarise_means_over_queries_and_pools_occurrences() -> None:
    perfect = score_query([(0.0, 4.0), (10.0, 14.0), (20.0, 24.0)], OCC)
    single = score_query([(30.0, 34.0)], [(30.0, 34.0)])
    missed = score_query([(90.0, 94.0)], [(30.0, 34.0)])
    out = summarise([perfect, single, missed])
    assert out["R1@0.5"] == pytest.approx(2 / 3)
    assert out["mAP@0.5"] == pytest.approx(2 / 3)
    assert out["occurrence_recall@0.5"] == pytest.approx(4 / 5)  # 3 + 1 of 5 occurrences
    assert set(out) == {"R1@0.5", "R1@0.7", "mAP@0.5", "mAP@0.75", "occurrence_recall@0.5"}


def test_no_occurrence_or_no_query_is_an_error() -> None:
    with pytest.raises(ValueError):
        average_precision([(0.0, 1.0)], [], 0.5)
    with pytest.raises(ValueError):
        summarise([])

"""score_segments: a video's score over time from its stored keyframe vectors."""
from __future__ import annotations

import numpy as np
import pytest

from apps.search.timeline import TimelineEntry, score_segments


def test_scores_are_dot_products_in_time_order() -> None:
    vectors = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    entries = score_segments(np.array([4.0, 0.0, 2.0]), np.array([6.0, 2.0, 4.0]), vectors, np.array([1.0, 0.0]))
    assert entries == [TimelineEntry(0.0, 2.0, 1.0), TimelineEntry(2.0, 4.0, pytest.approx(0.6)),
                       TimelineEntry(4.0, 6.0, 0.0)]


def test_long_videos_are_binned_keeping_the_best_score_of_each_bin() -> None:
    n = 1001
    starts = np.arange(n, dtype=np.float64) * 2
    scores = np.zeros(n, dtype=np.float32)
    scores[777] = 1.0  # one peak must survive binning
    vectors = np.stack([scores, np.sqrt(1 - scores**2)], axis=1)
    entries = score_segments(starts, starts + 2, vectors, np.array([1.0, 0.0]), max_entries=100)
    assert len(entries) <= 100
    assert entries[0].start == 0.0 and entries[-1].end == 2.0 * n
    assert all(a.end == b.start for a, b in zip(entries, entries[1:]))  # no gap, no overlap
    (peak,) = [e for e in entries if e.score > 0.5]
    assert peak.start <= 2 * 777 < peak.end
    assert max(e.score for e in entries if e is not peak) == 0.0


def test_no_segments_no_entries() -> None:
    assert score_segments(np.array([]), np.array([]), np.empty((0, 2)), np.array([1.0, 0.0])) == []

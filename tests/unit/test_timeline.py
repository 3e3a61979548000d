"""timeline_entries: a video's scores in time order, binned for long videos."""
from __future__ import annotations

import numpy as np
import pytest

from apps.search.timeline import TimelineEntry, timeline_entries


def test_entries_come_in_time_order() -> None:
    entries = timeline_entries(np.array([4.0, 0.0, 2.0]), np.array([6.0, 2.0, 4.0]), np.array([0.0, 1.0, 0.6]))
    assert entries == [TimelineEntry(0.0, 2.0, 1.0), TimelineEntry(2.0, 4.0, pytest.approx(0.6)),
                       TimelineEntry(4.0, 6.0, 0.0)]


def test_long_videos_are_binned_keeping_the_best_score_of_each_bin() -> None:
    n = 1001
    starts = np.arange(n, dtype=np.float64) * 2
    scores = np.zeros(n, dtype=np.float32)
    scores[777] = 1.0  # one peak must survive binning
    entries = timeline_entries(starts, starts + 2, scores, max_entries=100)
    assert len(entries) <= 100
    assert entries[0].start == 0.0 and entries[-1].end == 2.0 * n
    assert all(a.end == b.start for a, b in zip(entries, entries[1:]))  # no gap, no overlap
    (peak,) = [e for e in entries if e.score > 0.5]
    assert peak.start <= 2 * 777 < peak.end
    assert max(e.score for e in entries if e is not peak) == 0.0


def test_no_segments_no_entries() -> None:
    assert timeline_entries(np.array([]), np.array([]), np.array([])) == []

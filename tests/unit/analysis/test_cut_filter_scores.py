"""Known answers for the cut filters' small scoring functions (survivors of the full mutation run of
analysis/detectors/cut_filters.py: the HSV distance's mean of three channels and the fade test's boundaries)."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.detectors.cut_filters import FADE_CORRELATION, hsv_distance, is_fade_out


def _frame(h: int, s: int, v: int) -> np.ndarray:
    return np.dstack([np.full((4, 4), c, np.uint8) for c in (h, s, v)])


def test_hsv_distance_is_the_mean_change_of_hue_saturation_and_value():
    assert hsv_distance(_frame(10, 20, 30), _frame(10, 20, 30)) == 0.0
    assert hsv_distance(_frame(10, 20, 30), _frame(16, 20, 30)) == 2.0  # one channel: a third of its change
    assert hsv_distance(_frame(10, 20, 30), _frame(11, 20, 30)) == pytest.approx(1 / 3)  # not rounded to a level
    assert hsv_distance(_frame(10, 20, 30), _frame(16, 29, 30)) == 5.0
    assert hsv_distance(_frame(0, 0, 0), _frame(30, 60, 90)) == 60.0
    assert hsv_distance(_frame(30, 60, 90), _frame(0, 0, 0)) == 60.0  # absolute change: symmetric


def test_an_unchanged_or_brighter_frame_is_never_a_fade_out():
    gray = np.arange(64, dtype=np.uint8).reshape(8, 8) + 100
    assert not is_fade_out(gray, gray)  # the same brightness: not dimmer
    assert not is_fade_out(gray, gray + 10)
    assert is_fade_out(gray, (gray * 0.5).astype(np.uint8))  # the same picture, dimmed
    assert FADE_CORRELATION < 1.0


def test_a_dimmer_picture_correlated_exactly_at_the_bar_is_a_fade_out():
    """The bar is inclusive. Centred pictures x and y with x.x = y.y = 20 and x.y = 19 correlate at exactly 19/20;
    the second is 50 levels darker, so it is that picture dimmed."""
    x = np.tile([3, -3, 1, -1, 0], (4, 4))
    y = np.tile([3, -3, 0, -1, 1], (4, 4))
    prev, cur = (x + 100).astype(np.uint8), (y + 50).astype(np.uint8)
    assert is_fade_out(prev, cur)
    assert not is_fade_out(prev, (np.tile([3, -3, -1, 0, 1], (4, 4)) + 50).astype(np.uint8))  # 17/20: another picture

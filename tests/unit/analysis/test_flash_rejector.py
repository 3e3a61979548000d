"""FlashRejector's verdicts on uniform grey frames, whose distances are known exactly.

A grey BGR frame of level ``v`` is (0, 0, ``v``) in HSV, so two of them are ``|v - w| / 3`` apart on
ContentDetector's scale: a cut from 100 to 190 scores 30, and a later frame at 127 is 9 from the picture before.
The frames and the order of ``propose``/``push`` calls follow the pipeline's scan (a cut is proposed, then its
frame pushed), so each verdict below is what ingestion would do.
"""
from __future__ import annotations

import numpy as np
import pytest

from analysis.detectors.cut_filters import FlashRejector


def _grey(level: int) -> np.ndarray:
    return np.full((4, 4, 3), level, np.uint8)


def _verdicts(levels: list[int], proposals: dict[int, list[int]], *, window: int, max_delay: int) -> list[int]:
    """Cuts confirmed when frames of these grey levels stream in; ``proposals``: frame index -> cuts reported then."""
    rejector = FlashRejector(window=window, max_delay=max_delay)
    confirmed: list[int] = []
    for index, level in enumerate(levels):
        for cut in proposals.get(index, []):
            rejector.propose(cut)
        confirmed += rejector.push(index, _grey(level))
    return confirmed + rejector.flush()


@pytest.mark.parametrize(("back", "cuts"), [
    (127, []),  # 9 from the picture before, under a third of the cut's 30: the picture came back, a flash
    (130, []),  # exactly a third (10): still back
    (136, [5]),  # 12, two fifths: a new picture, the cut stands
])
def test_the_picture_is_back_within_a_third_of_the_cuts_change(back: int, cuts: list[int]) -> None:
    """Why a third: after a strobe the exposure takes a few frames to settle, so the picture returns close, not
    equal; a half would swallow real cuts to a similar-looking shot, a quarter would keep such flashes."""
    assert _verdicts([100] * 5 + [190] + [back] * 6, {5: [5]}, window=3, max_delay=2) == cuts


@pytest.mark.parametrize("max_delay", [0, 1, 5])
def test_a_flash_reported_as_late_as_allowed_is_still_checked(max_delay: int) -> None:
    """The frames are held for the latest report (``max_delay`` frames after the cut) plus the frame before the
    cut, even when the window is one frame (a slideshow analysed at 2 fps): a one-frame flash is rejected, a cut
    kept, however late within that bound they are reported."""
    late = {10 + max_delay: [10]}
    assert _verdicts([100] * 10 + [190] + [100] * 10, late, window=1, max_delay=max_delay) == []
    assert _verdicts([100] * 10 + [190] * 11, late, window=1, max_delay=max_delay) == [10]


def test_a_cut_proposed_twice_is_one_cut_late_in_a_long_video() -> None:
    """The detector and the spike detector often report the same frame; past frame 256 their two ints are
    different objects, and the cut must still come out once."""
    levels = [50] * 300 + [200] * 10
    assert _verdicts(levels, {300: [int("300"), int("300")]}, window=5, max_delay=4) == [300]


def test_cuts_proposed_out_of_order_are_each_judged() -> None:
    """A late report of an earlier cut (the spike detector looks 4 frames ahead) after a prompt one of a later cut:
    both are real cuts (three pictures in turn) and both come out, in frame order."""
    levels = [50] * 10 + [120] * 5 + [200] * 10
    assert _verdicts(levels, {15: [15], 16: [10]}, window=3, max_delay=6) == [10, 15]


def test_a_flash_on_the_second_frame_is_checked_against_the_first() -> None:
    """The first frame is the oldest held one and is still there: a flash at frame 1 is a flash, not trusted."""
    assert _verdicts([100, 190] + [100] * 5, {1: [1]}, window=3, max_delay=2) == []
    assert _verdicts([100, 190] + [190] * 5, {1: [1]}, window=3, max_delay=2) == [1]


def test_a_flash_right_after_a_cut_is_compared_with_the_new_shot() -> None:
    """The picture a flash must come back to is the frame just before it (here the first frame of a new shot),
    not an older one of the shot before."""
    levels = [50] * 5 + [120] + [200] + [120] * 5
    assert _verdicts(levels, {5: [5], 6: [6]}, window=3, max_delay=2) == [5]

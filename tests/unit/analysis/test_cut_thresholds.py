"""Cut detection's tuned numbers, pinned by behaviour on generated frames (no video file, no ffmpeg).

The frames are uniform grey I420 pictures fed straight to the pipeline's scan (the detector, the
isolated-spike detector, the flash and fade checks, the segment builder), so each score is known:
a grey step of ``d`` luma levels scores about ``d * 255 / 219 / 3`` on ContentDetector's scale.
"""
from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from analysis.decode import StreamFormat
from analysis.fingerprints import FingerprintTrack
from analysis.shots import Segment, Shot, cuts_to_shots
from analysis.video_analysis import SegmentBuilder, _scan

W, H = 64, 48


class _Frames:
    """A stand-in for FrameStream: uniform grey I420 frames of the given luma levels."""

    def __init__(self, lumas: list[int], fps: int) -> None:
        self.format = StreamFormat(W, H, Fraction(fps))
        self._lumas = lumas

    def frames(self):
        for luma in self._lumas:
            frame = np.full((H * 3 // 2, W), 128, np.uint8)  # U = V = 128: grey
            frame[:H] = luma
            yield frame


def _cuts(lumas: list[int], fps: int) -> tuple[list[float], list[Segment]]:
    duration = len(lumas) / fps
    builder = SegmentBuilder(max_gap=3.0, duration=duration, frame_time=1 / fps)
    probe = SimpleNamespace(duration=duration, fps=float(fps), frame_count=len(lumas))  # what _scan reads
    _scan(_Frames(lumas, fps), probe, builder, FingerprintTrack(), None)
    builder.finish(duration)
    return builder.cuts, builder.segments


def _flicker_then_step(step: int) -> list[int]:
    """100 frames at 25 fps flickering by 15 levels every frame (each frame scores ~6, so no cut
    stands out 8x from its neighbours and the isolated-spike detector stays silent); at frame 50
    (2.0 s) the picture jumps ``step`` levels."""
    return [(60 if i < 50 else 60 + step) + (15 if i % 2 else 0) for i in range(100)]


@pytest.mark.parametrize(("step", "cuts"), [
    (92, [2.0]),  # scores 29.7: above ContentDetector's 27, found by it alone (a bar of 30+ misses it)
    (80, []),  # scores 25.0: under 27 and not an isolated spike, so motion, not a cut (a bar of 24 takes it)
])
def test_content_threshold_on_a_soft_cut_among_motion(step: int, cuts: list[float]) -> None:
    assert _cuts(_flicker_then_step(step), fps=25)[0] == cuts


def test_a_045_s_shot_between_two_hard_cuts_is_kept() -> None:
    # 40 fps: 0.45 s is 18 frames, over the detector's 15-frame minimum scene, so only the minimum
    # shot length (0.4 s) decides; a 0.5 s minimum would drop the cut at 2.45 s.
    lumas = [60] * 80 + [150] * 18 + [220] * 102
    cuts, segments = _cuts(lumas, fps=40)
    assert cuts == [2.0, 2.45]
    assert segments == [Segment(0, 0.0, 2.0), Segment(1, 2.0, 2.45), Segment(2, 2.45, 5.0)]


def test_min_shot_default_keeps_045_and_drops_035() -> None:
    assert cuts_to_shots([3.0, 3.45], 10.0) == [Shot(0, 0.0, 3.0), Shot(1, 3.0, 3.45), Shot(2, 3.45, 10.0)]
    assert cuts_to_shots([3.0, 3.35], 10.0) == [Shot(0, 0.0, 3.0), Shot(1, 3.0, 10.0)]


def test_segment_builder_default_min_shot_keeps_a_045_s_shot() -> None:
    builder = SegmentBuilder(max_gap=3.0, duration=10.0)
    for cut in (3.0, 3.45, 3.8):  # 3.8: only 0.35 s after 3.45, dropped
        builder.add_cut(cut)
    builder.finish()
    assert builder.cuts == [3.0, 3.45]
    assert [(s.shot_index, s.start, s.end) for s in builder.segments[:3]] == [(0, 0.0, 3.0), (1, 3.0, 3.45),
                                                                               (2, 3.45, 6.45)]

"""Shot and segment arithmetic: pure functions, no video needed."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from analysis.detectors.cut_filters import correlation, is_fade_out
from analysis.shots import (
    Segment,
    Shot,
    cuts_to_shots,
    settled_segment_count,
    shot_segment_edges,
    split_into_segments,
)


def test_no_cut_is_one_shot_covering_the_video():
    assert cuts_to_shots([], 12.5) == [Shot(0, 0.0, 12.5)]


def test_cuts_become_shot_boundaries_in_order():
    shots = cuts_to_shots([7.0, 2.0], 10.0)
    assert shots == [Shot(0, 0.0, 2.0), Shot(1, 2.0, 7.0), Shot(2, 7.0, 10.0)]


def test_cuts_outside_the_video_are_ignored():
    assert cuts_to_shots([-1.0, 0.0, 10.0, 11.0], 10.0) == [Shot(0, 0.0, 10.0)]
    assert cuts_to_shots([4.0, 11.0, 12.0, 13.0], 10.0) == [Shot(0, 0.0, 4.0), Shot(1, 4.0, 10.0)]


def test_cut_too_close_to_previous_boundary_is_dropped():
    shots = cuts_to_shots([0.1, 3.0, 3.2, 6.0], 10.0, min_shot=0.5)
    assert [s.start for s in shots] == [0.0, 3.0, 6.0]


def test_last_cut_leaving_a_sliver_is_dropped():
    shots = cuts_to_shots([5.0, 9.9], 10.0, min_shot=0.5)
    assert shots == [Shot(0, 0.0, 5.0), Shot(1, 5.0, 10.0)]


def test_short_first_and_last_shots_are_shots():
    """A video trimmed 0.3 s after a cut and 0.3 s before one keeps both cuts (inner shots need 0.4 s)."""
    assert cuts_to_shots([0.3, 5.0, 9.7], 10.0) == [
        Shot(0, 0.0, 0.3), Shot(1, 0.3, 5.0), Shot(2, 5.0, 9.7), Shot(3, 9.7, 10.0)]
    assert [s.start for s in cuts_to_shots([3.0, 3.3], 10.0)] == [0.0, 3.0]  # inside: still 0.4 s


def test_edge_slivers_are_dropped_and_edge_minimum_never_exceeds_inner_one():
    assert cuts_to_shots([0.2, 9.8], 10.0) == [Shot(0, 0.0, 10.0)]  # a few frames: not a shot
    assert cuts_to_shots([0.3], 10.0, min_shot=0.1, min_edge_shot=0.5) == [Shot(0, 0.0, 0.3), Shot(1, 0.3, 10.0)]


def test_zero_duration_has_no_shots():
    assert cuts_to_shots([1.0], 0.0) == []
    assert cuts_to_shots([1.0], -1.0) == []  # a broken probe's negative length: nothing, not a backwards shot


def test_a_clip_shorter_than_the_edge_minimum_is_one_shot():
    """The edge minimum drops a cut's sliver, never the whole video."""
    assert cuts_to_shots([], 0.2) == [Shot(0, 0.0, 0.2)]


def test_a_cut_at_mid_video_makes_two_halves():
    assert cuts_to_shots([5.0], 10.0) == [Shot(0, 0.0, 5.0), Shot(1, 5.0, 10.0)]


def test_shot_minimums_are_inclusive():
    """A shot exactly as long as its minimum is kept: the first and last (edge minimum) and an inner one."""
    assert cuts_to_shots([0.5, 9.5], 10.0, min_shot=1.0, min_edge_shot=0.5) == [
        Shot(0, 0.0, 0.5), Shot(1, 0.5, 9.5), Shot(2, 9.5, 10.0)]
    assert cuts_to_shots([3.0, 4.0], 10.0, min_shot=1.0, min_edge_shot=0.5) == [
        Shot(0, 0.0, 3.0), Shot(1, 3.0, 4.0), Shot(2, 4.0, 10.0)]


def test_cuts_at_or_past_the_end_are_ignored_whatever_the_minimum():
    """No empty or backwards last shot: a cut at the very end (with no minimum at all), or several just past a
    probed duration that came out short."""
    assert cuts_to_shots([5.0, 10.0], 10.0, min_shot=0.0) == [Shot(0, 0.0, 5.0), Shot(1, 5.0, 10.0)]
    assert cuts_to_shots([4.0, 10.2, 10.7], 10.0) == [Shot(0, 0.0, 4.0), Shot(1, 4.0, 10.0)]


def test_shots_and_segments_are_values():
    """Equal ones are interchangeable (as dict keys, in sets), and none can change under a caller holding it."""
    assert {Shot(0, 0.0, 2.0): "a"}[Shot(0, 0.0, 2.0)] == "a"
    assert len({Segment(1, 2.0, 3.0), Segment(1, 2.0, 3.0)}) == 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        Shot(0, 0.0, 2.0).end = 3.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        Segment(0, 0.0, 2.0).end = 3.0  # type: ignore[misc]


def test_short_shot_is_one_segment():
    assert split_into_segments([Shot(0, 1.0, 3.5)], 3.0) == [Segment(0, 1.0, 3.5)]


def test_shot_up_to_two_gaps_is_split_evenly():
    assert shot_segment_edges(0.0, 5.0, 3.0) == [0.0, 2.5, 5.0]
    assert shot_segment_edges(0.0, 6.0, 3.0) == [0.0, 3.0, 6.0]


def test_sub_second_shots_are_split_by_a_sub_second_gap():
    assert shot_segment_edges(0.0, 0.9, 0.5) == pytest.approx([0.0, 0.45, 0.9])


def test_a_shot_shorter_than_float_noise_is_still_one_segment():
    """What is left of a shot after its settled segments can be a rounding error long: it must still be covered,
    or the segments would leave a hole."""
    assert shot_segment_edges(5.0, 5.0 + 1e-10, 3.0) == [5.0, 5.0 + 1e-10]


def test_long_shot_full_gaps_then_remainder_shared_by_last_two():
    edges = shot_segment_edges(0.0, 10.0, 3.0)
    assert edges == pytest.approx([0.0, 3.0, 6.0, 8.0, 10.0])


@pytest.mark.parametrize("duration", [0.3, 2.9, 3.0, 3.01, 6.0, 7.5, 9.0, 23.04, 30.003, 3600.0])
@pytest.mark.parametrize("max_gap", [1.0, 3.0, 5.5])
def test_segments_partition_each_shot_and_respect_max_gap(duration, max_gap):
    shots = cuts_to_shots([duration * 0.37, duration * 0.81], duration, min_shot=0.0)
    segments = split_into_segments(shots, max_gap)
    assert segments[0].start == 0.0 and segments[-1].end == duration
    for a, b in zip(segments, segments[1:]):
        assert a.end == b.start  # exact, no float gaps
    for seg in segments:
        assert seg.end - seg.start <= max_gap + 1e-9
        assert seg.end > seg.start
    for shot in shots:
        mine = [s for s in segments if s.shot_index == shot.index]
        assert mine[0].start == shot.start and mine[-1].end == shot.end
        assert len(mine) == max(1, math.ceil((shot.end - shot.start) / max_gap - 1e-9))


def test_segments_of_long_shots_are_at_least_half_a_gap():
    for length in np.linspace(3.01, 40.0, 200):
        edges = shot_segment_edges(0.0, float(length), 3.0)
        assert min(b - a for a, b in zip(edges, edges[1:])) >= 1.5 - 1e-9


def test_no_segment_is_settled_before_a_shot_is_two_gaps_long():
    assert [settled_segment_count(2.0, now, 3.0) for now in (2.0, 3.0, 8.0, 8.5, 11.0, 11.5)] == [0, 0, 0, 1, 1, 2]


def test_settled_segments_never_change_when_the_shot_grows():
    start, max_gap = 2.0, 3.0
    for now in np.linspace(2.0, 30.0, 300):
        settled = settled_segment_count(start, float(now), max_gap)
        for end in np.linspace(float(now), 40.0, 50):
            edges = shot_segment_edges(start, float(end), max_gap)
            for k in range(settled):
                assert edges[k + 1] == pytest.approx(start + (k + 1) * max_gap)


def test_invalid_max_gap_is_rejected():
    with pytest.raises(ValueError):
        shot_segment_edges(0.0, 1.0, 0.0)
    with pytest.raises(ValueError):
        shot_segment_edges(0.0, 1.0, -3.0)


def _textured(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(30, 220, size=(64, 96), dtype=np.uint8)


def test_dimming_the_same_picture_is_a_fade_out():
    prev = _textured()
    assert is_fade_out(prev, (prev * 0.6).astype(np.uint8))


def test_a_different_picture_is_not_a_fade_out():
    assert not is_fade_out(_textured(1), (_textured(2) * 0.5).astype(np.uint8))


def test_brightening_is_not_a_fade_out():
    cur = _textured()
    assert not is_fade_out((cur * 0.5).astype(np.uint8), cur)


def test_correlation_of_uniform_image_is_zero():
    assert correlation(np.zeros((4, 4), np.uint8), _textured()[:4, :4]) == 0.0


def test_correlation_of_tiny_low_contrast_images_is_still_measured():
    """Two pixels one level apart: the variances' product is below 1, yet the pictures are perfectly (anti)correlated."""
    a = np.array([[10, 11]], np.uint8)
    assert correlation(a, a) == pytest.approx(1.0)
    assert correlation(a, a[:, ::-1]) == pytest.approx(-1.0)


def _moving_pictures(seed: int, n: int) -> list[np.ndarray]:
    """``n`` frames of one smooth textured picture with fresh sensor noise each frame: one shot."""
    import cv2

    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, size=(48, 80, 3), dtype=np.uint8)
    picture = cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 3), None, 30, 225, cv2.NORM_MINMAX).astype(int)
    return [np.clip(picture + rng.integers(-6, 7, size=picture.shape), 0, 255).astype(np.uint8) for _ in range(n)]


def _flash_verdicts(frames: list[np.ndarray], proposals: dict[int, int], *, window: int = 10) -> list[int]:
    """Run FlashRejector like the scan does; ``proposals`` maps frame index -> cut frame reported then."""
    from analysis.detectors.cut_filters import FlashRejector

    rejector = FlashRejector(window=window, max_delay=15)
    confirmed = []
    for index, frame in enumerate(frames):
        if index in proposals:
            rejector.propose(proposals[index])
        confirmed += rejector.push(index, frame)
    return confirmed + rejector.flush()


def test_flash_frames_are_rejected_real_cuts_kept():
    shot_a, shot_b = _moving_pictures(1, 40), _moving_pictures(2, 40)
    white = np.full_like(shot_a[0], 255)
    one_flash = shot_a[:20] + [white] + shot_a[21:]
    assert _flash_verdicts(one_flash, {20: 20}) == []
    three_frames = shot_a[:20] + [white] * 3 + shot_a[23:]
    assert _flash_verdicts(three_frames, {20: 20}) == []
    black_frame = shot_a[:20] + [np.zeros_like(white)] + shot_a[21:]
    assert _flash_verdicts(black_frame, {35: 20}) == []  # reported late (merge filter): same verdict
    assert _flash_verdicts(shot_a[:20] + shot_b[20:], {20: 20}) == [20]
    assert _flash_verdicts(shot_a[:20] + shot_b[20:], {24: 20}) == [20]


def test_flash_verdict_waits_for_the_window_but_not_past_the_end():
    from analysis.detectors.cut_filters import FlashRejector

    shot_a, shot_b = _moving_pictures(1, 30), _moving_pictures(2, 30)
    frames = shot_a[:20] + shot_b[20:]
    rejector = FlashRejector(window=5, max_delay=15)
    seen = []
    for index, frame in enumerate(frames[:26]):
        if index == 20:
            rejector.propose(20)
        seen.append(rejector.push(index, frame))
    assert seen[20:25] == [[]] * 5 and seen[25] == [20]  # decided once its 5 frames passed
    rejector = FlashRejector(window=10, max_delay=15)
    for index, frame in enumerate(frames[:24]):  # the video ends 3 frames after the cut
        if index == 20:
            rejector.propose(20)
        assert rejector.push(index, frame) == []
    assert rejector.flush() == [20]


def test_flash_rejector_trusts_cuts_it_cannot_check():
    from analysis.detectors.cut_filters import FlashRejector

    rejector = FlashRejector(window=3, max_delay=2)
    frames = _moving_pictures(1, 12)
    for index, frame in enumerate(frames):
        rejector.push(index, frame)
    rejector.propose(0)  # no frame before the first one
    rejector.propose(2)  # its frame before is no longer held
    assert rejector.flush() == [0, 2]


def test_flash_rejector_never_compares_with_a_frame_it_no_longer_holds():
    """The frames are a ring: a cut whose frame before has just dropped out is trusted, not compared with
    whatever frame now sits in that slot (here one of the new shot, which would make it look like a flash)."""
    from analysis.detectors.cut_filters import FlashRejector

    rejector = FlashRejector(window=3, max_delay=2)  # holds the last 7 frames
    frames = _moving_pictures(1, 6) + _moving_pictures(2, 6)  # a cut at frame 6
    for index, frame in enumerate(frames):
        rejector.push(index, frame)
    rejector.propose(5)  # frame 4, the one before, left the ring with frame 11's arrival
    assert rejector.flush() == [5]
    rejector = FlashRejector(window=3, max_delay=2)
    for index, frame in enumerate(frames[:6]):
        rejector.push(index, frame)
    rejector.propose(7)  # reported past the last frame (a detector's end-of-stream report): kept, not a crash
    assert rejector.flush() == [7]


def test_flash_verdict_comes_on_time_late_in_a_long_video():
    """Frame numbers past 256 (where ``is`` stops behaving like ``==`` on ints) are decided when the window ends."""
    from analysis.detectors.cut_filters import FlashRejector

    frames = _moving_pictures(1, 300) + _moving_pictures(2, 10)
    rejector = FlashRejector(window=5, max_delay=15)
    seen = {}
    for index, frame in enumerate(frames):
        if index == 300:
            rejector.propose(300)
        seen[index] = rejector.push(index, frame)
    assert [i for i, cuts in seen.items() if cuts] == [305] and seen[305] == [300]


def _frames(n: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(3)
    base = rng.integers(0, 256, size=(48, 80, 3), dtype=np.uint8)
    frames = []
    for i in range(n):
        frame = np.clip(base.astype(int) + rng.integers(-20, 20, size=base.shape), 0, 255).astype(np.uint8)
        frames.append(255 - frame if i == n // 2 else frame)  # one hard change mid-way
    return frames


def test_fast_content_detector_scores_like_pyscenedetect():
    from scenedetect.common import FrameTimecode
    from scenedetect.detectors import ContentDetector

    from analysis.detectors.content import FastContentDetector

    ref, fast = ContentDetector(min_scene_len=2), FastContentDetector(min_scene_len=2)
    ref_cuts, fast_cuts = [], []
    for i, frame in enumerate(_frames()):
        tc = FrameTimecode(i, fps=25.0)
        ref_cuts += ref.process_frame(tc, frame)
        fast_cuts += fast.process_frame(tc, frame)
        assert fast._frame_score == pytest.approx(ref._frame_score, abs=1e-6)
    assert [c.frame_num for c in fast_cuts] == [c.frame_num for c in ref_cuts] == [6]


def test_fast_content_detector_keeps_edge_scoring_path():
    from scenedetect.common import FrameTimecode
    from scenedetect.detectors import ContentDetector

    from analysis.detectors.content import FastContentDetector

    weights = ContentDetector.Components(delta_edges=1.0)
    ref, fast = ContentDetector(weights=weights), FastContentDetector(weights=weights)
    for i, frame in enumerate(_frames(4)):
        ref.process_frame(FrameTimecode(i, fps=25.0), frame)
        fast.process_frame(FrameTimecode(i, fps=25.0), frame)
        assert fast._frame_score == pytest.approx(ref._frame_score)


@pytest.mark.parametrize("weights, fast_path", [
    ({}, True),  # the default: hue, saturation, luma at 1, no edges
    ({"delta_hue": 0.5, "delta_sat": 2.0, "delta_lum": 1.5}, True),  # weights other than 1 are applied, not ignored
    ({"delta_edges": 0.5}, False),  # edges: only the original code scores them
    ({"delta_edges": -0.5}, False),  # ... whatever the sign of their weight
    ({"stats": True}, False),  # a stats manager records per-metric values that only the original code writes
])
def test_fast_content_detector_uses_its_own_scoring_exactly_when_it_can(monkeypatch, weights, fast_path):
    """The point of the class is speed: on the default path it must not fall back to the per-plane scorer (which
    gives the same numbers, so comparing scores alone cannot tell), and its scores must still be PySceneDetect's."""
    from scenedetect.common import FrameTimecode
    from scenedetect.detectors import ContentDetector
    from scenedetect.stats_manager import StatsManager

    from analysis.detectors.content import FastContentDetector

    original, fallbacks = ContentDetector._calculate_frame_score, []

    def spy(self, timecode, frame):
        if isinstance(self, FastContentDetector):
            fallbacks.append(timecode)
        return original(self, timecode, frame)

    monkeypatch.setattr(ContentDetector, "_calculate_frame_score", spy)
    stats = weights.pop("stats", False)
    components = ContentDetector.Components(**{**ContentDetector.Components()._asdict(), **weights})
    ref, fast = ContentDetector(weights=components), FastContentDetector(weights=components)
    if stats:
        ref.stats_manager, fast.stats_manager = StatsManager(), StatsManager()
    for i, frame in enumerate(_frames(5)):
        ref.process_frame(FrameTimecode(i, fps=25.0), frame)
        fast.process_frame(FrameTimecode(i, fps=25.0), frame)
        assert fast._frame_score == pytest.approx(ref._frame_score, abs=1e-6)
        assert fast.last_score == fast._frame_score  # what IsolatedSpikeDetector reads
        if i == 0:
            assert fast.last_score == 0.0  # nothing to compare the first frame with
    assert len(fallbacks) == (0 if fast_path else 5)


def test_isolated_spike_detector_reports_lone_spikes_only():
    from analysis.detectors.cut_filters import IsolatedSpikeDetector

    def run(scores):
        detector = IsolatedSpikeDetector()
        return [cut for i, s in enumerate(scores) for cut in detector.push(i, s)]

    calm = [0.6] * 10
    assert run(calm + [26.8] + calm) == [10]  # hue-only hard cut under the 27 threshold
    assert run(calm + [14.0] + calm) == []  # too small to be a cut
    assert run(calm + [22.1, 20.7, 18.2] + calm) == []  # camera motion: several high frames
    assert run([3.0] * 10 + [16.4] + [3.0] * 10) == []  # only ~5x its neighbours
    assert run([26.8] + calm) == [0] and run(calm + [26.8, 0.6, 0.6, 0.6, 0.6]) == [10]


def test_isolated_spike_bounds_min_score_ratio_and_radius():
    """The tuned numbers by behaviour: a spike of exactly 15 (the minimum) at exactly 8x its neighbours is a cut;
    7.5x is not, nor 14.9; every neighbour within 4 frames on either side counts, also before an early spike."""
    from analysis.detectors.cut_filters import IsolatedSpikeDetector

    def run(scores):
        detector = IsolatedSpikeDetector()
        return [cut for i, s in enumerate(scores) for cut in detector.push(i, s)]

    assert run([1.875] * 10 + [15.0] + [1.875] * 10) == [10]  # 15 >= 8 * 1.875, and 15 >= 15
    assert run([2.0] * 10 + [15.0] + [2.0] * 10) == []  # 7.5x
    assert run([0.6] * 10 + [14.9] + [0.6] * 10) == []  # below the minimum score
    for at in (1, 2, 3, 4):  # a neighbour scoring 10 that far after the spike vetoes it
        assert run([0.6] * 10 + [26.8] + [0.6] * (at - 1) + [10.0] + [0.6] * 10) == []
        assert run([0.6] * (10 - at) + [10.0] + [0.6] * (at - 1) + [26.8] + [0.6] * 10) == []  # ... or before
    assert run([0.6] * 10 + [26.8] + [0.6] * 4 + [10.0] + [0.6] * 10) == [10]  # 5 frames away: too far to count
    assert run([10.0, 0.6, 26.8] + [0.6] * 10) == []  # the spike's early neighbour counts too
    assert run([0.6, 0.6, 26.8] + [0.6] * 10) == [2]


def test_a_cut_at_zero_or_repeated_makes_no_empty_shot_even_without_a_minimum() -> None:
    """The docstring's promise (cuts outside (0, duration) are ignored) holds with min_shot=0 too: a detector
    reporting a cut at frame 0, or the same cut twice, must not give a shot of no length."""
    assert cuts_to_shots([0.0, 5.0, 5.0], 10.0, min_shot=0.0) == [Shot(0, 0.0, 5.0), Shot(1, 5.0, 10.0)]
    assert cuts_to_shots([-1.0, 0.0], 10.0, min_shot=0.0, min_edge_shot=0.0) == [Shot(0, 0.0, 10.0)]

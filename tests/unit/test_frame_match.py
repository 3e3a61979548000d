"""Which moment an example image copies: reported only when it stands out."""
from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from analysis.fingerprints import FingerprintTrack, fingerprint
from apps.search.frame_match import STILL_STRETCH_MAX_S, best_copy_match, best_frame_match


def picture(seed: int, size: tuple[int, int] = (64, 96)) -> np.ndarray:
    """A smooth random picture (coarse random grey levels, upscaled), like footage at thumbnail size."""
    coarse = (np.random.default_rng(seed).random((6, 9)) * 255).astype(np.float32)
    return np.clip(cv2.resize(coarse, (size[1], size[0]), interpolation=cv2.INTER_CUBIC), 0, 255).astype(np.uint8)


def track(frames: list[np.ndarray], step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    t = FingerprintTrack(per_second=1 / step)
    for i, frame in enumerate(frames):
        t.offer(i * step, frame)
    return np.asarray(t.times, np.float32), np.stack(t.prints).astype(np.float32)


def test_a_copy_of_one_moment_is_found_with_its_time():
    frames = [picture(i) for i in range(20)]
    tracks = {7: track(frames), 8: track([picture(100 + i) for i in range(20)])}
    noisy = np.clip(frames[13].astype(int) + np.random.default_rng(1).integers(-6, 7, frames[13].shape), 0, 255)
    match = best_frame_match(fingerprint(noisy.astype(np.uint8)), tracks)
    assert match is not None and match.video_id == 7 and abs(match.time - 13 * 0.25) < 1e-6 and match.similarity > 0.9
    assert match.one_moment and match.start <= match.time <= match.end and match.end - match.start <= 2.0
    assert match.margin == 0.125  # half the sampling step


def test_a_still_scene_gives_its_whole_stretch_not_a_moment():
    still = picture(3)
    moving = [picture(i) for i in range(40, 52)]
    tracks = {1: track(moving[:6] + [still] * 20 + moving[6:])}  # every moment of 1.5-6.5 s alike
    match = best_frame_match(fingerprint(still), tracks)
    assert match is not None and match.video_id == 1 and not match.one_moment
    assert (match.start, match.end) == (1.5, 6.25) and match.start <= match.time <= match.end


def test_a_fixed_camera_alike_for_longer_than_the_cap_gives_no_stretch():
    # A motorway camera: at fingerprint size every second looks the same. One clip over the whole
    # recording would hide the moments the semantic ranking tells apart, so there is no answer.
    still = picture(3)
    seconds = int(STILL_STRETCH_MAX_S) + 2
    tracks = {1: track([picture(50)] * 4 + [still] * (4 * seconds))}
    assert best_frame_match(fingerprint(still), tracks) is None
    shorter = {1: track([picture(50)] * 4 + [still] * (4 * (seconds - 3)))}
    match = best_frame_match(fingerprint(still), shorter)
    assert match is not None and not match.one_moment and match.end - match.start <= STILL_STRETCH_MAX_S


def test_a_picture_recurring_in_separate_places_gives_no_match():
    still = picture(3)
    frames = [still] * 6 + [picture(i) for i in range(60, 72)] + [still] * 6  # the same shot twice, 3 s apart
    assert best_frame_match(fingerprint(still), {1: track(frames)}) is None


def test_a_still_picture_found_in_two_videos_gives_no_match():
    still = picture(3)
    tracks = {1: track([still] * 12), 2: track([picture(9)] * 4 + [still] * 12)}
    assert best_frame_match(fingerprint(still), tracks) is None


def test_an_unrelated_or_flat_image_gives_no_match():
    tracks = {1: track([picture(i) for i in range(10)])}
    assert best_frame_match(fingerprint(picture(999)), tracks) is None
    assert best_frame_match(fingerprint(np.full((64, 96), 128, np.uint8)), tracks) is None
    assert best_frame_match(fingerprint(picture(1)), {}) is None


def test_fingerprints_ignore_brightness_and_size():
    frame = picture(5, (128, 192))
    brighter = np.clip(frame.astype(int) * 0.8 + 30, 0, 255).astype(np.uint8)
    half = frame[::2, ::2]
    assert float(fingerprint(frame) @ fingerprint(brighter)) > 0.99
    assert float(fingerprint(frame) @ fingerprint(half)) > 0.95


def _moving(first: int, n: int) -> list[np.ndarray]:
    return [picture(first + i) for i in range(n)]


def test_the_same_picture_within_a_second_is_one_moment() -> None:
    """A copy at 3.0 s seen again at 3.75 s (other frames between) is one moment; 1.5 s apart it cannot say which
    second it copies (a stretch, as for a still shot)."""
    still = picture(3)
    near = _moving(200, 12) + [still] + _moving(300, 2) + [still] + _moving(400, 12)  # at 3.0 s and 3.75 s
    match = best_frame_match(fingerprint(still), {1: track(near)})
    assert match is not None and match.one_moment and (match.start, match.end) == (3.0, 3.75)
    far = _moving(200, 12) + [still] + _moving(300, 5) + [still] + _moving(400, 12)  # at 3.0 s and 4.5 s
    match = best_frame_match(fingerprint(still), {1: track(far)})
    assert match is not None and not match.one_moment and (match.start, match.end) == (3.0, 4.5)


def test_a_still_stretch_bridges_gaps_up_to_a_second_only() -> None:
    still = picture(3)
    bridged = [still] * 9 + _moving(200, 3) + [still] * 9  # 0-2 s, 0.75 s of other frames, 3-5 s
    match = best_frame_match(fingerprint(still), {1: track(bridged)})
    assert match is not None and not match.one_moment and (match.start, match.end) == (0.0, 5.0)
    broken = [still] * 9 + _moving(200, 6) + [still] * 9  # a 1.5 s gap: two separate places
    assert best_frame_match(fingerprint(still), {1: track(broken)}) is None


@pytest.mark.parametrize(("samples", "found"), [(39, True), (41, True), (43, False)])
def test_a_still_stretch_of_up_to_ten_seconds_is_an_answer(samples: int, found: bool) -> None:
    """9.5 s and exactly 10 s of one picture are a stretch; 10.5 s is a fixed camera, no answer."""
    still = picture(3)
    match = best_frame_match(fingerprint(still), {1: track(_moving(200, 4) + [still] * samples)})
    assert (match is not None) == found
    if found:
        assert (match.start, match.end) == (1.0, 1.0 + (samples - 1) * 0.25)


def test_similarity_is_never_reported_above_one() -> None:
    """Stored fingerprints are float16: a copy can score a hair over 1, which is reported as 1."""
    query = fingerprint(picture(3))
    times = np.arange(8, dtype=np.float32) * 0.25
    prints = np.stack([fingerprint(picture(50 + i)) for i in range(8)])
    prints[4] = query * 1.0005
    match = best_frame_match(query, {1: (times, prints)})
    assert match is not None and match.time == 1.0 and match.similarity == 1.0
    assert (match.start, match.end) == (1.0, 1.0)  # the unrelated frames are not taken as alike


def _at_similarity(query: np.ndarray, similarity: float, seed: int) -> np.ndarray:
    """A unit vector whose cosine with the unit vector ``query`` is exactly ``similarity``."""
    other = np.random.default_rng(seed).standard_normal(query.shape).astype(np.float64)
    other -= (other @ query) * query
    other /= np.linalg.norm(other)
    return (similarity * query + np.sqrt(1 - similarity**2) * other).astype(np.float32)


def _tracks_with(query: np.ndarray, best: float, rival: float) -> dict:
    """Video 1 holds a frame at ``best`` similarity (at 1.0 s), video 2 one at ``rival``; the rest unrelated."""
    times = np.arange(8, dtype=np.float32) * 0.25
    tracks = {}
    for video, sim in ((1, best), (2, rival)):
        prints = np.stack([fingerprint(picture(100 * video + i)) for i in range(8)])
        prints[4] = _at_similarity(query, sim, seed=video)
        tracks[video] = (times, prints)
    return tracks


def test_a_rival_elsewhere_must_be_three_times_as_far_as_the_best() -> None:
    """Best distance 0.05 (similarity 0.95): a rival in another video at distance 0.18 (3.6x) leaves the best
    decisive; at 0.14 (2.8x) it is as good a candidate and nothing is reported."""
    query = fingerprint(picture(3))
    match = best_frame_match(query, _tracks_with(query, 0.95, 0.82))
    assert match is not None and match.video_id == 1 and match.time == 1.0
    assert best_frame_match(query, _tracks_with(query, 0.95, 0.86)) is None


def test_float16_noise_between_copies_of_one_picture_does_not_split_them() -> None:
    """An exact copy (distance 0) and a float16-rounded one (distance 3e-4) at the next sample are alike: the
    distances under 5e-4 are noise, not a difference."""
    query = fingerprint(picture(3))
    times = np.arange(12, dtype=np.float32) * 0.25
    prints = np.stack([fingerprint(picture(100 + i)) for i in range(12)])
    prints[4], prints[5] = query, _at_similarity(query, 1 - 3e-4, seed=5)
    match = best_frame_match(query, {1: (times, prints)})
    assert match is not None and match.one_moment and (match.time, match.start, match.end) == (1.0, 1.0, 1.25)


def test_a_video_of_one_fingerprint_has_no_margin_and_matches_are_immutable() -> None:
    query = fingerprint(picture(3))
    match = best_frame_match(query, {1: (np.asarray([2.0], np.float32), query[None, :])})
    assert match is not None and (match.time, match.start, match.end, match.margin) == (2.0, 2.0, 2.0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        match.time = 0.0


def test_exactly_three_times_the_best_distance_is_far_enough() -> None:
    """Scores chosen exact in binary: best 0.9375 (distance 1/16), another frame at 0.8125 (3/16, exactly three
    times as far). Only a frame *closer* than three times counts as alike or as a rival."""
    query = np.zeros(256, np.float32)
    query[0] = 1.0
    times = np.arange(8, dtype=np.float32) * 0.25
    prints = np.zeros((8, 256), np.float32)
    prints[:, 1] = 1.0  # sim 0 with the query
    prints[4, 0], prints[5, 0] = 0.9375, 0.8125
    match = best_frame_match(query, {1: (times, prints)})
    assert match is not None and (match.time, match.start, match.end) == (1.0, 1.0, 1.0)
    rival = np.zeros((8, 256), np.float32)
    rival[2, 0] = 0.8125
    match = best_frame_match(query, {1: (times, prints), 2: (times, rival)})
    assert match is not None and match.video_id == 1


def test_a_whole_frame_copy_is_answered_by_the_whole_frame_comparison() -> None:
    """A noisy grab of a whole frame: best_copy_match gives exactly the whole-frame answer (its similarity is the
    fingerprint cosine), not the crop search's; a picture found in two places stays unanswered."""
    frames = [picture(i) for i in range(20)]
    tracks = {7: track(frames), 8: track([picture(100 + i) for i in range(20)])}
    noisy = np.clip(frames[13].astype(int) + np.random.default_rng(1).integers(-6, 7, frames[13].shape), 0, 255)
    grab = noisy.astype(np.uint8)
    whole = best_frame_match(fingerprint(grab), tracks)
    assert whole is not None and whole.one_moment and whole.time == 13 * 0.25
    assert best_copy_match(grab, tracks) == whole
    still = picture(3)
    twice = {1: track([still] * 6 + [picture(i) for i in range(60, 72)] + [still] * 6)}
    assert best_copy_match(still, twice) is None


def _e0(dim: int = 256) -> np.ndarray:
    query = np.zeros(dim, np.float32)
    query[0] = 1.0
    return query


def _scored_track(sims: list[float], start: float = 0.0, dtype: type = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """A track sampled every 0.25 s from ``start`` whose i-th print has cosine ``sims[i]`` with :func:`_e0`."""
    s = np.asarray(sims, np.float64)
    prints = np.zeros((len(s), 256), np.float64)
    prints[:, 0], prints[:, 1] = s, np.sqrt(np.clip(1 - s**2, 0, None))
    return (start + np.arange(len(s)) * 0.25).astype(np.float32), prints.astype(dtype)


def _sims_at(n: int, values: dict[float, float]) -> list[float]:
    """``n`` samples 0.25 s apart, unrelated (0) except at the given times."""
    sims = [0.0] * n
    for time, sim in values.items():
        sims[round(time / 0.25)] = sim
    return sims


def test_the_video_with_the_closest_frame_wins_not_the_one_with_the_latest_times() -> None:
    query = _e0()
    tracks = {1: _scored_track(_sims_at(8, {1.0: 0.99})), 2: _scored_track([0.0] * 8, start=10.0)}
    match = best_frame_match(query, tracks)
    assert match is not None and (match.video_id, match.time) == (1, 1.0)


def test_a_similarity_of_exactly_the_minimum_counts_as_a_copy() -> None:
    """0.9 is exact in float64 (e0 . (0.9, ...) == 0.9): from 0.9 on a frame is a copy; just under, nothing is."""
    query = _e0().astype(np.float64)
    match = best_frame_match(query, {1: _scored_track(_sims_at(8, {1.0: 0.9}), dtype=np.float64)})
    assert match is not None and match.time == 1.0 and match.similarity == 0.9
    assert best_frame_match(query, {1: _scored_track(_sims_at(8, {1.0: 0.8999}), dtype=np.float64)}) is None


def test_the_same_picture_in_two_videos_scoring_over_one_gives_no_match() -> None:
    """float16 noise lifts both copies a hair over 1 (distance below 0): they are as good as each other, whichever
    video (here the later id) holds the slightly higher one."""
    query = _e0()
    tracks = {1: _scored_track(_sims_at(8, {0.5: 1.0003})), 2: _scored_track(_sims_at(8, {1.0: 1.0005}))}
    assert best_frame_match(query, tracks) is None
    assert best_frame_match(query, {2: tracks[2]}) is not None


def test_a_copy_exactly_a_second_away_is_the_same_moment() -> None:
    still = picture(3)
    frames = _moving(200, 12) + [still] + _moving(300, 3) + [still] + _moving(400, 12)  # at 3.0 s and 4.0 s
    match = best_frame_match(fingerprint(still), {1: track(frames)})
    assert match is not None and match.one_moment and (match.start, match.end) == (3.0, 4.0)


@pytest.mark.parametrize("gap_s, found", [(2.0, True), (2.25, False)])
def test_two_copies_are_one_stretch_only_up_to_a_second_beyond_the_neighbourhood(gap_s: float, found: bool) -> None:
    """Copies at 3.0 s and 3.0 + gap: the second is over a second from the best one's neighbourhood (1 s) at 2.25 s
    apart, so they are two places; 2 s apart they are one stretch."""
    still = picture(3)
    between = round(gap_s / 0.25) - 1
    frames = _moving(200, 12) + [still] + _moving(300, between) + [still] + _moving(400, 12)
    match = best_frame_match(fingerprint(still), {1: track(frames)})
    assert (match is not None) == found
    if found:
        assert not match.one_moment and (match.start, match.end) == (3.0, 3.0 + gap_s)


@pytest.mark.parametrize("best", [4.0, 6.0])
def test_a_stretch_reaching_out_on_both_sides_of_its_best_frame_is_one_answer(best: float) -> None:
    """Frames alike (0.99) from 1.5 to 6.5 s, the best (0.995) inside: the stretch around it is the answer, reached
    from the neighbourhood's edge on either side, wherever the best frame lies in it."""
    values = {1.5 + 0.25 * i: 0.99 for i in range(21)} | {best: 0.995}
    match = best_frame_match(_e0(), {1: _scored_track(_sims_at(40, values))})
    assert match is not None and not match.one_moment
    assert (match.time, match.start, match.end) == (best, 1.5, 6.5)


def test_a_picture_recurring_earlier_than_its_best_copy_gives_no_match() -> None:
    """Alike at 0-1.25 s and at 4.5-5.75 s, the best copy in the later place: two places, whichever holds the best."""
    values = {0.25 * i: 0.99 for i in range(6)} | {4.5 + 0.25 * i: 0.99 for i in range(6)} | {5.0: 0.995}
    assert best_frame_match(_e0(), {1: _scored_track(_sims_at(40, values))}) is None


def test_a_video_of_two_fingerprints_has_half_their_step_as_margin() -> None:
    match = best_frame_match(_e0(), {1: (np.asarray([2.0, 2.5], np.float32), _scored_track([0.99, 0.0])[1])})
    assert match is not None and (match.time, match.margin) == (2.0, 0.25)

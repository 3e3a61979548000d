"""group_hits: every separate matching moment of a video is its own clip; adjacent close hits merge."""
from __future__ import annotations

import itertools
import random

import pytest

from apps.search.grouping import Clip, KeyframeSpan, group_hits, thresholds


def seg(kf: int, start: float, end: float, video: int = 1, shot: int = 0) -> KeyframeSpan:
    return KeyframeSpan(kf, video, shot, (start + end) / 2, start, end)


# Background hits in another video so the query's score distribution has a median of 0.5.
BACKGROUND = [(seg(900 + i, 100.0 * i, 100.0 * i + 2, video=99), 0.5) for i in range(5)]


def spans(clips: list[Clip]) -> list[tuple[int, float, float]]:
    return [(c.video_id, c.start, c.end) for c in clips]


def test_empty() -> None:
    assert group_hits([]) == []


def test_single_hit_is_its_segment() -> None:
    (clip,) = group_hits([(seg(7, 3.0, 5.5, video=2), 0.31)])
    assert clip == Clip(2, 3.0, 5.5, 4.25, 0.31, 7, [7])


def test_adjacent_close_scores_merge_into_one_clip_with_outer_edges() -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2, 5), 0.88), (seg(3, 5, 7), 0.86), *BACKGROUND]
    clip = group_hits(hits)[0]
    assert (clip.start, clip.end) == (0, 7)
    assert clip.keyframe_ids == [1, 2, 3]
    assert (clip.best_keyframe_id, clip.best_time, clip.score) == (1, 1.0, 0.90)
    assert [c.video_id for c in group_hits(hits)].count(1) == 1


def test_best_keyframe_in_the_middle_grows_both_ways() -> None:
    hits = [(seg(1, 0, 2), 0.85), (seg(2, 2, 5), 0.90), (seg(3, 5, 7), 0.86), *BACKGROUND]
    clip = group_hits(hits)[0]
    assert (clip.start, clip.end, clip.best_keyframe_id, clip.best_time) == (0, 7, 2, 3.5)


def test_far_lower_neighbour_does_not_merge_and_is_suppressed() -> None:
    # spread = 0.9 - 0.5, tolerance 0.2: 0.6 is too far below 0.9 to merge.
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2, 5), 0.60), *BACKGROUND]
    clips = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(clips) == [(1, 0, 2)]
    assert clips[0].keyframe_ids == [1]


def test_neighbours_are_compared_with_the_clip_best_not_each_other() -> None:
    # A slow decline: each step is small, but only 0.8 is within 0.2 (= 0.5 * (0.9 - 0.5)) of 0.9.
    hits = [(seg(i, 2 * i, 2 * i + 2), s) for i, s in enumerate([0.9, 0.8, 0.65, 0.6])]
    clips = [c for c in group_hits([*hits, *BACKGROUND]) if c.video_id == 1]
    assert spans(clips) == [(1, 0, 4)]
    assert clips[0].keyframe_ids == [0, 1]


def test_non_touching_segments_do_not_merge() -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2.01, 4), 0.90), *BACKGROUND]
    clips = [c for c in group_hits(hits, min_separation=0) if c.video_id == 1]
    assert spans(clips) == [(1, 0, 2), (1, 2.01, 4)]


def test_touch_tolerance_absorbs_rounding() -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2.0004, 4), 0.90), *BACKGROUND]
    clips = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(clips) == [(1, 0, 4)]


@pytest.mark.parametrize(
    ("gap", "expected"),
    [(0.5, [(1, 0, 2)]), (0.8, [(1, 0, 2)]), (1.0, [(1, 0, 2), (1, 3.0, 4.5)]), (1.5, [(1, 0, 2), (1, 3.5, 5)]),
     (0.0, [(1, 0, 2)])],
)
def test_lower_clip_near_a_better_one_is_suppressed(gap: float, expected: list) -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2 + gap, 3.5 + gap), 0.55), *BACKGROUND]
    got = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(got) == expected


def test_no_ten_near_identical_hits_in_a_row() -> None:
    # Ten half-second segments, alternating high/low scores (too far apart to merge):
    # the high ones are 0.5 s apart, so one clip for the stretch, not five.
    hits = [(seg(i, i / 2, (i + 1) / 2), 0.9 if i % 2 == 0 else 0.55) for i in range(10)]
    clips = [c for c in group_hits([*hits, *BACKGROUND]) if c.video_id == 1]
    assert spans(clips) == [(1, 0, 0.5)]
    assert clips[0].score == 0.9


def test_same_times_in_different_videos_stay_separate() -> None:
    hits = [(seg(1, 0, 2, video=1), 0.9), (seg(2, 0, 2, video=2), 0.8), (seg(3, 2, 4, video=2), 0.8)]
    clips = group_hits(hits)
    assert spans(clips) == [(1, 0, 2), (2, 0, 4)]


def test_identical_scores_merge_and_order_deterministically() -> None:
    hits = [
        (seg(5, 0, 1, video=3), 0.4),
        (seg(6, 1, 2, video=3), 0.4),
        (seg(1, 10, 11, video=2), 0.4),
        (seg(2, 0, 1, video=2), 0.4),
    ]
    clips = group_hits(hits)
    assert spans(clips) == [(2, 0, 1), (2, 10, 11), (3, 0, 2)]
    assert clips[2].best_keyframe_id == 5  # earliest of equal keyframes


def test_input_order_does_not_matter() -> None:
    hits = [
        (seg(1, 0, 2), 0.90),
        (seg(2, 2, 5), 0.88),
        (seg(3, 5, 7), 0.60),
        (seg(4, 20, 22), 0.70),
        (seg(5, 0, 3, video=2), 0.88),
        (seg(6, 3, 4, video=2), 0.88),
        *BACKGROUND,
    ]
    expected = group_hits(hits)
    rng = random.Random(0)
    for _ in range(20):
        shuffled = hits[:]
        rng.shuffle(shuffled)
        assert group_hits(shuffled) == expected


def test_sorted_by_score_across_videos() -> None:
    hits = [(seg(i, 0, 1, video=i), s) for i, s in enumerate([0.2, 0.9, 0.5, 0.7])]
    assert [c.score for c in group_hits(hits)] == [0.9, 0.7, 0.5, 0.2]


def test_invariant_to_score_scale_and_offset() -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2, 5), 0.80), (seg(3, 5, 6), 0.60), *BACKGROUND]
    base = [(c.video_id, c.start, c.end, c.keyframe_ids) for c in group_hits(hits)]
    for a, b in itertools.product([0.01, 40.0], [-3.0, 0.0, 7.0]):
        scaled = [(s, a * x + b) for s, x in hits]
        got = [(c.video_id, c.start, c.end, c.keyframe_ids) for c in group_hits(scaled)]
        assert got == base


@pytest.mark.parametrize("first, second", [(0.3, 0.8), (0.8, 0.3)])
def test_duplicate_keyframe_keeps_its_best_score(first: float, second: float) -> None:
    """Whichever order the two hits of one keyframe come in (the later one is not simply taken)."""
    hits = [(seg(1, 0, 2), first), (seg(1, 0, 2), second)]
    (clip,) = group_hits(hits)
    assert clip.score == 0.8 and clip.keyframe_ids == [1]


def test_alpha_zero_merges_only_equal_scores_and_limit() -> None:
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2, 4), 0.80), (seg(3, 10, 12), 0.5), *BACKGROUND]
    assert spans(group_hits(hits, alpha=0))[:2] == [(1, 0, 2), (1, 10, 12)]
    assert spans(group_hits(hits, alpha=1))[:2] == [(1, 0, 4), (1, 10, 12)]
    assert len(group_hits(hits, limit=1)) == 1


def test_thresholds() -> None:
    bars = thresholds([0.9, 0.5, 0.5, 0.1], alpha=0.5, match_fraction=0.3, cross_shot_alpha=0.15)
    assert bars.within_shot == pytest.approx(0.2)
    assert bars.match == pytest.approx(0.62) and bars.across_cut == pytest.approx(0.06)
    assert thresholds([0.3]).within_shot == 0.0 and thresholds([0.3]).match == 0.3


def test_later_better_clip_wins_its_stretch() -> None:
    hits = [(seg(1, 0, 2), 0.55), (seg(2, 2.5, 4), 0.90), (seg(3, 30, 32), 0.6), *BACKGROUND]
    got = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(got) == [(1, 2.5, 4), (1, 30, 32)]


def test_a_neighbouring_shot_joins_only_when_it_matches_about_as_well():
    from apps.search.grouping import KeyframeSpan, group_hits

    def seg(k, shot, start, end):
        return KeyframeSpan(keyframe_id=k, video_id=1, shot_index=shot, time=(start + end) / 2, start=start, end=end)

    background = [(KeyframeSpan(100 + i, 2, 0, 100.0 + 3 * i, 101.0 + 3 * i, 102.0 + 3 * i), 0.1) for i in range(5)]
    same_shot = [(seg(1, 0, 0.0, 3.0), 0.9), (seg(2, 0, 3.0, 6.0), 0.65)]
    next_shot = [(seg(3, 1, 6.0, 9.0), 0.65)]
    clip = group_hits(same_shot + next_shot + background)[0]
    assert (clip.start, clip.end) == (0.0, 6.0)  # 0.65 joins within the shot, not across the cut
    strong_next = [(seg(3, 1, 6.0, 9.0), 0.85)]
    clip = group_hits(same_shot + strong_next + background)[0]
    assert (clip.start, clip.end) == (0.0, 9.0)


# --- Moments, not videos -------------------------------------------------------------------------


def _video(scores: list[float], length: float = 2.0, shots: list[int] | None = None) -> list:
    """One video cut into equal segments with these scores (one shot each unless ``shots`` says)."""
    shots = shots or list(range(len(scores)))
    return [(KeyframeSpan(i, 1, shots[i], i * length + length / 2, i * length, (i + 1) * length), s)
            for i, s in enumerate(scores)]


def test_a_scene_that_recurs_in_separate_shots_gives_one_clip_per_occurrence() -> None:
    # The car passes three times; other shots in between. Every segment of the video is a hit
    # (a trailer's keyframes all make the candidate list), and all segments touch.
    scores = [0.3, 0.85, 0.2, 0.25, 0.8, 0.3, 0.2, 0.35, 0.7, 0.3]
    clips = group_hits(_video(scores))
    matched = [(c.start, c.end) for c in clips if c.matched]
    assert matched == [(2, 4), (8, 10), (16, 18)]
    assert [(c.start, c.end) for c in clips[:3]] == [(2, 4), (8, 10), (16, 18)]
    assert not any(c.matched for c in clips[3:])


def test_a_match_never_grows_into_footage_that_does_not_match() -> None:
    # A 79 s one-shot camera recording: one event at 40-44 s, the rest background noise.
    rng = random.Random(3)
    scores = [0.6 + rng.uniform(-0.03, 0.03) for _ in range(40)]
    scores[20], scores[21] = 0.9, 0.88
    clips = group_hits(_video(scores, shots=[0] * 40))
    first = clips[0]
    assert (first.start, first.end, first.matched) == (40, 44, True)
    assert [c for c in clips if c.matched] == [first]
    # The rest is returned (nothing hidden) but never overlaps the event, and ranks below it.
    assert all(c.end <= 40 - 1.0 or c.start >= 44 + 1.0 for c in clips[1:])
    assert all(c.score < first.score for c in clips[1:])


def test_segments_below_the_match_bar_separate_moments_even_when_close_to_the_seed() -> None:
    # median 0.5, spread 0.4: with alpha 1 the seed 0.9 would take neighbours down to 0.5, but 0.6
    # is under the match bar (0.62): it splits the shot into two moments.
    hits = [*_video([0.9, 0.6, 0.88], shots=[0, 0, 0]), *BACKGROUND]
    assert [(c.start, c.end) for c in group_hits(hits, alpha=1.0) if c.matched] == [(0, 2), (4, 6)]


@pytest.mark.parametrize(("fraction", "expected"), [(0.3, [(0, 4)]), (0.7, [(0, 2)])])
def test_match_fraction_sets_the_bar(fraction: float, expected: list) -> None:
    # median 0.5, spread 0.4: the bar is 0.62 at 0.3 and 0.78 at 0.7; 0.75 joins only under the first.
    hits = [*_video([0.9, 0.75], shots=[0, 0]), *BACKGROUND]
    got = [(c.start, c.end) for c in group_hits(hits, match_fraction=fraction, alpha=1.0) if c.matched]
    assert got == expected


# The tuned rules pinned by behaviour: each case below changes its answer when the median becomes a
# mean, the merge tolerance or the 1 s separation moves, or the separation test takes equality.


def test_thresholds_are_measured_from_the_median_not_the_mean() -> None:
    # Median 0, best 1: spread 1. From the mean (0.25) the match bar would be 0.475.
    bars = thresholds([0.0, 0.0, 0.0, 1.0])
    assert bars.match == pytest.approx(0.3)
    assert bars.within_shot == pytest.approx(0.5)
    assert bars.across_cut == pytest.approx(0.15)


def test_a_hit_above_the_median_bar_but_below_a_mean_bar_matches() -> None:
    # Scores 1.0, 0.4, 0, 0, 0: median 0, bar 0.3, so 0.4 matches (a mean of 0.28 would put it at 0.496).
    hits = [(seg(1, 0, 2, video=1), 1.0), (seg(2, 0, 2, video=2), 0.4),
            *[(seg(10 + i, 0, 2, video=10 + i), 0.0) for i in range(3)]]
    assert [(c.video_id, c.matched) for c in group_hits(hits)] == [
        (1, True), (2, True), (10, False), (11, False), (12, False)]


@pytest.mark.parametrize(("second", "expected"), [
    (0.69, ((0, 2), [1])),  # 0.21 below the seed: beyond 0.5 * spread (0.2), its own clip, suppressed
    (0.71, ((0, 4), [1, 2])),  # 0.19 below: within 0.5 * spread, merges
])
def test_merge_tolerance_is_half_the_spread(second: float, expected: tuple) -> None:
    # Median 0.5 (BACKGROUND), best 0.9: spread 0.4; both scores match (bar 0.62).
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2, 4), second), *BACKGROUND]
    clips = [c for c in group_hits(hits) if c.video_id == 1]
    assert [((c.start, c.end), c.keyframe_ids) for c in clips] == [expected]


@pytest.mark.parametrize(("gap", "expected"), [
    (0.5, [(1, 0, 2)]),
    (0.9, [(1, 0, 2)]),  # under 1 s apart: one moment, its best clip only
    (1.0, [(1, 0, 2), (1, 3.0, 4.5)]),  # exactly 1 s apart: two moments
    (1.2, [(1, 0, 2), (1, 3.2, 4.7)]),
])
def test_matching_clips_under_a_second_apart_are_one_moment(gap: float, expected: list) -> None:
    # Both clips match (bar 0.62) and do not touch, so they never merge; only suppression can join them.
    hits = [(seg(1, 0, 2), 0.90), (seg(2, 2 + gap, 3.5 + gap), 0.80), *BACKGROUND]
    got = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(got) == expected
    assert all(c.matched for c in got)


def test_a_clip_grows_back_over_several_segments_but_not_back_across_a_cut() -> None:
    rising = [(seg(i, 2 * i, 2 * i + 2), s) for i, s in enumerate([0.86, 0.87, 0.88, 0.9])]
    assert spans([c for c in group_hits([*rising, *BACKGROUND]) if c.video_id == 1]) == [(1, 0, 8)]
    # spread 0.4: within a shot 0.2 below the seed joins, across a cut only 0.06; the earlier shot scores 0.1 below
    cut = [(seg(1, 0, 2, shot=0), 0.8), (seg(2, 2, 4, shot=1), 0.9)]
    assert spans([c for c in group_hits([*cut, *BACKGROUND]) if c.video_id == 1]) == [(1, 2, 4)]


def test_a_later_clip_joins_the_moment_just_before_it_not_an_earlier_one() -> None:
    hits = [(seg(1, 0, 1), 0.8), (seg(2, 10, 11), 0.7), (seg(3, 11.5, 12.5), 0.9), *BACKGROUND]
    assert spans([c for c in group_hits(hits) if c.video_id == 1]) == [(1, 11.5, 12.5), (1, 0, 1)]


def test_a_non_match_ending_exactly_a_second_before_a_match_is_shown() -> None:
    hits = [(seg(1, 5, 6), 0.9), (seg(2, 2, 4), 0.55), (seg(3, 0, 1), 0.55), *BACKGROUND]
    clips = [c for c in group_hits(hits) if c.video_id == 1]
    assert spans(clips) == [(1, 5, 6), (1, 0, 1), (1, 2, 4)] and [c.matched for c in clips] == [True, False, False]


def test_thresholds_are_values() -> None:
    """A query's bars are computed once and shared by every clip of the answer: nothing may change them after."""
    import dataclasses

    bars = thresholds([0.1, 0.5, 0.9])
    with pytest.raises(dataclasses.FrozenInstanceError):
        bars.match = 0.0  # type: ignore[misc]


def test_a_gap_of_exactly_the_touch_tolerance_still_touches() -> None:
    """Touching is inclusive: two matching segments exactly ``touch_tolerance`` apart are one clip."""
    hits = [(seg(1, 0.0, 1.0), 0.90), (seg(2, 1.5, 2.5), 0.88), *BACKGROUND]
    assert spans(group_hits(hits, touch_tolerance=0.5))[0] == (1, 0.0, 2.5)
    assert spans(group_hits(hits, touch_tolerance=0.25))[0] == (1, 0.0, 1.0)  # apart: the better clip stands


def test_segments_of_one_shot_merge_whatever_the_shot_number() -> None:
    """Shot numbers are compared by value: in a long video (shot 1000, read from the database as separate int
    objects) a neighbour in the same shot gets the within-shot tolerance, not the stricter across-cut one."""
    a, b = int("1000"), int("1000")  # equal values, distinct objects, as two database rows give them
    hits = [(seg(1, 0.0, 1.0, shot=a), 0.90), (seg(2, 1.0, 2.0, shot=b), 0.80), *BACKGROUND]
    # bars: median 0.5, spread 0.4; within-shot floor 0.9 - 0.2 = 0.7 admits 0.8, across-cut 0.84 would not
    assert spans(group_hits(hits))[0] == (1, 0.0, 2.0)
    assert spans(group_hits([(seg(1, 0.0, 1.0, shot=1), 0.90), (seg(2, 1.0, 2.0, shot=2), 0.80), *BACKGROUND])
                 )[0] == (1, 0.0, 1.0)


def test_a_clip_grows_back_from_a_seed_late_in_its_video() -> None:
    """Growing backwards judges the segment just before the clip, not the video's first one: a weak opening
    segment far away must not stop the best segment (the third) from taking in its strong neighbour."""
    hits = [(seg(1, 0.0, 1.0), 0.30), (seg(2, 4.0, 5.0), 0.85), (seg(3, 5.0, 6.0), 0.90), *BACKGROUND]
    assert spans(group_hits(hits))[0] == (1, 4.0, 6.0)


def test_a_run_of_three_hundred_touching_segments_is_one_clip() -> None:
    """Long runs (over 256 segments: past CPython's small-int cache) grow to the video's last segment."""
    hits = [(seg(i, float(i), float(i + 1)), 0.9) for i in range(300)]
    (clip,) = group_hits(hits)
    assert (clip.start, clip.end, len(clip.keyframe_ids)) == (0.0, 300.0, 300)

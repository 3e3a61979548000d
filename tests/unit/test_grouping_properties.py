"""group_hits on random hit lists (hypothesis): the invariants every answer must keep, whatever the scores.

The example tests in test_grouping.py pin the tuned rules on hand-made inputs; these check what must hold for any
input: each keyframe in one clip at most, a clip's score is its best member's, clips cover touching segments of one
video, matching moments of a video stay ``min_separation`` apart, the order is by score and does not depend on the
order of the hits.
"""
from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from apps.search.grouping import Clip, KeyframeSpan, group_hits

#: Scores on a coarse grid, so ties (and equal-score merges) are common.
SCORES = st.integers(min_value=0, max_value=20).map(lambda n: n / 20)


@st.composite
def hit_lists(draw) -> list[tuple[KeyframeSpan, float]]:
    """One to three videos, each partitioned into touching segments (some gaps), over one or more shots."""
    hits = []
    kf = 0
    for video in range(draw(st.integers(1, 3))):
        t, shot = 0.0, 0
        for _ in range(draw(st.integers(1, 8))):
            length = draw(st.sampled_from([0.25, 0.5, 1.0, 2.0]))
            t += draw(st.sampled_from([0.0, 0.0, 0.0, 0.5, 1.5]))  # mostly touching, sometimes a gap
            shot += draw(st.sampled_from([0, 0, 1]))
            hits.append((KeyframeSpan(kf, video, shot, t + length / 2, t, t + length), draw(SCORES)))
            kf += 1
            t += length
    return hits


def members(clip: Clip, hits: list[tuple[KeyframeSpan, float]]) -> list[tuple[KeyframeSpan, float]]:
    by_id = {s.keyframe_id: (s, score) for s, score in hits}
    return [by_id[k] for k in clip.keyframe_ids]


@settings(max_examples=150, deadline=None)
@given(hit_lists())
def test_each_keyframe_is_in_at_most_one_clip(hits) -> None:
    ids = [k for clip in group_hits(hits) for k in clip.keyframe_ids]
    assert len(ids) == len(set(ids))


@settings(max_examples=150, deadline=None)
@given(hit_lists())
def test_a_clip_is_a_run_of_touching_segments_of_one_video_scored_by_its_best(hits) -> None:
    for clip in group_hits(hits):
        segs = members(clip, hits)
        assert {s.video_id for s, _ in segs} == {clip.video_id}
        assert [s.start for s, _ in segs] == sorted(s.start for s, _ in segs)
        assert all(abs(b.start - a.end) <= 1e-3 for (a, _), (b, _) in zip(segs, segs[1:]))
        assert (clip.start, clip.end) == (segs[0][0].start, segs[-1][0].end)
        assert clip.score == max(score for _, score in segs)
        best = next(s for s, _ in segs if s.keyframe_id == clip.best_keyframe_id)
        assert dict(segs)[best] == clip.score and clip.best_time == best.time


@settings(max_examples=150, deadline=None)
@given(hit_lists())
def test_the_best_hit_leads_and_clips_are_ranked_by_score(hits) -> None:
    clips = group_hits(hits)
    top_score = max(score for _, score in hits)
    assert clips[0].score == top_score and clips[0].matched
    assert [c.score for c in clips] == sorted((c.score for c in clips), reverse=True)
    matched = [c.matched for c in clips]
    assert matched == sorted(matched, reverse=True)  # every match ranks above every non-match


@settings(max_examples=150, deadline=None)
@given(hit_lists(), st.sampled_from([0.0, 0.5, 1.0, 3.0]))
def test_matching_moments_of_one_video_stay_apart(hits, min_separation: float) -> None:
    clips = [c for c in group_hits(hits, min_separation=min_separation) if c.matched]
    for a in clips:
        for b in clips:
            if a is not b and a.video_id == b.video_id and a.start <= b.start:
                assert b.start >= a.end + min_separation - 1e-9


@settings(max_examples=100, deadline=None)
@given(hit_lists(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_the_order_of_the_hits_changes_nothing_and_limit_is_a_prefix(hits, rnd: random.Random, limit: int) -> None:
    shuffled = list(hits)
    rnd.shuffle(shuffled)
    assert group_hits(shuffled) == group_hits(hits)
    assert group_hits(hits, limit=limit) == group_hits(hits)[:limit]

"""The moment-evaluation video's ground truth: recurring query scenes, distractors between, all searchable."""
from __future__ import annotations

import cv2
import numpy as np

from analysis.keyframe_choice import frame_quality
from apps.search.testmodel.demo_video import DEMO_SCENES
from apps.search.testmodel.footage import drift
from apps.search.testmodel.moments_video import MOMENTS_SEED, moment_queries, moment_shots
from apps.search.testmodel.scenes import caption_en, render


def test_shots_tile_the_video_with_hard_cuts_between_different_backgrounds() -> None:
    shots = moment_shots()
    assert shots[0].start == 0.0 and 50.0 <= shots[-1].end <= 60.0
    for a, b in zip(shots, shots[1:]):
        assert a.end == b.start
        assert (a.spec.background, a.spec.background_colour) != (b.spec.background, b.spec.background_colour)
    assert all(3.0 <= s.end - s.start <= 6.0 for s in shots)


def test_each_query_scene_recurs_with_a_distractor_between_occurrences() -> None:
    shots = moment_shots()
    queries = moment_queries()
    assert 3 <= len(queries) <= 4
    for query in queries:
        assert 2 <= len(query.occurrences) <= 3
        for (_, end), (start, _) in zip(query.occurrences, query.occurrences[1:]):
            between = [s for s in shots if end <= s.start and s.end <= start]
            assert any(not s.queried for s in between), query.name
    captions = {caption_en(s.spec) for s in shots}
    assert len(captions) == len({s.name for s in shots})  # one caption per scene, distinct from the others
    assert not captions & {caption_en(spec) for spec, _ in DEMO_SCENES}


def test_every_shot_gets_a_keyframe() -> None:
    """The blank-frame filter sees grey levels only: a scene whose colours have equal luminance
    (a red star on blue) would get no keyframe and could never be found, whatever the grouping."""
    for k, shot in enumerate(moment_shots()):
        frame = render(shot.spec, (640, 360), np.random.default_rng([MOMENTS_SEED, k]), shift=drift(1.0, k))
        grey = cv2.resize(cv2.cvtColor(np.asarray(frame), cv2.COLOR_RGB2GRAY), (128, 72), interpolation=cv2.INTER_AREA)
        assert frame_quality(grey).usable, shot.name

"""The cheap presence test: text on busy drawn frames is found where it is, frames without text pass, and a
changed line changes the signature while the same line over a moving background does not."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from analysis.screen_text import TextWatch
from analysis.text_presence import changed, presence
from apps.search.evaluation.text_media import TextItem, TextVideo, render_frame, text_videos, with_boxes

WORK = (456, 256)


def small(frame: np.ndarray) -> np.ndarray:
    return cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), WORK, interpolation=cv2.INTER_AREA)


def video(items, background="gradient") -> TextVideo:
    return TextVideo("t.mp4", 4.0, background, with_boxes(items), seed=5)


ITEMS = [TextItem("EXIT 23 station", "eng", 0, 10, 80, 120, "DejaVuSans", 40),
         TextItem("улица Гагарина", "rus", 0, 10, 600, 520, "LiberationSans", 40)]


@pytest.mark.parametrize("background", ["gradient", "noise"])
def test_no_text_frames_pass(background):
    for t in (0.0, 1.3, 2.7):
        assert not presence(small(render_frame(video([], background), t))).has_text


@pytest.mark.parametrize("background", ["shapes", "mixed"])
def test_footage_without_text_plans_no_read(background):
    """Moving boxes can pass for a word on a frame, but never for a stretch of unchanged text: nothing is read."""
    clip, watch = video([], background), TextWatch()
    for index in range(40):
        watch.offer(index, index / 10, small(render_frame(clip, index / 10)))
    watch.finish()
    assert watch.to_read() == []


@pytest.mark.parametrize("background", ["gradient", "noise"])
def test_text_is_found_where_it_is_drawn(background):
    clip = video(ITEMS, background)
    seen = presence(small(render_frame(clip, 1.0)))
    assert seen.has_text
    scale = WORK[0] / 1280
    for item in clip.items:
        x, y, w, h = item.box
        cx, cy = (x + w / 2) * scale, (y + h / 2) * scale
        assert any(r.x <= cx <= r.x + r.w and r.y <= cy <= r.y + r.h for r in seen.regions), item.text


def test_signature_changes_with_the_words_not_with_the_background():
    same = video(ITEMS)
    a, b = presence(small(render_frame(same, 1.0))), presence(small(render_frame(same, 1.5)))
    assert not changed(a, b)
    other = video([ITEMS[0], TextItem("библиотека север", "rus", 0, 10, 600, 520, "LiberationSans", 40)])
    assert changed(a, presence(small(render_frame(other, 1.0))))
    assert changed(a, presence(small(render_frame(video([]), 1.0))))


def test_watch_plans_one_read_per_stretch_of_unchanged_text():
    items = [TextItem("EXIT 23 station", "eng", 1.0, 3.0, 80, 120, "DejaVuSans", 40)]
    clip = video(items)
    watch = TextWatch()
    for index in range(40):  # 4 s at 10 fps
        t = index / 10
        watch.offer(index, t, small(render_frame(clip, t)))
    runs = [run for run in watch.finish() if run.samples >= 2]
    assert len(runs) == 1
    assert runs[0].start == pytest.approx(1.0, abs=0.3) and runs[0].end == pytest.approx(3.0, abs=0.3)


def test_text_over_moving_shapes_is_read_even_when_its_signature_changes_at_every_sample():
    """The evaluation's "shapes" video, its last text period: shapes crossing the letters change the signature
    at every sample, yet the 18 lines are on screen for 1.9 s and must be read once."""
    clip = text_videos()[2]
    watch = TextWatch()
    for index in range(55, 80):  # 5.5-8 s at 10 fps; the lines are there 5.83-7.7 s
        t = index / 10
        watch.offer(index, t, small(render_frame(clip, t)))
    watch.finish()
    planned = watch.to_read()
    assert len(planned) >= 1 and all(5.83 <= run.read_time < 7.7 for run in planned), planned

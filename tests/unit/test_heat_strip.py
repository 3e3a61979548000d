"""The heat strip layout: cells placed by time and coloured by score within the strip, moments marked."""
from __future__ import annotations

import pytest

from apps.search.heat_strip import MIN_MOMENT_PERCENT, RAMP, VIEW_WIDTH, heat_color, heat_strip, strip_duration


def _timeline(scores: list[float], moments: list[tuple[float, float]] = (), duration: float | None = 10.0) -> dict:
    step = 10.0 / len(scores)
    return {
        "video_id": 7,
        "duration": duration,
        "segments": [{"start": i * step, "end": (i + 1) * step, "score": s} for i, s in enumerate(scores)],
        "moments": [{"start": a, "end": b, "best_time": a, "score": 1.0} for a, b in moments],
    }


def test_ramp_ends_and_is_monotonic_in_lightness():
    assert heat_color(0.0) == "#1f2a5a" and heat_color(1.0) == "#ffe14d"
    assert heat_color(-3) == heat_color(0.0) and heat_color(7) == heat_color(1.0)

    def lum(color: str) -> float:
        r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
        return 0.299 * r + 0.587 * g + 0.114 * b

    lums = [lum(heat_color(i / 20)) for i in range(21)]
    assert lums == sorted(lums) and len(set(lums)) == 21
    assert heat_color(RAMP[1][0]) == "#" + "".join(f"{c:02x}" for c in RAMP[1][1])


def test_cells_cover_the_strip_by_time_and_are_normalised_to_its_own_range():
    strip = heat_strip(_timeline([0.20, 0.25, 0.30, 0.22]))
    assert [c.x for c in strip.cells] == [0.0, 250.0, 500.0, 750.0]
    assert sum(c.width for c in strip.cells) == pytest.approx(VIEW_WIDTH)
    assert strip.cells[0].color == heat_color(0.0) and strip.cells[2].color == heat_color(1.0)
    # a strip with the same shape on another score scale looks the same
    shifted = heat_strip(_timeline([2.0, 2.5, 3.0, 2.2]))
    assert [c.color for c in shifted.cells] == [c.color for c in strip.cells]
    assert (strip.low, strip.high) == (0.20, 0.30)


def test_a_flat_strip_has_one_middle_colour_and_empty_timelines_draw_nothing():
    strip = heat_strip(_timeline([0.3, 0.3, 0.3]))
    assert {c.color for c in strip.cells} == {heat_color(0.5)}
    assert heat_strip({"video_id": 1, "duration": 10.0, "segments": [], "moments": []}) is None
    assert heat_strip({"video_id": 1, "duration": None, "segments": [], "moments": []}) is None


def test_moments_in_percent_with_the_current_one_flagged_and_tiny_ones_widened():
    strip = heat_strip(_timeline([0.1] * 10, moments=[(2.0, 4.0), (9.99, 10.0)]), current=(2.0, 4.0))
    first, tiny = strip.moments
    assert (first.left, first.width, first.current) == (20.0, 20.0, True)
    assert tiny.width == MIN_MOMENT_PERCENT and tiny.left + tiny.width <= 100.0 and not tiny.current
    assert strip.clip is None


def test_a_clip_that_is_no_moment_is_marked_on_its_own():
    strip = heat_strip(_timeline([0.1] * 10, moments=[(2.0, 4.0)]), current=(6.0, 7.5))
    assert not any(m.current for m in strip.moments)
    assert (strip.clip.left, strip.clip.width, strip.clip.start) == (60.0, 15.0, 6.0)


def test_duration_falls_back_to_the_last_segment_end():
    timeline = _timeline([0.1, 0.2], duration=None)
    assert strip_duration(timeline) == 10.0
    assert heat_strip(timeline).cells[1].x == 500.0

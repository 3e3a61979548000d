"""Lay out one video's timeline as a heat strip: coloured cells by time and outlined moments.

Pure functions over the API's timeline dict (``serializers.timeline_to_dict``), so the search page
and the video page draw the same strip from the same data, server side, as inline SVG that needs
no script or external library to show. Colours are normalised per strip (its own min..max score):
raw scores differ between models and queries, and the strip answers "where in this video", not
"how good in absolute terms".
"""
from __future__ import annotations

from dataclasses import dataclass

#: Width of the SVG's user space; cells are placed on it by time (the SVG stretches to the strip).
VIEW_WIDTH = 1000.0
#: Low-to-high colour ramp (dark blue, purple, red, yellow): readable as "heat", distinct from the
#: page background, and monotonic in lightness so it still reads in greyscale.
RAMP: tuple[tuple[float, tuple[int, int, int]], ...] = (
    (0.0, (0x1F, 0x2A, 0x5A)),
    (0.35, (0x7B, 0x2D, 0x8E)),
    (0.7, (0xE8, 0x55, 0x3B)),
    (1.0, (0xFF, 0xE1, 0x4D)),
)
#: A moment narrower than this (percent of the strip) is widened so it stays visible and clickable.
MIN_MOMENT_PERCENT = 0.8


@dataclass(frozen=True)
class Cell:
    """One stretch of the strip: SVG x and width (user units) and its colour."""

    x: float
    width: float
    color: str
    start: float
    end: float
    score: float


@dataclass(frozen=True)
class MomentMark:
    """A matching moment on the strip: left/width in percent of the strip (SVG x/width), and where playing it starts."""

    left: float
    width: float
    start: float
    end: float
    best_time: float
    score: float
    current: bool  # the moment of the result this strip sits under


@dataclass(frozen=True)
class HeatStrip:
    video_id: int
    duration: float
    cells: list[Cell]
    moments: list[MomentMark]
    low: float
    high: float
    clip: MomentMark | None = None  # the result's own clip when it is not one of the moments (a weak match)

    @property
    def view_width(self) -> float:
        return VIEW_WIDTH


def heat_color(fraction: float) -> str:
    """The ramp's colour at ``fraction`` (clamped to 0..1), as #rrggbb."""
    f = min(max(fraction, 0.0), 1.0)
    for (f0, c0), (f1, c1) in zip(RAMP, RAMP[1:]):
        if f <= f1:
            t = (f - f0) / (f1 - f0)
            return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(c0, c1))
    return "#" + "".join(f"{c:02x}" for c in RAMP[-1][1])


def strip_duration(timeline: dict) -> float:
    """The strip's length: the video's duration, or where its last segment ends when unknown."""
    ends = [s["end"] for s in timeline.get("segments", [])] + [m["end"] for m in timeline.get("moments", [])]
    return float(timeline.get("duration") or max(ends, default=0.0))


def heat_strip(timeline: dict, current: tuple[float, float] | None = None) -> HeatStrip | None:
    """The strip for one video's timeline dict, or None when there is nothing to draw.

    ``current`` is the (start, end) of the clip the strip sits under: its moment is marked as such.
    """
    duration = strip_duration(timeline)
    segments = timeline.get("segments", [])
    if duration <= 0 or not segments:
        return None
    scores = [s["score"] for s in segments]
    low, high = min(scores), max(scores)
    spread = high - low
    scale = VIEW_WIDTH / duration
    cells = [
        Cell(
            x=round(s["start"] * scale, 3),
            width=round(max(s["end"] - s["start"], 0.0) * scale, 3),
            color=heat_color((s["score"] - low) / spread if spread > 0 else 0.5),
            start=s["start"],
            end=s["end"],
            score=s["score"],
        )
        for s in segments
    ]
    moments = [_mark(m["start"], m["end"], m["best_time"], m["score"], duration, current) for m in timeline.get("moments", [])]
    clip = None
    if current is not None and not any(m.current for m in moments):
        clip = _mark(current[0], current[1], current[0], 0.0, duration, current)
    return HeatStrip(timeline["video_id"], duration, cells, moments, low, high, clip)


def _mark(start: float, end: float, best_time: float, score: float, duration: float,
          current: tuple[float, float] | None) -> MomentMark:
    width = max((end - start) / duration * 100, MIN_MOMENT_PERCENT)
    left = min(max(start / duration * 100, 0.0), 100 - width)
    is_current = current is not None and abs(start - current[0]) < 1e-3 and abs(end - current[1]) < 1e-3
    return MomentMark(round(left, 3), round(width, 3), start, end, best_time, score, is_current)

"""Letterbox and pillarbox bars: uniform borders added around a picture (a screenshot of a player,
a frame pasted into a wider or taller canvas).

Why: the bars are not part of the footage, and they dominate a frame fingerprint (a black band is
the darkest thing in the picture). Cut off, what is left is the frame, or a crop of it, which the
copy matcher can place.
"""
from __future__ import annotations

import numpy as np

#: Grey levels: a bar line's spread, and how far its mean may drift from the outermost line
#: (JPEG at quality 40 rings a few levels near the picture's edge).
TOLERANCE = 6.0
#: A border narrower than this share of the side is not a bar (a thin frame line, noise).
MIN_BAR = 0.02
#: Bars leave at least this share of each side: a picture mostly uniform is not a framed picture.
MIN_LEFT = 0.4
#: Trimmed past a bar: the edge between bar and picture is smeared by scaling and compression.
EDGE = 0.005


def strip_bars(gray: np.ndarray) -> np.ndarray:
    """``gray`` (2-D) without uniform bars along its sides; the same array when it has none."""
    if gray.ndim != 2 or min(gray.shape) < 8:
        return gray
    g = gray.astype(np.float32)
    height, width = g.shape
    top, bottom = _bar(g, height), _bar(g[::-1], height)
    left, right = _bar(g.T, width), _bar(g.T[::-1], width)
    if not (top or bottom or left or right):
        return gray
    if height - top - bottom < MIN_LEFT * height or width - left - right < MIN_LEFT * width:
        return gray

    def trim(n: int, side: int) -> int:
        return n + max(1, round(EDGE * side)) if n else 0

    return gray[trim(top, height):height - trim(bottom, height), trim(left, width):width - trim(right, width)]


def _bar(lines: np.ndarray, side: int) -> int:
    """How many of ``lines`` (rows from the outside in) form one uniform bar; 0 when too few."""
    spread = lines.std(axis=1)
    drift = np.abs(lines.mean(axis=1) - lines[0].mean())
    uniform = (spread < TOLERANCE) & (drift < TOLERANCE)
    count = len(uniform) if uniform.all() else int(np.argmin(uniform))
    return count if count >= MIN_BAR * side else 0

"""Which frame of a segment is worth embedding: not black, not blank, sharp, away from the edges.

Pure functions on numpy frames, so the choice is unit tested with synthetic images.

Choice made for wholly black or blank segments (fade from black, a black leader, a flat title
background): they get NO keyframe. A black frame matches every query equally badly and only adds
noise to search results; the segment's time range stays covered by its shot.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

# Grey-level thresholds on 0..255 frames. A frame is "black" when dark AND nearly uniform (a dim
# frame with detail, like white title text on black, is still useful), "blank" when uniform at any
# brightness (a flat colour card, a frozen grey screen).
BLACK_MEAN = 24.0
BLACK_STD = 12.0
BLANK_STD = 6.0
# Frames this close to a shot boundary are likely part of a transition (dissolve, motion blur).
TRANSITION_GUARD_S = 0.25
# A frame scoring this share of the sharpest one of its window is as good a keyframe.
NEAR_BEST = 0.9
# Frame times are sums of floats: equal times may differ in the last bits.
_TIME_EPS = 1e-6


@dataclass(frozen=True)
class FrameQuality:
    """Cheap per-frame statistics on a small grey image."""

    mean: float
    std: float
    sharpness: float  # variance of the Laplacian: high for crisp detail, low for blur or flat areas

    @property
    def black(self) -> bool:
        """Dark and nearly uniform: a black screen or the dark end of a fade."""
        return self.mean < BLACK_MEAN and self.std < BLACK_STD

    @property
    def usable(self) -> bool:
        """False for black or blank frames, which are useless for search."""
        return self.std >= BLANK_STD and not self.black

    @property
    def score(self) -> float:
        """Higher is better: sharp, well exposed, contrasted. Unusable frames score below all usable."""
        if not self.usable:
            return -1.0 / (1.0 + self.std)
        exposure = min(1.0, self.mean / 64.0) * min(1.0, (255.0 - self.mean) / 64.0)
        contrast = min(1.0, self.std / 32.0)
        return (1.0 + self.sharpness) * max(exposure, 0.05) * contrast


def frame_quality(bgr: np.ndarray) -> FrameQuality:
    """Statistics of a BGR (or already grey) uint8 frame; pass a small frame, it is per-frame work."""
    gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr
    mean, std = cv2.meanStdDev(gray)
    _, lap_std = cv2.meanStdDev(cv2.Laplacian(gray, cv2.CV_16S, ksize=1))
    return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)


@dataclass
class Candidate:
    """A frame that may become a keyframe; ``frame`` is kept only for the current segment(s)."""

    time: float
    quality: FrameQuality
    frame: np.ndarray


def choose_keyframe(candidates: Sequence[Candidate], start: float, end: float, *,
                    shot_start: float | None = None, shot_end: float | None = None,
                    latest: float | None = None) -> Candidate | None:
    """Best usable candidate for the segment [start, end), or None when all are black/blank.

    Preference order: usable frames in the window (the middle half of the segment, away from shot
    boundaries), then any usable frame. ``latest`` (the previous keyframe of the shot plus the
    largest allowed gap) caps the choice: the window slides earlier, keeping its width, to end
    there, and frames after it are taken only when no usable frame comes before it.

    Within a tier the sharpest wins, except that, unless this is the shot's last segment, the frame
    nearest the segment's centre (or ``latest``, if earlier) among those scoring at least
    ``NEAR_BEST`` of the sharpest is taken instead: as good a picture, and it keeps keyframes from
    drifting. Keyframes of a shot stay within one gap, so one chosen early pulls every later one of
    the shot earlier; and a keyframe off its segment's centre is nearer in time to moments of the
    neighbouring segment than their own keyframe is (image search then points at the wrong clip).
    """
    usable = [c for c in candidates if c.quality.usable]
    if not usable:
        return None
    quarter = (end - start) / 4.0
    lo, hi = start + quarter, end - quarter
    if shot_start is not None:
        lo = max(lo, min(shot_start + TRANSITION_GUARD_S, (start + end) / 2))
    if shot_end is not None:
        hi = min(hi, max(shot_end - TRANSITION_GUARD_S, (start + end) / 2))
    if latest is not None:
        if latest < hi:
            lo, hi = max(start, min(lo, latest - (hi - lo))), latest
        in_reach = [c for c in usable if c.time <= latest + _TIME_EPS]
        if not in_reach:
            return min(usable, key=lambda c: c.time)  # the gap cannot be kept: come as close as possible
        usable = in_reach
    central = [c for c in usable if lo - _TIME_EPS <= c.time <= hi + _TIME_EPS]
    if shot_end is not None and end >= shot_end - _TIME_EPS:
        return max(central or usable, key=lambda c: c.quality.score)  # no keyframe follows in this shot
    target = (start + end) / 2 if latest is None else min((start + end) / 2, latest)
    return _near_best_closest_to(central or usable, target)


def _near_best_closest_to(candidates: Sequence[Candidate], target: float) -> Candidate:
    best = max(c.quality.score for c in candidates)
    near_best = [c for c in candidates if c.quality.score >= NEAR_BEST * best]
    return min(near_best, key=lambda c: (abs(c.time - target), -c.time))


class BucketPool:
    """Keeps the best frame of each short time bucket, for the segments not finished yet.

    Holding one frame per ``bucket`` seconds (instead of every frame) bounds memory to
    (open window / bucket) frames while still letting a later-decided segment edge fall between
    candidates.
    """

    def __init__(self, bucket: float) -> None:
        self._bucket = bucket
        self._items: list[Candidate] = []
        self._keys: list[int] = []

    def __len__(self) -> int:
        return len(self._items)

    def offer(self, time: float, quality: FrameQuality, frame: np.ndarray) -> None:
        """Record the frame if it beats its bucket's current best (the frame is not copied)."""
        key = int(time // self._bucket)
        if self._keys and self._keys[-1] == key:
            if quality.score > self._items[-1].quality.score:
                self._items[-1] = Candidate(time, quality, frame)
            return
        self._items.append(Candidate(time, quality, frame))
        self._keys.append(key)

    def split_bucket(self) -> None:
        """Start a fresh bucket at the next frame (called at a cut so no bucket spans two shots)."""
        if self._keys:
            self._keys[-1] = -1

    def take(self, start: float, end: float | None) -> list[Candidate]:
        """Candidates with start <= time < end (end None: all the rest); older ones are dropped."""
        keep_from = 0
        picked: list[Candidate] = []
        for i, cand in enumerate(self._items):
            if end is not None and cand.time >= end:
                break
            keep_from = i + 1
            if cand.time >= start:
                picked.append(cand)
        del self._items[:keep_from]
        del self._keys[:keep_from]
        return picked

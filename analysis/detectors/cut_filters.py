"""Second opinions on detected cuts, from the frames around them.

``ContentDetector`` scores hue/saturation/luma change, so the dark end of a fade-out (colour
vanishing as the same picture dims) can score like a hard cut. A fade-out keeps the picture's
structure: the new frame is darker yet almost perfectly correlated with the previous one. A real cut
changes the structure (low correlation). Fades *in* are left alone: a picture appearing is where a
new shot starts, and PySceneDetect's ground truth counts it. Flashes are told by the picture coming
back (:class:`FlashRejector`), weak hard cuts by standing out (:class:`IsolatedSpikeDetector`).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

FADE_CORRELATION = 0.95


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two same-size grey images (0.0 when either is uniform)."""
    x = a.astype(np.float32).ravel()
    y = b.astype(np.float32).ravel()
    x -= x.mean()
    y -= y.mean()
    denom = float(np.sqrt(float(x @ x) * float(y @ y)))
    return float(x @ y) / denom if denom > 0 else 0.0


def is_fade_out(prev_gray: np.ndarray, cur_gray: np.ndarray) -> bool:
    """True when ``cur_gray`` is ``prev_gray`` dimmed: a step of a fade to black, not a cut."""
    if float(cur_gray.mean()) >= float(prev_gray.mean()):
        return False
    return correlation(prev_gray, cur_gray) >= FADE_CORRELATION


class IsolatedSpikeDetector:
    """A second opinion that *adds* cuts: a lone one-frame spike in ContentDetector's score.

    A hard cut between two pictures of similar brightness and saturation (a green field cut to blue
    water) changes mostly hue and can score just under ContentDetector's fixed threshold (27). Yet
    it stands out from its neighbours like nothing else does: on the shared test media, real cuts
    score 19-240 times the largest score within four frames around them, while motion, flashes and
    fades never exceed 3.1 times. A frame whose score is at least ``min_score`` and ``ratio`` times
    every neighbour's is reported as a cut, ``radius`` frames later (once its right side is known).
    """

    def __init__(self, *, min_score: float = 15.0, ratio: float = 8.0, radius: int = 4) -> None:
        self.min_score, self.ratio, self.radius = min_score, ratio, radius
        self._scores: list[float] = []  # scores of the last 2*radius+1 frames
        self._first_index = 0

    def push(self, index: int, score: float) -> list[int]:
        """Add frame ``index``'s score; returns the frame index of a confirmed spike cut, if any."""
        if not self._scores:
            self._first_index = index
        self._scores.append(score)
        if len(self._scores) > 2 * self.radius + 1:
            self._scores.pop(0)
            self._first_index += 1
        centre = index - self.radius
        return [centre] if centre >= self._first_index and self._is_spike(centre - self._first_index) else []

    def _is_spike(self, at: int) -> bool:
        score = self._scores[at]
        if score < self.min_score:
            return False
        neighbours = self._scores[max(0, at - self.radius):at] + self._scores[at + 1:at + 1 + self.radius]
        return all(score >= self.ratio * max(n, 0.5) for n in neighbours)


def hsv_distance(a_hsv: np.ndarray, b_hsv: np.ndarray) -> float:
    """ContentDetector's default score (mean hue, saturation and value change) between any two frames."""
    delta_hue, delta_sat, delta_lum, _ = cv2.mean(cv2.absdiff(a_hsv, b_hsv))
    return (delta_hue + delta_sat + delta_lum) / 3.0


@dataclass
class _HeldCut:
    frame: int
    before: np.ndarray | None = None  # HSV of the frame before the cut, once it is at hand
    limit: float = 0.0  # a frame this close to ``before`` means the picture came back
    checked: int = 0  # the last frame compared with ``before``


class FlashRejector:
    """A second opinion that *removes* cuts: the picture came back, so it was a flash.

    A flash (a photographer's strobe, lightning, one white or black frame spliced in) scores as a
    cut and ContentDetector reports it; only the cut back is swallowed by its minimum scene length.
    A real cut leaves the old picture for good. So each cut is held for ``window`` frames: when a
    frame in that window is close to the frame before the cut (at most ``return_ratio`` of the
    cut's own score away), the cut is dropped. Frames are the detector's small BGR images, kept by
    reference for the last ``window + max_delay + 2`` frames; only frames after a cut are converted
    and compared, so the cost is a few dozen small conversions per cut.
    """

    def __init__(self, *, window: int, max_delay: int, return_ratio: float = 1.0 / 3.0) -> None:
        self.window, self.return_ratio = window, return_ratio
        self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 2)
        self._last_index = -1
        self._held: list[_HeldCut] = []

    def propose(self, cut_frame: int) -> None:
        """A cut a detector reported at frame ``cut_frame``, at most ``max_delay`` frames ago."""
        if all(held.frame != cut_frame for held in self._held):
            self._held.append(_HeldCut(cut_frame))

    def push(self, index: int, bgr: np.ndarray) -> list[int]:
        """Add frame ``index`` (the next one); returns the held cuts whose window passed without a return."""
        self._frames.append(bgr)
        self._last_index = index
        return self._settle(final=False)

    def flush(self) -> list[int]:
        """End of stream: decide every held cut on the frames there are."""
        return self._settle(final=True)

    def _settle(self, *, final: bool) -> list[int]:
        confirmed, waiting = [], []
        for held in sorted(self._held, key=lambda h: h.frame):
            verdict = self._verdict(held, final)
            if verdict is None:
                waiting.append(held)
            elif verdict:
                confirmed.append(held.frame)
        self._held = waiting
        return confirmed

    def _frame_hsv(self, index: int) -> np.ndarray:
        return cv2.cvtColor(self._frames[index - (self._last_index - len(self._frames) + 1)], cv2.COLOR_BGR2HSV)

    def _verdict(self, held: _HeldCut, final: bool) -> bool | None:
        """True: a cut; False: a flash; None: not known yet."""
        if held.before is None:
            oldest = self._last_index - len(self._frames) + 1
            if held.frame - 1 < oldest:
                return True  # the frame before it is gone: trust the detector
            if held.frame > self._last_index:
                return True if final else None
            held.before = self._frame_hsv(held.frame - 1)
            held.limit = self.return_ratio * hsv_distance(held.before, self._frame_hsv(held.frame))
            held.checked = held.frame
        last = min(held.frame + self.window, self._last_index)
        for j in range(held.checked + 1, last + 1):
            if hsv_distance(held.before, self._frame_hsv(j)) <= held.limit:
                return False
        held.checked = last
        return True if final or last == held.frame + self.window else None

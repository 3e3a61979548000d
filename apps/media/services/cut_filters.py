"""Second opinion on a detected cut, from the two frames around it.

``ContentDetector`` scores hue/saturation/luma change, so the dark end of a fade-out (colour
vanishing as the same picture dims) can score like a hard cut. A fade-out keeps the picture's
structure: the new frame is darker yet almost perfectly correlated with the previous one. A real cut
changes the structure (low correlation). Fades *in* are left alone: a picture appearing is where a
new shot starts, and PySceneDetect's ground truth counts it.
"""
from __future__ import annotations

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

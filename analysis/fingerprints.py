"""Frame fingerprints: tiny normalised grey thumbnails that pin down *which moment* an image copies.

Why: CLIP embeddings say what a picture shows, so two seconds of one shot look alike to them and
a frame grab used as a query can land on the neighbouring segment. A screenshot is a near-exact
copy of one moment; a 16 x 16 grey thumbnail, zero-mean and unit-norm (brightness and contrast
do not matter, JPEG noise and rescaling barely do), tells that moment from the others. A few per
second of video are kept, 2 KB a second as float16, next to the video's keyframe images.
"""
from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

SIDE = 16
PER_SECOND = 4.0
FILE_NAME = "fingerprints.npz"
_MIN_CONTRAST = 1.0  # grey-level standard deviation below which an image is flat: no fingerprint


def fingerprint(gray: np.ndarray) -> np.ndarray:
    """(SIDE*SIDE,) float32 unit vector of a grey uint8 image; all zeros for a flat image."""
    small = cv2.resize(gray, (SIDE, SIDE), interpolation=cv2.INTER_AREA).astype(np.float32).ravel()
    small -= small.mean()
    norm = float(np.linalg.norm(small))
    if norm < _MIN_CONTRAST * SIDE:
        return np.zeros(SIDE * SIDE, np.float32)
    return small / norm


def image_fingerprint(image: Image.Image) -> np.ndarray:
    """The fingerprint of a query image (any size and mode)."""
    return fingerprint(np.asarray(image.convert("L")))


class FingerprintTrack:
    """Fingerprints of a video, ``PER_SECOND`` of them, collected while it is decoded."""

    def __init__(self, per_second: float = PER_SECOND) -> None:
        self._step = 1.0 / per_second
        self._next = 0.0
        self.times: list[float] = []
        self.prints: list[np.ndarray] = []

    def offer(self, time: float, gray: np.ndarray) -> None:
        """Take the frame at ``time`` if the last one taken is at least a step older."""
        if time + 1e-6 < self._next:
            return
        self.times.append(time)
        self.prints.append(fingerprint(gray).astype(np.float16))
        self._next = time + self._step

    def save(self, path: Path) -> None:
        """Write ``times`` and ``prints`` to ``path`` (atomically: temp file, then rename)."""
        prints = np.stack(self.prints) if self.prints else np.zeros((0, SIDE * SIDE), np.float16)
        tmp = path.with_name(f".{path.name}.tmp")
        with open(tmp, "wb") as f:
            np.savez(f, times=np.asarray(self.times, np.float32), prints=prints)
        os.replace(tmp, path)


def load(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(times float32 (n,), fingerprints float32 (n, SIDE*SIDE)) saved for a video, or None."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return data["times"].astype(np.float32), data["prints"].astype(np.float32)
    except (FileNotFoundError, OSError, KeyError, ValueError):
        return None

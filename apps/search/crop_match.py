"""How alike a cropped copy of a frame is to every fingerprinted frame, each at its best crop.

Why: a screenshot cut to part of the frame does not look like the whole frame, even at 16 x 16,
so the plain fingerprint comparison misses it. The stored fingerprints need no change: for a guess
of the rectangle of the frame the picture shows, the fingerprint cells lying wholly inside it are
predicted from the picture (each is the picture's mean over that cell's footprint, exact at any
sub-pixel placement through an integral image) and correlated with the same cells of every stored
fingerprint (a correlation over those cells, so the prints' own normalisation does not matter).
With the right rectangle this pins moments of the shared videos about as well as an uncropped
grab; comparing finer prints (32 x 32) does worse: scaling and JPEG noise weigh more at that detail.

The search: a coarse grid of rectangles (steps of one cell, sizes 60-100% of each side) for every
frame; the best frame's rectangle refined to 1/256 of the frame and applied to every frame (a fixed
camera: one rectangle fits all its moments; the same footage in another video: the same
rectangle); then the frames that come near it elsewhere refined at their own rectangle, so a rival
is judged at its best (in a pan, a crop of one moment also shows in another moment, shifted).
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis.fingerprints import SIDE

#: Smallest share of each side of the frame that a crop may keep.
MIN_FRACTION = 0.6
SIZE_STEP = 0.1
#: Refinement steps, in fractions of the frame: precision pays (80% crops of 80 shared-video
#: moments pinned: steps down to 1/64, 32; to 1/128, 43; to 1/256, 47; uncropped grabs: 50).
REFINE_STEPS = (1 / 32, 1 / 64, 1 / 128, 1 / 256)
#: A crop must hold at least this many whole cells across and down.
MIN_CELLS = 4
#: Grey-level spread (per cell) below which the predicted cells are flat: they identify nothing.
MIN_CONTRAST = 1.0
#: Variance left in a stored print's window (the whole print has 1) below which it is flat.
MIN_WINDOW_ENERGY = 1e-3
#: Frames refined at their own rectangle: how far below the best their coarse similarity may be,
#: and at most how many (the best's video, other videos).
RIVAL_SLACK = 0.25  # the coarse grid can lose that much (0.19 measured on a smooth picture)
MAX_RIVALS = (8, 2)
#: Frames with the best coarse similarity refined to choose the best one, and coarse crops each starts from.
FIRST_REFINED = 4
STARTS = 3
#: Frames compared per matrix product (bounds memory for a long video).
CHUNK = 8192
#: A video with more fingerprints runs the whole coarse grid only on the frames that a sparse
#: grid (sizes 100/80/60%, two-cell steps: 49 rectangles, not 361) ranks first; the rest keep
#: their sparse similarity. Short videos (this is 17 minutes) are unaffected.
FULL_GRID_FRAMES = 4096


@dataclass(frozen=True)
class Crop:
    """The rectangle of the frame a picture shows, in fractions of the frame's width and height."""

    x: float
    y: float
    w: float
    h: float

    def cells(self) -> tuple[int, int, int, int]:
        """(top, bottom, left, right) bounds of the fingerprint cells wholly inside it."""
        return (int(np.ceil(self.y * SIDE - 1e-6)), int(np.floor((self.y + self.h) * SIDE + 1e-6)),
                int(np.ceil(self.x * SIDE - 1e-6)), int(np.floor((self.x + self.w) * SIDE + 1e-6)))

    def valid(self) -> bool:
        return (MIN_FRACTION - 1e-9 <= self.w <= 1 + 1e-9 and MIN_FRACTION - 1e-9 <= self.h <= 1 + 1e-9
                and self.x >= -1e-9 and self.y >= -1e-9 and self.x + self.w <= 1 + 1e-9 and self.y + self.h <= 1 + 1e-9)

    def nudged(self, step: float) -> list[Crop]:
        """The rectangles one ``step`` away: moved either way along each axis, or grown or shrunk about its centre."""
        moves = [(d, 0, 0, 0) for d in (-step, step)] + [(0, d, 0, 0) for d in (-step, step)]
        moves += [(-d / 2, 0, d, 0) for d in (-step, step)] + [(0, -d / 2, 0, d) for d in (-step, step)]
        # Rounded, so that a rectangle reached along different paths is the same (cached) one.
        out = [Crop(*(round(a + b, 9) for a, b in zip((self.x, self.y, self.w, self.h), move))) for move in moves]
        return [c for c in out if c.valid()]


def _coarse_crops() -> list[Crop]:
    sizes = np.round(np.arange(1.0, MIN_FRACTION - 1e-9, -SIZE_STEP), 6)
    return [Crop(float(x), float(y), float(w), float(h))
            for w in sizes for h in sizes
            for x in np.arange(0.0, 1.0 - w + 1e-9, 1 / SIDE) for y in np.arange(0.0, 1.0 - h + 1e-9, 1 / SIDE)]


COARSE_CROPS = _coarse_crops()
SPARSE_CROPS = frozenset(c for c in COARSE_CROPS if round(c.w * 10) % 2 == 0 and round(c.h * 10) % 2 == 0
                         and round(c.x * SIDE) % 2 == 0 and round(c.y * SIDE) % 2 == 0)


class CroppedQuery:
    """A query picture, taken to be a crop of a frame: predicts that frame's fingerprint cells."""

    def __init__(self, gray: np.ndarray) -> None:
        g = np.asarray(gray, np.float64)
        self.height, self.width = g.shape
        self._integral = np.zeros((self.height + 1, self.width + 1))
        self._integral[1:, 1:] = g.cumsum(0).cumsum(1)
        self._cells: dict[Crop, np.ndarray | None] = {}  # refinements of many frames pass the same crops

    def cells(self, crop: Crop) -> np.ndarray | None:
        """The frame's cells inside ``crop`` as the picture shows them, zero-mean and unit-norm,
        in a (SIDE, SIDE) array that is zero outside them; None when too few or flat."""
        if crop not in self._cells:
            self._cells[crop] = self._predict(crop)
        return self._cells[crop]

    def _predict(self, crop: Crop) -> np.ndarray | None:
        top, bottom, left, right = crop.cells()
        if bottom - top < MIN_CELLS or right - left < MIN_CELLS:
            return None
        xs = np.clip((np.arange(left, right + 1) / SIDE - crop.x) / crop.w * self.width, 0, self.width)
        ys = np.clip((np.arange(top, bottom + 1) / SIDE - crop.y) / crop.h * self.height, 0, self.height)
        area = np.outer(np.diff(ys), np.diff(xs))
        if np.any(area <= 0):
            return None
        corners = self._area_to(ys, xs)
        means = (corners[1:, 1:] - corners[:-1, 1:] - corners[1:, :-1] + corners[:-1, :-1]) / area
        means -= means.mean()
        norm = float(np.linalg.norm(means))
        if norm < MIN_CONTRAST * np.sqrt(means.size):
            return None
        out = np.zeros((SIDE, SIDE), np.float32)
        out[top:bottom, left:right] = means / norm
        return out

    def _area_to(self, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
        """Sum of the picture above and left of each (y, x): the integral image, bilinear between
        pixel corners (exact for pixels as little squares)."""
        y0 = np.minimum(ys.astype(int), self.height - 1)
        x0 = np.minimum(xs.astype(int), self.width - 1)
        fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
        rows, cols = self._integral[y0], self._integral[y0 + 1]
        return ((rows[:, x0] * (1 - fx) + rows[:, x0 + 1] * fx) * (1 - fy)
                + (cols[:, x0] * (1 - fx) + cols[:, x0 + 1] * fx) * fy)


def crop_similarities(gray: np.ndarray, tracks: Mapping[int, tuple[np.ndarray, np.ndarray]],
                      neighbourhood_s: float) -> dict[int, np.ndarray]:
    """video id -> similarity of ``gray`` to each of its fingerprints, each at its best crop found.

    ``tracks``: video id -> (times, prints). Frames within ``neighbourhood_s`` of the best one are
    not refined as rivals (they are its own moment).
    """
    query = CroppedQuery(gray)
    crops, vectors = [], []
    for crop in COARSE_CROPS:
        cells = query.cells(crop)
        if cells is not None:
            crops.append(crop)
            vectors.append(cells)
    tracks = {v: t for v, t in tracks.items() if len(t[0])}
    if not crops or not tracks:
        return {}
    vectors = np.stack(vectors).reshape(len(crops), -1).T
    windows = _Windows([c.cells() for c in crops], vectors)
    sparse = np.array([k for k, c in enumerate(crops) if c in SPARSE_CROPS] or [0])
    sparse_windows = _Windows([crops[k].cells() for k in sparse], vectors[:, sparse])
    coarse = {v: _coarse(windows, sparse_windows, sparse, prints) for v, (_, prints) in tracks.items()}
    sims = {v: s.copy() for v, (s, _) in coarse.items()}
    refined: set[tuple[int, int]] = set()

    def refine(video: int, i: int, starts_from: int, *more: Crop) -> tuple[float, Crop]:
        """The frame's best crop, refined from its best coarse ones (a single start can stall on a ridge)."""
        starts = [crops[j] for j in coarse[video][1][i][:starts_from]] + list(more)
        sim, crop = max((_refine(query, tracks[video][1][i], start) for start in starts), key=lambda r: r[0])
        sims[video][i] = max(float(sims[video][i]), sim)
        refined.add((video, i))
        return sim, crop

    first = [(v, int(i)) for v, (c, _) in coarse.items() for i in np.argsort(-c, kind="stable")[:FIRST_REFINED]]
    first = sorted(first, key=lambda vi: -float(coarse[vi[0]][0][vi[1]]))[:FIRST_REFINED]
    best_sim, best_crop, best_video, at = max(((*refine(v, i, STARTS), v, i) for v, i in first), key=lambda r: r[0])
    at_best_crop = _Windows([best_crop.cells()], query.cells(best_crop).reshape(-1, 1))
    for video, (_, prints) in tracks.items():  # a fixed camera, or the same footage elsewhere: the same crop
        sims[video] = np.maximum(sims[video], at_best_crop.best(prints)[0])
    times = tracks[best_video][0]
    for video, video_sims in sims.items():
        order = np.argsort(-video_sims, kind="stable")
        if video == best_video:
            order = order[np.abs(times[order] - times[at]) > neighbourhood_s]
        order = [i for i in order[video_sims[order] >= best_sim - RIVAL_SLACK] if (video, i) not in refined]
        for i in order[:MAX_RIVALS[video != best_video]]:
            refine(video, int(i), 1, best_crop)  # its own best coarse crop, and the best frame's
    return sims


def _coarse(windows: _Windows, sparse_windows: _Windows, sparse: np.ndarray,
            prints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each print's best coarse similarity and windows; for a long video, the whole grid only where
    the sparse grid ranks the frame first (a day of video: about 5 s on two busy cores)."""
    if len(prints) <= FULL_GRID_FRAMES:
        return windows.best(prints)
    sims, which = sparse_windows.best(prints)
    which = sparse[which]
    keep = np.argsort(-sims, kind="stable")[:FULL_GRID_FRAMES]
    full_sims, full_which = windows.best(prints[keep])
    sims[keep], which[keep] = full_sims, full_which
    return sims, which


class _Windows:
    """Correlations of fixed predicted windows with many stored prints."""

    def __init__(self, bounds: list[tuple[int, int, int, int]], vectors: np.ndarray) -> None:
        self.vectors = np.ascontiguousarray(vectors, np.float32)  # (SIDE*SIDE, k)
        masks = np.zeros((len(bounds), SIDE, SIDE), np.float32)
        for k, (top, bottom, left, right) in enumerate(bounds):
            masks[k, top:bottom, left:right] = 1.0
        self.masks = np.ascontiguousarray(masks.reshape(len(bounds), -1).T)  # (SIDE*SIDE, k): window sums by BLAS
        self.count = self.masks.sum(axis=0)

    def best(self, prints: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(best correlation of each print over the windows, its up to STARTS best windows, best first)."""
        best = np.empty(len(prints), np.float32)
        which = np.empty((len(prints), min(STARTS, len(self.count))), np.int64)
        for start in range(0, len(prints), CHUNK):
            x = np.asarray(prints[start:start + CHUNK], np.float32)
            sims = self._correlations(x)
            top = np.argsort(-sims, axis=1)[:, :which.shape[1]] if which.shape[1] > 1 else np.argmax(sims, 1)[:, None]
            which[start:start + len(x)] = top
            best[start:start + len(x)] = sims[np.arange(len(x)), top[:, 0]]
        return best, which

    def _correlations(self, x: np.ndarray) -> np.ndarray:
        # The vectors are zero-mean inside their window and zero outside: x's window mean drops out.
        numerator = x @ self.vectors
        total, squares = x @ self.masks, (x * x) @ self.masks
        energy = squares - total * total / self.count
        return np.where(energy >= MIN_WINDOW_ENERGY, numerator / np.sqrt(np.maximum(energy, MIN_WINDOW_ENERGY)), 0.0)


def _similarity(query: CroppedQuery, print_: np.ndarray, crop: Crop) -> float:
    """Correlation of the picture, taken as ``crop`` of the frame, with that frame's ``print_``."""
    cells = query.cells(crop)
    if cells is None:
        return -1.0
    top, bottom, left, right = crop.cells()
    window = print_.reshape(SIDE, SIDE)[top:bottom, left:right].astype(np.float64)
    window = window - window.mean()
    energy = float((window * window).sum())
    if energy < MIN_WINDOW_ENERGY:
        return 0.0
    return float((cells[top:bottom, left:right] * window).sum()) / np.sqrt(energy)


def _refine(query: CroppedQuery, print_: np.ndarray, crop: Crop) -> tuple[float, Crop]:
    """The crop near ``crop`` that makes the picture most alike ``print_``, and that similarity."""
    best, best_crop = _similarity(query, print_, crop), crop
    for step in REFINE_STEPS:
        improved = True
        while improved:
            improved = False
            for candidate in best_crop.nudged(step):
                sim = _similarity(query, print_, candidate)
                if sim > best + 1e-6:
                    best, best_crop, improved = sim, candidate, True
    return best, best_crop

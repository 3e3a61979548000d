"""A cheap test of whether a frame probably holds text, where, and a signature that tells when the text changed.

Why: OCR costs ~0.5-2 s a frame; this costs ~1 ms on a working-size (256 px high) grey frame, so it runs on a
few frames a second inside the analysis decode (no extra decode) and only the frames it flags are read.

How: text is rows of strokes with sharp edges on both sides, at a regular height. The morphological gradient
(dilate - erode) marks edges; a wide, short closing joins the letters of a word and the words of a line into
one blob; a blob is text-like when it is wider than tall, of a text height, and densely but not solidly edged
(letters are mostly edge; a filled shape's edge is only its outline, noise and texture are edge everywhere and
join into blobs taller than a line). The same function at full resolution gives the OCR its crops.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

#: Edge strength (grey levels, 0..255) a stroke's border must have.
EDGE_THRESHOLD = 32
#: Text line height in pixels of the analysed image: 4-31 px of a 256 px frame.
MIN_LINE_HEIGHT_SHARE = 0.015
MAX_LINE_HEIGHT_SHARE = 0.12
#: A line is at least this many times as wide as it is tall (one short word "EXIT" is ~2.5).
MIN_ASPECT = 1.6
#: Share of a text line's box that is edge pixels: letters 0.25-0.7; a filled shape's outline or a flat band less.
MIN_EDGE_FILL, MAX_EDGE_FILL = 0.22, 1.0
#: Letters closer than this many letter heights join into one line.
JOIN_GAP = 1.2
#: Strokes a line's middle rows cross per line height of its width (letters: 1.5-3; a box outline: under 1).
MIN_STROKES_PER_HEIGHT = 0.0
#: A line of at least this many pieces of one height is letters; any other must cross MIN_GREY_STROKES per
#: height in the grey picture (measured: drawn text 1.6-3.3, a motorway camera's foliage and cars 0.3-1.3).
MIN_LETTERS = 3
MIN_GREY_STROKES = 1.5
#: Share of a line's pieces within 0.6-1.4 times their median height.
MIN_ALIKE_LETTERS = 0.6
#: A frame "has text" when text-like blobs cover at least this share of it.
MIN_TEXT_SHARE = 0.002
#: Signature grid: the frame as cells; a cell is "text" when a text blob covers part of it.
GRID = (24, 14)
#: The signature's stroke-density image is GRID times this (96x56): other words in the same place differ by
#: 55-85 levels, the same words over a moving background by 0-4 drawn and ~11 after H.264 (measured).
PATCH_SCALE = 4


@dataclass(frozen=True)
class Region:
    """A text-like blob: its box in pixels of the analysed image."""

    x: int
    y: int
    w: int
    h: int

    def scaled(self, factor: float) -> Region:
        return Region(round(self.x * factor), round(self.y * factor), round(self.w * factor), round(self.h * factor))


@dataclass(frozen=True)
class Presence:
    """What the test saw on one frame: the text-like regions, the share of the frame they cover, a signature."""

    regions: tuple[Region, ...]
    share: float
    cells: np.ndarray  # GRID-shaped bool: where text is
    patch: np.ndarray  # tiny grey image of the text cells only (zero elsewhere): which words, roughly

    @property
    def has_text(self) -> bool:
        return self.share >= MIN_TEXT_SHARE


def text_regions(grey: np.ndarray, edge_threshold: int = EDGE_THRESHOLD) -> list[Region]:
    """Text-like lines of a grey (uint8) image, largest first (see :func:`_text_lines`)."""
    return _text_lines(grey, edge_threshold)[0]


def _text_lines(grey: np.ndarray, edge_threshold: int = EDGE_THRESHOLD) -> tuple[list[Region], np.ndarray]:
    """(text-like lines, largest first; the letter-sized edge pieces as a 0/1 image). of a grey (uint8) image, largest first.

    Two steps, so that lines, shapes and noise never join the text: first the edge map's connected pieces
    are kept only when they are letter-sized (a letter, or a word whose letters touch; not a speck of noise,
    a long line or a big shape's outline); then only those are joined sideways into lines, and a line must be
    wide (several letters) and densely edged.
    """
    height, width = grey.shape
    min_h = max(3, round(height * MIN_LINE_HEIGHT_SHARE))
    max_h = max(min_h + 1, round(height * MAX_LINE_HEIGHT_SHARE))
    smooth = cv2.medianBlur(grey, 3)  # film grain and noise off, strokes kept
    gradient = cv2.morphologyEx(smooth, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    edges = (gradient >= edge_threshold).astype(np.uint8)
    count, labels, stats = components(edges)
    h, w, area = stats[:, cv2.CC_STAT_HEIGHT], stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_AREA]
    letter = (h >= min_h * 0.6) & (h <= max_h) & (w <= max_h * 12) & (area >= 0.15 * h * w)
    letter[0] = False
    letters = letter[labels].astype(np.uint8)
    # Join each letter to its neighbours: a gap up to JOIN_GAP of its own height (a monospaced font's wide
    # spacing, the space between words), so the joining scales with the text, whatever its size.
    blobs = np.zeros_like(letters)
    letter_boxes = stats[np.flatnonzero(letter), :4]
    for x, y, bw, bh in letter_boxes.tolist():
        pad = round(JOIN_GAP * bh / 2)
        blobs[y:y + bh, max(0, x - pad):x + bw + pad] = 1
    count, line_labels, stats = components(blobs)
    members: dict[int, list[int]] = {}  # line label -> heights of its letters
    for x, y, bw, bh in letter_boxes.tolist():
        members.setdefault(int(line_labels[y + bh // 2, x + bw // 2]), []).append(bh)
    found = []
    for label in range(1, count):
        x, y, bw, bh, _area = stats[label]
        if not (min_h <= bh <= max_h and bw >= MIN_ASPECT * bh):
            continue
        box = letters[y:y + bh, x:x + bw]
        fill = float(box.mean())
        strokes = strokes_per_height(box)
        if MIN_EDGE_FILL <= fill <= MAX_EDGE_FILL and strokes >= MIN_STROKES_PER_HEIGHT \
                and lettered(members.get(label, []), int(bh), grey[y:y + bh, x:x + bw]):
            found.append(Region(int(x), int(y), int(bw), int(bh)))
    found.sort(key=lambda r: r.w * r.h, reverse=True)
    return found, letters


def lettered(heights: list[int], line_height: int, grey_box: np.ndarray) -> bool:
    """Whether a line's pieces look like letters of one row: three or more, most of one height that spans
    most of the line (texture, foliage, cars give pieces of every height); or, in the grey picture, strokes
    crossed densely on both sides of its threshold (outlined subtitles and bold words, whose letters touch
    into one piece: light fill, dark outline, background alternate along a row; foliage does not)."""
    if len(heights) >= MIN_LETTERS:
        typical = float(np.median(heights))
        alike = sum(0.6 * typical <= h <= 1.4 * typical for h in heights) / len(heights)
        if alike >= MIN_ALIKE_LETTERS and typical >= 0.45 * line_height:
            return True
    _, light = cv2.threshold(grey_box, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return min(strokes_per_height(light), strokes_per_height(1 - light)) >= MIN_GREY_STROKES


def components(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected components of a 0/1 image: (count, labels, stats), as cv2.connectedComponentsWithStats.

    Spaghetti labelling, single-threaded, 16-bit labels: 0.4 ms on a working-size frame against 1.6 ms for
    OpenCV's default (its parallel variant loses on busy cores); 16 bits hold every label an image under
    262144 pixels can have (at most one per 2x2 block).
    """
    label_type = cv2.CV_16U if mask.size < 4 * 65535 else cv2.CV_32S
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, label_type, cv2.CCL_SPAGHETTI)
    return count, labels, stats


def strokes_per_height(box: np.ndarray) -> float:
    """Edge runs crossed along the box's middle rows, per box height of its width: a row through letters
    crosses strokes every fraction of a letter height; one through a rectangle's outline crosses two."""
    height, width = box.shape
    rows = box[[height * 3 // 10, height // 2, height * 7 // 10]].astype(np.int8)
    starts = (np.diff(rows, axis=1) == 1).sum(axis=1) + rows[:, 0]
    return float(starts.mean()) * height / width


_NO_CELLS = np.zeros(GRID[::-1], dtype=bool)
_NO_PATCH = np.zeros((GRID[1] * PATCH_SCALE, GRID[0] * PATCH_SCALE), dtype=np.uint8)


def presence(grey: np.ndarray) -> Presence:
    """The test on one grey frame (any size; working-size frames are what it was tuned on)."""
    regions, letters = _text_lines(grey)
    height, width = grey.shape
    mask = np.zeros_like(grey, dtype=np.uint8)
    for r in regions:
        mask[r.y:r.y + r.h, r.x:r.x + r.w] = 1
    share = float(mask.mean()) if regions else 0.0
    if share < MIN_TEXT_SHARE:  # no text: the signature is never compared (see :func:`changed`)
        return Presence(tuple(regions), share, _NO_CELLS, _NO_PATCH)
    cells = cv2.resize(mask, GRID, interpolation=cv2.INTER_AREA) > 0.05
    size = (GRID[0] * PATCH_SCALE, GRID[1] * PATCH_SCALE)
    # The letters' strokes, not the grey: what stands behind thin or see-through text moves, its strokes stay.
    small = cv2.resize(letters * 255, size, interpolation=cv2.INTER_AREA)
    keep = cv2.resize(cells.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    return Presence(tuple(regions), share, cells, (small * keep).astype(np.uint8))


#: Signatures differ ("the text changed") when this share of text cells is in one frame only...
CELL_CHANGE = 0.3
#: ...or this share of the text cells both have changed: their stroke-density image differs by PATCH_CHANGE
#: levels (0..255) or more on average (one line of two replaced, a word of a line changed).
PATCH_CHANGE = 25.0
CHANGED_CELLS = 0.15


def changed(a: Presence, b: Presence) -> bool:
    """Whether the text of ``b`` differs from that of ``a`` (appeared, went, moved or other words)."""
    if a.has_text != b.has_text:
        return True
    if not a.has_text:
        return False
    union = np.logical_or(a.cells, b.cells).sum()
    if union and np.logical_xor(a.cells, b.cells).sum() / union >= CELL_CHANGE:
        return True
    both = np.logical_and(a.cells, b.cells)
    if not both.any():
        return True
    diff = np.abs(a.patch.astype(np.int16) - b.patch.astype(np.int16))
    per_cell = diff.reshape(GRID[1], PATCH_SCALE, GRID[0], PATCH_SCALE).mean(axis=(1, 3))
    return float((per_cell[both] >= PATCH_CHANGE).mean()) >= CHANGED_CELLS


def union_box(regions: Iterable[Region]) -> Region | None:
    regions = list(regions)
    if not regions:
        return None
    x0, y0 = min(r.x for r in regions), min(r.y for r in regions)
    x1, y1 = max(r.x + r.w for r in regions), max(r.y + r.h for r in regions)
    return Region(x0, y0, x1 - x0, y1 - y0)

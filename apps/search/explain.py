"""Which part of a frame matches a query: an occlusion heat map that works for any Embedder.

Model-agnostic on purpose (torch, ONNX, ruclip alike): no gradients or attention maps, only
``encode_images``. The frame is cut into a ``grid`` x ``grid`` raster; for each cell a copy of the frame
with that cell covered (by the frame's mean colour, or blurred) is embedded, all copies in one batched
call. A cell's heat is how much the cosine similarity to the query drops when it is hidden
(Zeiler & Fergus 2014, occlusion sensitivity). Cells whose removal raises the similarity get no heat.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

from apps.search.embedders.base import Embedder

#: Frames are explained at this longest side: the models look at ~224 px anyway, and it bounds the cost.
WORKING_MAX_SIDE = 448

#: Colour map stops (position, RGB): dark blue -> cyan -> yellow -> red, readable over photos.
_STOPS = ((0.0, (30, 30, 160)), (0.35, (0, 200, 220)), (0.7, (250, 220, 0)), (1.0, (230, 20, 20)))


def _working_copy(image: Image.Image) -> Image.Image:
    image = image.convert("RGB")
    if max(image.size) > WORKING_MAX_SIDE:
        image = image.copy()
        image.thumbnail((WORKING_MAX_SIDE, WORKING_MAX_SIDE), Image.Resampling.BICUBIC)
    return image


def _cell_boxes(width: int, height: int, grid: int) -> list[tuple[int, int, int, int]]:
    xs = np.linspace(0, width, grid + 1).round().astype(int)
    ys = np.linspace(0, height, grid + 1).round().astype(int)
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(grid) for c in range(grid)]


def occlusion_map(embedder: Embedder, image: Image.Image, query_vector: np.ndarray, grid: int = 7,
                  mode: str = "mean") -> np.ndarray:
    """(grid, grid) float32 similarity drops (>= 0) when each cell is hidden; row 0 is the top."""
    if grid < 1:
        raise ValueError("grid must be >= 1")
    if mode not in ("mean", "blur"):
        raise ValueError("mode must be 'mean' or 'blur'")
    base = _working_copy(image)
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    if mode == "blur":
        cover = base.filter(ImageFilter.GaussianBlur(radius=max(base.size) / grid))
    else:
        mean = tuple(int(v) for v in np.asarray(base).reshape(-1, 3).mean(axis=0).round())
        cover = Image.new("RGB", base.size, mean)
    copies = [base]
    for box in _cell_boxes(*base.size, grid):
        masked = base.copy()
        masked.paste(cover.crop(box), box[:2])
        copies.append(masked)
    sims = embedder.encode_images(copies) @ query
    drops = np.clip(sims[0] - sims[1:], 0.0, None)
    return drops.reshape(grid, grid).astype(np.float32)


def colorize(heat: np.ndarray) -> np.ndarray:
    """Map values in [0, 1] to RGB uint8 with the stop colour map."""
    heat = np.clip(np.asarray(heat, dtype=np.float32), 0.0, 1.0)
    positions = np.array([p for p, _ in _STOPS], dtype=np.float32)
    colours = np.array([c for _, c in _STOPS], dtype=np.float32)
    rgb = np.stack([np.interp(heat, positions, colours[:, ch]) for ch in range(3)], axis=-1)
    return rgb.round().astype(np.uint8)


def overlay(image: Image.Image, heat: np.ndarray, alpha: float = 0.6) -> Image.Image:
    """Blend a (rows, cols) heat grid, upsampled smoothly to the image size, over the image."""
    image = image.convert("RGB")
    peak = float(heat.max()) if heat.size else 0.0
    norm = (heat / peak) if peak > 0 else np.zeros_like(heat)
    up = Image.fromarray(norm.astype(np.float32), mode="F").resize(image.size, Image.Resampling.BILINEAR)
    h = np.clip(np.asarray(up, dtype=np.float32), 0.0, 1.0)[..., None]
    weight = alpha * (0.25 + 0.75 * h)  # some tint everywhere so cold regions read as cold, not as untouched
    out = np.asarray(image, dtype=np.float32) * (1 - weight) + colorize(h[..., 0]).astype(np.float32) * weight
    return Image.fromarray(out.round().clip(0, 255).astype(np.uint8), mode="RGB")


def explain_match(embedder: Embedder, image: Image.Image, query_vector: np.ndarray, grid: int = 7,
                  mode: str = "mean", alpha: float = 0.6) -> Image.Image:
    """The frame (at most WORKING_MAX_SIDE px) with a heat overlay of where it matches the query."""
    heat = occlusion_map(embedder, image, query_vector, grid=grid, mode=mode)
    return overlay(_working_copy(image), heat, alpha=alpha)


def explain_png(embedder: Embedder, image: Image.Image, query_vector: np.ndarray, grid: int = 7) -> bytes:
    """``explain_match`` encoded as PNG bytes (for an HTTP response)."""
    buf = io.BytesIO()
    explain_match(embedder, image, query_vector, grid=grid).save(buf, format="PNG")
    return buf.getvalue()

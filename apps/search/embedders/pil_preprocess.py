"""open_clip's eval image transform re-implemented with PIL + numpy (no torch, no torchvision).

Used by the ONNX backend so the request path needs no torch. It follows
``open_clip.transform.image_transform(is_train=False)`` step by step (torchvision's resize on PIL
images is ``PIL.Image.resize``; its size and crop rounding are copied here), so pixels match torch's
preprocessing exactly; the tests compare both.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image, ImageOps

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class PreprocessParams:
    """The fields of open_clip's PreprocessCfg that the eval transform uses."""

    size: tuple[int, int] = (224, 224)  #: (height, width)
    mean: tuple[float, ...] = OPENAI_MEAN
    std: tuple[float, ...] = OPENAI_STD
    interpolation: str = "bicubic"
    resize_mode: str = "shortest"
    fill_color: int = 0
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_dict(cls, cfg: dict[str, Any]) -> PreprocessParams:
        size = cfg.get("size", 224)
        size = (int(size), int(size)) if isinstance(size, int | float) else (int(size[0]), int(size[-1]))
        return cls(size=size, mean=tuple(cfg.get("mean", OPENAI_MEAN)), std=tuple(cfg.get("std", OPENAI_STD)),
                   interpolation=cfg.get("interpolation", "bicubic"), resize_mode=cfg.get("resize_mode", "shortest"),
                   fill_color=int(cfg.get("fill_color", 0)))

    def to_dict(self) -> dict[str, Any]:
        return {"size": list(self.size), "mean": list(self.mean), "std": list(self.std),
                "interpolation": self.interpolation, "resize_mode": self.resize_mode, "fill_color": self.fill_color}


def _resample(name: str) -> Image.Resampling:
    return Image.Resampling.BILINEAR if name == "bilinear" else Image.Resampling.BICUBIC


def _resize_short_side(img: Image.Image, size: int, resample: Image.Resampling) -> Image.Image:
    """torchvision ``Resize(int)``: shortest side to ``size``, long side truncated, no-op if already there."""
    w, h = img.size
    short, long = (w, h) if w <= h else (h, w)
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return img if (new_w, new_h) == (w, h) else img.resize((new_w, new_h), resample)


def _resize_exact(img: Image.Image, hw: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    return img if img.size == (hw[1], hw[0]) else img.resize((hw[1], hw[0]), resample)


def _resize_keep_ratio(
    img: Image.Image, hw: tuple[int, int], longest: float, resample: Image.Resampling
) -> Image.Image:
    """open_clip's ``ResizeKeepRatio`` (from timm) without its random parts."""
    w, h = img.size
    ratio_h, ratio_w = h / hw[0], w / hw[1]
    ratio = max(ratio_h, ratio_w) * longest + min(ratio_h, ratio_w) * (1.0 - longest)
    return _resize_exact(img, (round(h / ratio), round(w / ratio)), resample)


def _center_crop_or_pad(img: Image.Image, hw: tuple[int, int], fill: int) -> Image.Image:
    """torchvision ``center_crop`` / open_clip ``center_crop_or_pad``: pad when smaller, then crop."""
    crop_h, crop_w = hw
    w, h = img.size
    if crop_w > w or crop_h > h:
        left = (crop_w - w) // 2 if crop_w > w else 0
        top = (crop_h - h) // 2 if crop_h > h else 0
        right = (crop_w - w + 1) // 2 if crop_w > w else 0
        bottom = (crop_h - h + 1) // 2 if crop_h > h else 0
        bands = len(img.getbands())  # an int fill on RGB would mean a packed colour, not a grey level
        img = ImageOps.expand(img, (left, top, right, bottom), fill=fill if bands == 1 else (fill,) * bands)
        w, h = img.size
        if (w, h) == (crop_w, crop_h):
            return img
    top = int(round((h - crop_h) / 2.0))
    left = int(round((w - crop_w) / 2.0))
    return img.crop((left, top, left + crop_w, top + crop_h))


def preprocess_image(img: Image.Image, params: PreprocessParams) -> np.ndarray:
    """One image -> float32 (3, H, W), normalised, as open_clip's eval transform would produce."""
    resample = _resample(params.interpolation)
    hw = params.size
    if params.resize_mode == "squash":
        img = _resize_exact(img, hw, resample)
    elif params.resize_mode == "longest":
        img = _resize_keep_ratio(img, hw, 1.0, resample)
        img = _center_crop_or_pad(img, hw, params.fill_color)
    else:  # "shortest"
        if hw[0] == hw[1]:
            img = _resize_short_side(img, hw[0], resample)
        else:  # open_clip uses ResizeKeepRatio here, always bicubic
            img = _resize_keep_ratio(img, hw, 0.0, Image.Resampling.BICUBIC)
        img = _center_crop_or_pad(img, hw, 0)
    if img.mode != "RGB":
        img = img.convert("RGB")
    x = np.asarray(img, dtype=np.float32) / 255.0
    x = (x - np.asarray(params.mean, dtype=np.float32)) / np.asarray(params.std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def preprocess_batch(images: Sequence[Image.Image], params: PreprocessParams) -> np.ndarray:
    """Images -> float32 (N, 3, H, W)."""
    return np.stack([preprocess_image(img, params) for img in images]).astype(np.float32, copy=False)

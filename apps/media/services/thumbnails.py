"""Keyframe and photo images saved as JPEG under MEDIA_ROOT.

Keyframes are saved at the working resolution (short side 256 px): they serve as thumbnails on
the page and are what an index rebuild re-embeds, so a rebuild never decodes videos again.
"""
from __future__ import annotations

from PIL import Image

from . import storage

JPEG_QUALITY = 90
PHOTO_THUMB_SIDE = 384


def save_jpeg(image: Image.Image, relative_path: str) -> str:
    target = storage.absolute(relative_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(target, "JPEG", quality=JPEG_QUALITY)
    return relative_path


def photo_thumbnail(image: Image.Image) -> Image.Image:
    thumb = image.copy()
    thumb.thumbnail((PHOTO_THUMB_SIDE, PHOTO_THUMB_SIDE), Image.Resampling.BICUBIC)
    return thumb

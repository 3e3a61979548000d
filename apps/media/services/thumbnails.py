"""Keyframe and photo images saved as JPEG under MEDIA_ROOT.

Keyframes are saved at the working resolution (short side 256 px): they serve as thumbnails on
the page and are what an index rebuild re-embeds, so a rebuild never decodes videos again. Each also
gets a smaller copy beside it (:func:`save_small_copy`), which pages offer in ``srcset``: a result
cell is 240-290 CSS px wide and a filmstrip frame 96-128, so a screen of ordinary density loads
that copy (about half the bytes) and high-density screens and phones the keyframe itself.
"""
from __future__ import annotations

from PIL import Image

from . import storage

JPEG_QUALITY = 90
PHOTO_THUMB_SIDE = 384
#: Width of a keyframe's small copy, and the end of its name (``000012400.jpg`` -> ``000012400.w320.jpg``).
SMALL_WIDTH = 320
SMALL_SUFFIX = f".w{SMALL_WIDTH}.jpg"
SMALL_JPEG_QUALITY = 85


def save_jpeg(image: Image.Image, relative_path: str) -> str:
    target = storage.absolute(relative_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    image.convert("RGB").save(target, "JPEG", quality=JPEG_QUALITY)
    return relative_path


def photo_thumbnail(image: Image.Image) -> Image.Image:
    thumb = image.copy()
    thumb.thumbnail((PHOTO_THUMB_SIDE, PHOTO_THUMB_SIDE), Image.Resampling.BICUBIC)
    return thumb


def small_name(relative_path: str) -> str:
    """Where the small copy of the thumbnail at ``relative_path`` is (also works on its URL)."""
    return relative_path.removesuffix(".jpg") + SMALL_SUFFIX


def save_small_copy(image: Image.Image, relative_path: str) -> str | None:
    """Save a :data:`SMALL_WIDTH`-wide copy beside the thumbnail at ``relative_path``; none when the image
    is not wider than that (the thumbnail itself is then small enough)."""
    if image.width <= SMALL_WIDTH:
        return None
    height = max(1, round(image.height * SMALL_WIDTH / image.width))
    small = image.convert("RGB").resize((SMALL_WIDTH, height), Image.Resampling.LANCZOS)
    target = storage.absolute(small_name(relative_path))
    target.parent.mkdir(parents=True, exist_ok=True)
    small.save(target, "JPEG", quality=SMALL_JPEG_QUALITY)
    return small_name(relative_path)

"""Safe image opening for photos and query images.

Pillow decodes lazily: the header gives the size, so an oversized image is refused before its
pixels are decoded, and JPEGs are decoded at reduced scale when we only need a small version.
"""
from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from PIL import Image, ImageOps, UnidentifiedImageError

#: Longest side we ever need: CLIP models take at most a few hundred pixels, thumbnails less.
WORKING_MAX_SIDE = 1024


class ImageLoadError(ValueError):
    """The data is not a usable image; the message is meant for the user."""


def open_image(source: Path | str | BinaryIO, *, max_pixels: int, max_side: int = WORKING_MAX_SIDE) -> Image.Image:
    """Open, orient (EXIF) and convert to RGB an image no larger than ``max_pixels`` pixels."""
    try:
        img = Image.open(source)
        width, height = img.size
        if width * height > max_pixels:
            raise ImageLoadError(
                f"image is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the limit of "
                f"{max_pixels / 1e6:.0f} megapixels"
            )
        if img.format == "JPEG":
            img.draft("RGB", (max_side, max_side))
        img = ImageOps.exif_transpose(img)
        img = img.convert("RGB")
        img.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
        return img
    except ImageLoadError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageLoadError(f"image is too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise ImageLoadError("not an image file Pillow can read (supported: JPEG, PNG, WebP, BMP, GIF, TIFF)") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageLoadError(f"image data is corrupt or truncated: {exc}") from exc

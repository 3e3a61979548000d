"""``{{ url|thumb_srcset }}``: the ``srcset`` of a stored keyframe thumbnail, so that a browser loads its small
copy (apps/media/services/thumbnails.py) when that is enough for the space and the screen's density."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlparse

from django import template
from django.conf import settings
from PIL import Image, UnidentifiedImageError

from apps.media.services import storage, thumbnails

register = template.Library()


@register.filter
def thumb_srcset(url: str | None) -> str:
    """'<small> 320w, <thumbnail> 455w'; '' when the thumbnail has no small copy (ingested before there were
    any, or not wider than it): the ``src`` alone then."""
    if not url:
        return ""
    relative = unquote(urlparse(url).path).removeprefix(settings.MEDIA_URL)
    if not relative.endswith(".jpg") or relative.endswith(thumbnails.SMALL_SUFFIX):
        return ""
    width = _width(storage.absolute(relative), storage.absolute(thumbnails.small_name(relative)))
    if width is None:
        return ""
    return f"{thumbnails.small_name(url)} {thumbnails.SMALL_WIDTH}w, {url} {width}w"


def _width(full: Path, small: Path) -> int | None:
    """The thumbnail's width when it has a small copy (read from the file's header: no decoding)."""
    try:
        return _header_width(str(full), full.stat().st_mtime_ns) if small.is_file() else None
    except (OSError, UnidentifiedImageError):
        return None


@lru_cache(maxsize=4096)
def _header_width(path: str, mtime_ns: int) -> int:
    with Image.open(path) as image:
        return image.width

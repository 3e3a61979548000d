"""The content types media files are served with: an allowlist by extension, nothing guessed.

A stored file is whatever someone uploaded under whatever name. Served with a guessed type, an
"x.html" or "x.svg" would run its script in this site's origin; so only these video and image types
are answered inline, and anything else is a download (application/octet-stream, attachment).
"""
from __future__ import annotations

from pathlib import PurePath

FALLBACK_TYPE = "application/octet-stream"

#: Lower-case extension -> the content type a browser plays or shows it as.
INLINE_TYPES: dict[str, str] = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg",
    ".ts": "video/mp2t",
    ".wmv": "video/x-ms-wmv",
    ".flv": "video/x-flv",
    ".3gp": "video/3gpp",
    ".ogv": "video/ogg",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def media_type(name: str | PurePath) -> tuple[str, bool]:
    """(content type, inline) for a stored file's name: an allowed type shown inline, else a download."""
    content_type = INLINE_TYPES.get(PurePath(name).suffix.lower())
    return (content_type, True) if content_type else (FALLBACK_TYPE, False)

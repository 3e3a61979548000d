"""Where uploaded files and thumbnails live under MEDIA_ROOT, and how they get there.

Files are streamed to disk while hashing, so a multi-GB upload never sits in memory and a
duplicate is recognised by content, not by name.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

CHUNK = 1024 * 1024
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp", ".ogv"}


@dataclass(frozen=True)
class StoredUpload:
    """A file written to a temporary place under MEDIA_ROOT, not yet attached to a row."""

    temp_path: Path
    sha256: str
    size_bytes: int


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def safe_name(name: str) -> str:
    """A file name without directories or characters that trouble shells and URLs."""
    base = Path(name).name or "upload"
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "upload"
    return base[:150]


def kind_for_name(name: str) -> str:
    """'photo' for image extensions, else 'video' (probing decides whether it really is one)."""
    return "photo" if Path(name).suffix.lower() in IMAGE_EXTENSIONS else "video"


def stream_to_temp(chunks: Iterable[bytes]) -> StoredUpload:
    """Write chunks to a temp file under MEDIA_ROOT/tmp while hashing them."""
    tmp_dir = media_root() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                if size > settings.MAX_UPLOAD_BYTES:
                    raise ValueError(f"file is larger than the {settings.MAX_UPLOAD_BYTES // 2**20} MB upload limit")
                out.write(chunk)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return StoredUpload(Path(name), digest.hexdigest(), size)


def read_chunks(stream: BinaryIO) -> Iterable[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def place(upload: StoredUpload, relative_dir: str, original_name: str) -> str:
    """Move a temp upload to its final place; returns the path relative to MEDIA_ROOT."""
    target_dir = media_root() / relative_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{upload.sha256[:12]}-{safe_name(original_name)}"
    shutil.move(str(upload.temp_path), target)
    return str(target.relative_to(media_root()))


def absolute(relative: str) -> Path:
    return media_root() / relative


def remove_tree(relative_dir: str) -> None:
    shutil.rmtree(media_root() / relative_dir, ignore_errors=True)


def thumbnail_dir(collection_id: int, kind: str, item_id: int) -> str:
    return f"thumbs/c{collection_id}/{kind}{item_id}"

"""Where uploaded files and thumbnails live under MEDIA_ROOT, and how they get there.

Files are streamed to disk while hashing, so a multi-GB upload never sits in memory and a
duplicate is recognised by content, not by name. Content also decides what a file is: its first
bytes are sniffed before the rest is written, and what is no photo or video is refused there.
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
from django.utils.translation import gettext

from . import sniff

CHUNK = 1024 * 1024
IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".wmv", ".flv", ".3gp", ".ogv"}


@dataclass(frozen=True)
class StoredUpload:
    """A file written to a temporary place under MEDIA_ROOT, not yet attached to a row."""

    temp_path: Path
    sha256: str
    size_bytes: int
    media: sniff.MediaFormat

    @property
    def kind(self) -> str:
        return self.media.kind


def media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def safe_name(name: str) -> str:
    """A file name without directories or characters that trouble shells and URLs."""
    base = Path(name).name or "upload"
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._") or "upload"
    return base[:150]


def stored_name(original_name: str, media: sniff.MediaFormat) -> str:
    """safe_name(original_name), ending in an extension of its sniffed format.

    The file server types files by extension, so a PNG sent as ``photo.mp4`` is stored as
    ``photo.png``: whatever a client names a file, it is served as the image or video it is.
    """
    name = safe_name(original_name)
    path = Path(name)
    if path.suffix.lower() in media.extensions:
        return name
    return f"{path.stem if path.suffix else name}{media.extension}"


def stream_to_temp(chunks: Iterable[bytes], name: str = "upload", expect: str | None = None) -> StoredUpload:
    """Write chunks to a temp file under MEDIA_ROOT/tmp while hashing them.

    The first bytes are sniffed before anything else is written: content that is no photo or video
    (or not the ``expect``-ed kind) raises :class:`sniff.UnacceptedFileError`, a file over
    MAX_UPLOAD_BYTES a ValueError; either way the temp file is gone. (The upload handler of
    ``apps.media.upload_limits`` already stops over-limit requests; this is the second line, and the
    only one for files added from the server's disk.)
    """
    tmp_dir = media_root() / "tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    media: sniff.MediaFormat | None = None
    fd, temp = tempfile.mkstemp(dir=tmp_dir, prefix="upload-")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                if size > settings.MAX_UPLOAD_BYTES:
                    raise ValueError(gettext("'%(name)s' is larger than the %(limit)s upload limit")
                                     % {"name": name, "limit": limit_text()})
                if media is None:
                    head += chunk
                    if len(head) >= sniff.HEAD_BYTES:
                        media = sniff.check_head(head, name, expect)
                out.write(chunk)
        if media is None:  # a file shorter than the sniffed head
            media = sniff.check_head(head, name, expect)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return StoredUpload(Path(temp), digest.hexdigest(), size, media)


def limit_text(limit: int | None = None) -> str:
    """MAX_UPLOAD_BYTES for people: '4096 MB' (or bytes when it is no whole number of MB)."""
    limit = settings.MAX_UPLOAD_BYTES if limit is None else limit
    return f"{limit // 2**20} MB" if limit % 2**20 == 0 else f"{limit} bytes"


def read_chunks(stream: BinaryIO) -> Iterable[bytes]:
    while chunk := stream.read(CHUNK):
        yield chunk


def place(upload: StoredUpload, relative_dir: str, original_name: str) -> str:
    """Move a temp upload to its final place; returns the path relative to MEDIA_ROOT."""
    target_dir = media_root() / relative_dir
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / f"{upload.sha256[:12]}-{stored_name(original_name, upload.media)}"
    shutil.move(str(upload.temp_path), target)
    return str(target.relative_to(media_root()))


def absolute(relative: str) -> Path:
    return media_root() / relative


def is_stored(relative: str) -> bool:
    """Whether a row's file (its path relative to MEDIA_ROOT) is on disk; a blank path never is."""
    return bool(relative) and absolute(relative).is_file()


def remove_tree(relative_dir: str) -> None:
    shutil.rmtree(media_root() / relative_dir, ignore_errors=True)


def thumbnail_dir(collection_id: int, kind: str, item_id: int) -> str:
    return f"thumbs/c{collection_id}/{kind}{item_id}"


#: Suffix of the folder an ingest fills before it replaces the item's thumbnail folder (keyframe_store).
STAGING_SUFFIX = ".new"
#: The folder a re-ingest's new thumbnails replace, for the moment between two renames.
REPLACED_SUFFIX = ".old"


def staging_dir(collection_id: int, kind: str, item_id: int) -> str:
    return thumbnail_dir(collection_id, kind, item_id) + STAGING_SUFFIX


def item_dir(collection_id: int, kind: str) -> str:
    """Where a collection's videos or photos are stored ('videos/c3')."""
    return f"{kind}s/c{collection_id}"


def sidecar_dir(collection_id: int, video_id: int) -> str:
    """Where the subtitle files found beside an imported video are kept ('subtitles/c3/video12'), so every
    ingest of it reads them (services/subtitle_reading.py)."""
    return f"subtitles/c{collection_id}/video{video_id}"


def collection_dirs(collection_id: int) -> list[str]:
    """Every folder that holds files of one collection (removed with it)."""
    return [item_dir(collection_id, "video"), item_dir(collection_id, "photo"), f"thumbs/c{collection_id}",
            f"subtitles/c{collection_id}"]


def lock_path(kind: str, item_id: int) -> Path:
    """The file an ingest run of one item locks (see ingest.item_lock)."""
    return media_root() / "locks" / f"{kind}-{item_id}.lock"


def collection_lock_path(collection_id: int) -> Path:
    """The file held while a collection's vectors are added or an item's are dropped (see apps/search/vectors.item_write)."""
    return media_root() / "locks" / f"collection-{collection_id}.lock"

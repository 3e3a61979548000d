"""Files under MEDIA_ROOT and INDEX_ROOT that no row refers to any more, and their removal.

Why: a worker killed mid-write, or an ingest that outlived its item, leaves things the normal paths
never look at again: stored files without a row, thumbnail folders of deleted items, ``.new``
staging folders, ``.tmp`` index files, lock files and folders of deleted items and collections.

Nothing in use is reported: what an ingest is writing sits behind its item's lock (checked, and held
while removing), an index's temp files behind the index's writer lock, and files that arrive before
their row (a stored upload, an upload being received) are reported only once ``min_age_s`` old.
"""
from __future__ import annotations

import itertools
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

from analysis.fingerprints import FILE_NAME as FINGERPRINTS_FILE

from ..models import Collection, Keyframe, Photo, Video
from . import locks, storage, thumbnails

_MODELS = {"video": Video, "photo": Photo}
_THUMB_ENTRY = re.compile(r"(video|photo)(\d+)(" + re.escape(storage.STAGING_SUFFIX) + "|"
                          + re.escape(storage.REPLACED_SUFFIX) + r")?")
_LOCK_FILE = re.compile(r"(video|photo|collection)-(\d+)\.lock")
_SIDECAR_ENTRY = re.compile(r"video(\d+)")
_COLLECTION_DIR = re.compile(r"c(\d+)")
_INDEX_DIR = re.compile(r"collection-(\d+)(.*)")


@dataclass(frozen=True)
class Stray:
    """One file or folder to remove; ``item`` names the item whose lock guards it (kind, id)."""

    root: str  # "media" | "index"
    path: str  # relative to MEDIA_ROOT / INDEX_ROOT
    reason: str
    collection_id: int | None = None
    item: tuple[str, int] | None = None

    @property
    def absolute(self) -> Path:
        return (storage.media_root() if self.root == "media" else Path(settings.INDEX_ROOT)) / self.path

    def as_dict(self) -> dict:
        data = asdict(self)
        data["item"] = list(self.item) if self.item else None
        return data


def _children(folder: Path) -> Iterator[Path]:
    try:
        yield from sorted(folder.iterdir())
    except (FileNotFoundError, NotADirectoryError):
        return


def _age_s(path: Path) -> float:
    try:
        return time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return 0.0


def _media(path: Path, reason: str, collection_id: int | None = None, item: tuple[str, int] | None = None) -> Stray:
    return Stray("media", str(path.relative_to(storage.media_root())), reason, collection_id, item)


def index_stray(path: Path, reason: str, collection_id: int | None = None) -> Stray:
    return Stray("index", str(path.relative_to(settings.INDEX_ROOT)), reason, collection_id)


# ------------------------------------------------------------------ one live collection
def collection_strays(collection: Collection, min_age_s: float) -> list[Stray]:
    """Strays in the media folders of a collection that exists (its index's leftovers: apps/search/consistency.py)."""
    return [*_stored_file_strays(collection.pk, min_age_s), *_thumbnail_strays(collection.pk),
            *_sidecar_strays(collection.pk, min_age_s)]


def _sidecar_strays(collection_id: int, min_age_s: float) -> Iterator[Stray]:
    """Kept subtitle folders (storage.sidecar_dir) of videos that no longer exist (or not yet: min_age_s)."""
    live = set(Video.objects.filter(collection_id=collection_id).values_list("pk", flat=True))
    for path in _children(storage.absolute(f"subtitles/c{collection_id}")):
        match = _SIDECAR_ENTRY.fullmatch(path.name)
        if (match is None or int(match[1]) not in live) and _age_s(path) >= min_age_s:
            yield _media(path, "subtitle files of a deleted video", collection_id)


def _stored_file_strays(collection_id: int, min_age_s: float) -> Iterator[Stray]:
    for kind, model in _MODELS.items():
        folder = storage.item_dir(collection_id, kind)
        referenced = set(model.objects.filter(file__startswith=f"{folder}/").values_list("file", flat=True))
        for path in _children(storage.absolute(folder)):
            if f"{folder}/{path.name}" not in referenced and _age_s(path) >= min_age_s:
                yield _media(path, f"stored file that no {kind} refers to", collection_id)


def _thumbnail_strays(collection_id: int) -> Iterator[Stray]:
    existing = {kind: set(model.objects.filter(collection_id=collection_id).values_list("pk", flat=True))
                for kind, model in _MODELS.items()}
    live_items: dict[tuple[str, int], None] = {}  # ordered set
    for path in _children(storage.absolute(f"thumbs/c{collection_id}")):
        match = _THUMB_ENTRY.fullmatch(path.name)
        if match is None:
            yield _media(path, "not a thumbnail folder", collection_id)
            continue
        kind, pk, staging = match[1], int(match[2]), bool(match[3])
        if pk in existing[kind]:
            live_items[(kind, pk)] = None
        else:
            yield _media(path, f"{'staging folder' if staging else 'thumbnails'} of deleted {kind} {pk}", collection_id)
    for (kind, pk), referenced in _referenced_thumbnails(collection_id, live_items):
        yield from item_strays(collection_id, kind, pk, referenced=referenced)


def _referenced_thumbnails(collection_id: int, items: dict[tuple[str, int], None]) -> Iterator[
        tuple[tuple[str, int], set[str]]]:
    """(item, the thumbnail paths its rows name) for each of ``items``: two streamed queries, not one per item."""
    photos = {("photo", pk): {thumb} for pk, thumb in Photo.objects.filter(collection_id=collection_id)
              .values_list("pk", "thumbnail").iterator(chunk_size=5000) if ("photo", pk) in items}
    videos = {key for key in items if key[0] == "video"}
    rows = (Keyframe.objects.filter(video__collection_id=collection_id).order_by("video_id")
            .values_list("video_id", "thumbnail").iterator(chunk_size=5000))
    for video_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        if ("video", video_id) in videos:
            videos.discard(("video", video_id))
            yield ("video", video_id), {thumb for _, thumb in group}
    for key in sorted(videos):  # videos without keyframes
        yield key, set()
    yield from photos.items()


def item_strays(collection_id: int, kind: str, item_id: int, check_lock: bool = True,
                referenced: set[str] | None = None) -> list[Stray]:
    """An existing item's staging folder and the files in its thumbnail folder no row refers to.

    Empty while an ingest of the item runs (it holds the item's lock and is writing exactly these);
    ``check_lock=False`` is for the holder of that lock. ``referenced``: the thumbnails its rows name
    (read here when not given).
    """
    if check_lock and locks.is_held(storage.lock_path(kind, item_id)):
        return []
    item = (kind, item_id)
    found = []
    staging = storage.absolute(storage.staging_dir(collection_id, kind, item_id))
    if staging.exists():
        found.append(_media(staging, f"staging folder of an ingest of {kind} {item_id} that no longer runs",
                            collection_id, item))
    folder = storage.thumbnail_dir(collection_id, kind, item_id)
    if referenced is None:
        rows = Keyframe.objects.filter(video_id=item_id) if kind == "video" else Photo.objects.filter(pk=item_id)
        referenced = set(rows.values_list("thumbnail", flat=True))
    referenced = referenced | {thumbnails.small_name(path) for path in referenced}  # their small copies
    if kind == "video":
        referenced = referenced | {f"{folder}/{FINGERPRINTS_FILE}"}
    for path in _children(storage.absolute(folder)):
        if f"{folder}/{path.name}" not in referenced:
            found.append(_media(path, f"thumbnail file that no row of {kind} {item_id} refers to", collection_id, item))
    return found


def remove_item_strays(collection_id: int, kind: str, item_id: int) -> int:
    """Delete an item's staging folder and unreferenced thumbnail files; returns how many went. For the
    holder of the item's lock (a run of it that was killed left them: see :func:`item_strays`)."""
    return sum(_delete(stray.absolute) for stray in item_strays(collection_id, kind, item_id, check_lock=False))


# ------------------------------------------------------------------ outside any live collection
def global_strays(min_age_s: float) -> list[Stray]:
    """Folders, index directories and locks of deleted collections and items; abandoned upload temp files."""
    live = set(Collection.objects.values_list("pk", flat=True))
    found: list[Stray] = []
    for top in ("videos", "photos", "thumbs", "subtitles"):
        for path in _children(storage.absolute(top)):
            match = _COLLECTION_DIR.fullmatch(path.name)
            if match and int(match[1]) not in live:
                found.append(_media(path, f"folder of deleted collection {match[1]}"))
    for path in _children(Path(settings.INDEX_ROOT)):
        match = _INDEX_DIR.fullmatch(path.name)
        if match and int(match[1]) not in live:
            found.append(index_stray(path, f"index of deleted collection {match[1]}"))
    found += _lock_strays(live)
    for path in _children(storage.absolute("tmp")):
        if _age_s(path) >= min_age_s:
            found.append(_media(path, "temp file of an upload that never finished"))
    return found


def _lock_strays(live_collections: set[int]) -> Iterator[Stray]:
    entries = [(path, _LOCK_FILE.fullmatch(path.name)) for path in _children(storage.media_root() / "locks")]
    entries = [(path, match) for path, match in entries if match]
    if not entries:
        return
    existing = {kind: set(model.objects.values_list("pk", flat=True)) for kind, model in _MODELS.items()}
    existing["collection"] = live_collections
    for path, match in entries:
        kind, pk = match[1], int(match[2])
        if pk not in existing[kind]:
            yield _media(path, f"lock file of deleted {kind} {pk}")


# ------------------------------------------------------------------ removal
def remove(stray: Stray) -> bool:
    """Delete one stray; returns whether it was removed.

    One guarded by an item's lock is removed only while that lock is free (held meanwhile, so no
    ingest can start), and only if it still is a stray then.
    """
    if stray.item is None:
        return _delete(stray.absolute)
    kind, item_id = stray.item
    lock = storage.lock_path(kind, item_id)
    try:
        with locks.try_hold(lock, create=True) as free:  # really held: no ingest of the item starts meanwhile
            if not free or stray.collection_id is None:
                return False
            still = {s.path for s in item_strays(stray.collection_id, kind, item_id, check_lock=False)}
            return stray.path in still and _delete(stray.absolute)
    finally:
        if not _MODELS[kind].objects.filter(pk=item_id).exists():  # deleted meanwhile: no lock file of ours stays
            lock.unlink(missing_ok=True)


def _delete(path: Path) -> bool:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)
    return not path.exists()

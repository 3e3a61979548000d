"""What a deleted item or collection leaves on disk goes with it: files, thumbnails, staging folders, locks.

A delete (API, admin, cascade from its collection) and an ingest run that finds its item deleted under
it both end here, so whichever order they meet in, nothing is left. Removal runs once the delete has
committed (a rolled-back delete keeps everything). The item's vectors are search's: apps/search/signals.py
drops them once the same delete commits, under the collection's write lock, the one an ingest holds
while it checks that its item exists and adds its vectors.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass

from ..models import Collection, Photo, Video
from . import storage


@dataclass(frozen=True)
class ItemLeftovers:
    """Everything a video or photo owns on disk outside its row, captured before the row goes."""

    kind: str  # "video" | "photo"
    item_id: int
    collection_id: int
    file_name: str = ""

    @classmethod
    def of(cls, item: Video | Photo) -> ItemLeftovers:
        """Read while the row still exists (pre_delete)."""
        kind = "video" if isinstance(item, Video) else "photo"
        return cls(kind, item.pk, item.collection_id, item.file.name or "")

    def remove(self) -> None:
        """Remove the file, thumbnails, staging folder and lock (and the collection's leftovers if it went too)."""
        if not Collection.objects.filter(pk=self.collection_id).exists():
            remove_collection_leftovers(self.collection_id)  # its collection was deleted too
        if self.file_name:
            storage.absolute(self.file_name).unlink(missing_ok=True)
        storage.remove_tree(storage.thumbnail_dir(self.collection_id, self.kind, self.item_id))
        storage.remove_tree(storage.staging_dir(self.collection_id, self.kind, self.item_id))
        if self.kind == "video":
            storage.remove_tree(storage.sidecar_dir(self.collection_id, self.item_id))
        storage.lock_path(self.kind, self.item_id).unlink(missing_ok=True)


def delete_item_files(item: Video | Photo) -> None:
    """Remove the stored file and thumbnails of an item (its row stays: e.g. a file found unusable)."""
    kind = "video" if isinstance(item, Video) else "photo"
    if item.file.name:
        storage.absolute(item.file.name).unlink(missing_ok=True)
    storage.remove_tree(storage.thumbnail_dir(item.collection_id, kind, item.pk))


def remove_collection_leftovers(collection_id: int) -> None:
    """A deleted collection's index folder, media folders and write lock (each item's own lock goes with it)."""
    shutil.rmtree(Collection(pk=collection_id).index_dir, ignore_errors=True)
    for folder in storage.collection_dirs(collection_id):
        storage.remove_tree(folder)
    storage.collection_lock_path(collection_id).unlink(missing_ok=True)

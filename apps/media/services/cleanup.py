"""What a deleted item or collection leaves behind goes with it: vectors, files, thumbnails, staging folders, locks.

A delete (API, admin, cascade from its collection) and an ingest run that finds its item deleted under
it both end here, so whichever order they meet in, nothing is left. Removal runs once the delete has
committed (a rolled-back delete keeps everything), and vectors are dropped under the collection's write
lock, the one an ingest holds while it checks that its item exists and adds its vectors
(vectors.add_item_vectors): either the ingest added first and the drop removes them, or the delete
committed first and the ingest adds nothing.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass, field

from apps.search.ids import keyframe_vector_id, photo_vector_id

from ..models import Collection, Photo, Video
from . import storage, vectors


@dataclass(frozen=True)
class ItemLeftovers:
    """Everything a video or photo owns outside its row, captured before the row goes."""

    kind: str  # "video" | "photo"
    item_id: int
    collection_id: int
    file_name: str = ""
    vector_ids: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, item: Video | Photo) -> ItemLeftovers:
        """Read while the rows still exist (pre_delete): a video's keyframes go in the same delete."""
        if isinstance(item, Video):
            ids = [keyframe_vector_id(pk) for pk in item.keyframes.values_list("pk", flat=True)]
            return cls("video", item.pk, item.collection_id, item.file.name or "", ids)
        return cls("photo", item.pk, item.collection_id, item.file.name or "", [photo_vector_id(item.pk)])

    def remove(self) -> None:
        """Drop the vectors (unless the whole collection went), the file, thumbnails, staging folder and lock."""
        if Collection.objects.filter(pk=self.collection_id).exists():
            vectors.drop_vectors(self.collection_id, self.vector_ids)
        if not Collection.objects.filter(pk=self.collection_id).exists():
            # its collection was deleted too (even meanwhile, after the drop made its index folder anew)
            remove_collection_leftovers(self.collection_id)
        if self.file_name:
            storage.absolute(self.file_name).unlink(missing_ok=True)
        storage.remove_tree(storage.thumbnail_dir(self.collection_id, self.kind, self.item_id))
        storage.remove_tree(storage.staging_dir(self.collection_id, self.kind, self.item_id))
        storage.lock_path(self.kind, self.item_id).unlink(missing_ok=True)


def remove_collection_leftovers(collection_id: int) -> None:
    """A deleted collection's index folder, media folders and write lock (each item's own lock goes with it)."""
    shutil.rmtree(Collection(pk=collection_id).index_dir, ignore_errors=True)
    for folder in storage.collection_dirs(collection_id):
        storage.remove_tree(folder)
    storage.collection_lock_path(collection_id).unlink(missing_ok=True)

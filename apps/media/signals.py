"""Keep each collection's vector index and files in step with deletions, however they happen (API, admin, cascade).

A deleted item leaves nothing under MEDIA_ROOT (file, thumbnails, ingest lock); a deleted collection
also takes its folders and its index.
"""
from __future__ import annotations

import shutil

from django.db.models.signals import post_delete, pre_delete
from django.dispatch import receiver

from .models import Collection, Photo, Video
from .services import storage, vectors


@receiver(pre_delete, sender=Video)
def remove_video_vectors(sender, instance: Video, **kwargs) -> None:
    vectors.remove_video_vectors(instance)


@receiver(pre_delete, sender=Photo)
def remove_photo_vectors(sender, instance: Photo, **kwargs) -> None:
    vectors.remove_photo_vectors(instance)


@receiver(post_delete, sender=Video)
@receiver(post_delete, sender=Photo)
def delete_media_files(sender, instance: Video | Photo, **kwargs) -> None:
    vectors.delete_item_files(instance)
    storage.lock_path("video" if sender is Video else "photo", instance.pk).unlink(missing_ok=True)


@receiver(post_delete, sender=Collection)
def delete_collection_index(sender, instance: Collection, **kwargs) -> None:
    shutil.rmtree(instance.index_dir, ignore_errors=True)
    for folder in storage.collection_dirs(instance.pk):  # its items' files went with them; the folders too
        storage.remove_tree(folder)

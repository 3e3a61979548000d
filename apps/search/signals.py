"""A deleted video's or photo's vectors leave its collection's index once the delete commits (API, admin, cascade).

Connected in SearchConfig.ready(), beside media's own receivers (apps/media/signals.py), which remove the
item's files. The vector ids are read before the rows go (a video's keyframes go in the same delete); they
are dropped after the commit (a rolled-back delete keeps them) under the collection's write lock, the one an
ingest holds while it checks that its item exists and adds its vectors (vectors.add_item_vectors): either
the ingest added first and the drop removes them, or the delete committed first and the ingest adds nothing.
A collection deleted with its items takes its whole index folder (apps/media/services/cleanup.py).
"""
from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from apps.media.models import Collection, Photo, Video
from apps.media.services.cleanup import remove_collection_leftovers

from . import vectors
from .ids import keyframe_vector_id, photo_vector_id


def vector_ids_of(item: Video | Photo) -> list[int]:
    if isinstance(item, Video):
        return [keyframe_vector_id(pk) for pk in item.keyframes.values_list("pk", flat=True)]
    return [photo_vector_id(item.pk)]


def drop_item_vectors(collection_id: int, ids: list[int]) -> None:
    """Drop a deleted item's vectors, unless its whole collection went (its index folder goes with it)."""
    if Collection.objects.filter(pk=collection_id).exists():
        vectors.drop_vectors(collection_id, ids)
    if not Collection.objects.filter(pk=collection_id).exists():
        # deleted meanwhile, after the drop made its index folder anew: that folder goes too
        remove_collection_leftovers(collection_id)


@receiver(pre_delete, sender=Video)
@receiver(pre_delete, sender=Photo)
def drop_vectors_of_deleted_item(sender, instance: Video | Photo, using: str, **kwargs) -> None:
    transaction.on_commit(partial(drop_item_vectors, instance.collection_id, vector_ids_of(instance)), using=using)

"""Keep the files under MEDIA_ROOT in step with deletions, however they happen (API, admin, cascade).

A deleted item leaves nothing under MEDIA_ROOT (file, thumbnails, staging folder, ingest lock); a deleted
collection also takes its folders, its index folder and its lock. What to remove is read before the rows go;
it is removed once the delete commits (services/cleanup.py says why). The items' vectors leave the index
through search's own receiver (apps/search/signals.py).
"""
from __future__ import annotations

from functools import partial

from django.db import transaction
from django.db.models.signals import pre_delete
from django.dispatch import receiver

from .models import Collection, Photo, Video
from .services import cleanup


@receiver(pre_delete, sender=Video)
@receiver(pre_delete, sender=Photo)
def remove_item_leftovers(sender, instance: Video | Photo, using: str, **kwargs) -> None:
    transaction.on_commit(cleanup.ItemLeftovers.of(instance).remove, using=using)


@receiver(pre_delete, sender=Collection)
def remove_collection_leftovers(sender, instance: Collection, using: str, **kwargs) -> None:
    transaction.on_commit(partial(cleanup.remove_collection_leftovers, instance.pk), using=using)

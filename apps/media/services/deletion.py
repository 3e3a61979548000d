"""Delete collections and items in one transaction, so a running ingest's rows go with them.

Django collects what a delete cascades to *before* it deletes. An ingest committing new keyframes in
between would leave the delete with a stale list: a foreign-key error, the item kept with its new
vectors. So the items are locked first (PostgreSQL: SELECT ... FOR UPDATE waits for the ingest's
transaction, which holds its item's row; SQLite: BEGIN IMMEDIATE, see videosearch/database.py), and
only then collected and deleted; once the delete commits, signals.py removes the files and
apps/search/signals.py the vectors.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Model, QuerySet

from ..models import Collection, Photo, Video


class ItemDeletedError(Exception):
    """The item was deleted while it was being ingested: the run stops and drops what it wrote (not a failure)."""


def delete_rows(rows: Model | QuerySet) -> None:
    queryset = type(rows).objects.filter(pk=rows.pk) if isinstance(rows, Model) else rows
    with transaction.atomic():
        pks = list(queryset.values_list("pk", flat=True))
        if queryset.model is Collection:
            for model in (Video, Photo):
                list(model.objects.select_for_update().filter(collection_id__in=pks).values_list("pk", flat=True))
        else:
            list(queryset.model.objects.select_for_update().filter(pk__in=pks).values_list("pk", flat=True))
        queryset.model.objects.filter(pk__in=pks).delete()

"""Delete collections and items in one transaction, so a running ingest's rows go with them.

Django collects what a delete cascades to *before* its transaction begins. An ingest committing new
keyframes in between would leave the delete with a stale list (a foreign-key error on SQLite, orphan rows
elsewhere). Inside ``atomic()`` (SQLite: BEGIN IMMEDIATE, see settings) the delete waits for the
ingest's transaction, then collects and deletes what is there; signals.py removes files and vectors.
"""
from __future__ import annotations

from django.db import transaction
from django.db.models import Model, QuerySet


def delete_rows(rows: Model | QuerySet) -> None:
    with transaction.atomic():
        if isinstance(rows, Model):
            type(rows).objects.filter(pk=rows.pk).delete()
        else:
            rows.delete()

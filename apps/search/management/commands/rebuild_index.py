"""manage.py rebuild_index --collection NAME: re-embed a collection with its configured model."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.media.access import LOCAL_OPERATOR
from apps.media.services.collections import UnknownCollectionError, resolve_collection
from apps.search.reindex import rebuild_collection_index


class Command(BaseCommand):
    help = "Rebuild a collection's vector index in this process (e.g. after changing the collection's model)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", required=True)

    def handle(self, *args, collection: str, **options) -> None:
        try:
            target = resolve_collection(collection, LOCAL_OPERATOR)
        except UnknownCollectionError as exc:
            raise CommandError(str(exc)) from exc
        count = rebuild_collection_index(target)
        self.stdout.write(self.style.SUCCESS(f"re-embedded {count} vectors for '{target.name}'"))

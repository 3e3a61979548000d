from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Embedders, per-collection vector indexes, the search service and its API."""

    name = "apps.search"
    label = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from . import signals  # noqa: F401  (a deleted item's vectors leave the index)

        post_migrate.connect(_ensure_text_index, sender=self)

        if settings.TORCH_THREADS:  # e.g. cores / worker concurrency: torch's default oversubscribes shared CPUs
            import torch

            torch.set_num_threads(settings.TORCH_THREADS)


def _ensure_text_index(using: str = "default", **kwargs) -> None:
    """Put back the text index's triggers should a later migration have rebuilt media_textspan (SQLite)."""
    from django.db import connections

    from .text_index_schema import ensure_text_index

    ensure_text_index(connections[using])

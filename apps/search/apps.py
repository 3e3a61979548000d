from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Embedders, per-collection vector indexes, the search service and its API."""

    name = "apps.search"
    label = "search"
    verbose_name = "Search"

    def ready(self) -> None:
        from django.conf import settings

        from . import signals  # noqa: F401  (a deleted item's vectors leave the index)

        if settings.TORCH_THREADS:  # e.g. cores / worker concurrency: torch's default oversubscribes shared CPUs
            import torch

            torch.set_num_threads(settings.TORCH_THREADS)

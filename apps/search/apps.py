from django.apps import AppConfig


class SearchConfig(AppConfig):
    """Embedders, per-collection vector indexes, the search service and its API."""

    name = "apps.search"
    label = "search"
    verbose_name = "Search"

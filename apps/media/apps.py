from django.apps import AppConfig


class MediaConfig(AppConfig):
    """Collections, videos, photos and what ingestion derives from them (scenes, keyframes, jobs)."""

    name = "apps.media"
    label = "media"
    verbose_name = "Media"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (keeps the files in step with deletions)
        from .services.sniff import register_media_types

        register_media_types()  # stored media is served with a video/image type, whatever the system's table says

"""videosearch: find moments in videos and photos by text or example image."""
from .celery import app as celery_app

__all__ = ["celery_app"]

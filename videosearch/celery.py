"""Celery application.

With ``REDIS_URL`` set, tasks go through Redis to separate worker processes. Without it tasks run
eagerly in the calling process, so the offline demo needs nothing but Python.
"""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videosearch.settings")

app = Celery("videosearch")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["workers"], related_name="tasks")

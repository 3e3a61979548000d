"""Celery application.

With ``REDIS_URL`` set, tasks go through Redis to separate worker processes. Without it tasks run
eagerly in the calling process, so the offline demo needs nothing but Python.

``celery -A videosearch beat`` runs the sweeper (apps/media/services/sweeper.py) every
``JOB_SWEEP_EVERY_S``; each worker also sweeps once when it starts, so a restarted worker takes
up at once the jobs that died with the previous one.
"""
import logging
import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videosearch.settings")

app = Celery("videosearch")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Now, not lazily (Celery's default waits for a worker to start): apps send tasks by name and never import
# workers, and a task a process has not registered is sent to the broker even when task_always_eager is set.
app.autodiscover_tasks(["workers"], related_name="tasks", force=True)

log = logging.getLogger(__name__)


@worker_ready.connect
def sweep_on_start(sender=None, **kwargs) -> None:
    """Queue one sweep as this worker comes up (a failure here must not stop the worker)."""
    try:
        app.send_task("videosearch.requeue_stale_jobs")
    except Exception:  # noqa: BLE001 - the periodic sweep will do it
        log.warning("could not queue the start-up sweep", exc_info=True)

"""Celery tasks: thin wrappers; the logic lives in apps.search.indexing (ingest runs), reindex and the media sweeper."""
from __future__ import annotations

from celery import shared_task


@shared_task(name="videosearch.ingest_job", acks_late=True, reject_on_worker_lost=True)
def ingest_job(job_id: int) -> str:
    """Ingest one video or photo. Safe to run twice: a redelivered job redoes its item from scratch."""
    from apps.search.indexing import run_job

    return run_job(job_id)


@shared_task(name="videosearch.ingest_photo_jobs", acks_late=True, reject_on_worker_lost=True)
def ingest_photo_jobs(job_ids: list[int]) -> dict[int, str]:
    """Ingest a batch of photos: one embedding call and one index write. Safe to run twice."""
    from apps.search.indexing import run_photo_jobs

    return run_photo_jobs(job_ids)


@shared_task(name="videosearch.rebuild_index", acks_late=True, reject_on_worker_lost=True)
def rebuild_index(collection_id: int) -> int:
    """Re-embed a collection with its configured model."""
    from apps.media.models import Collection
    from apps.search.reindex import rebuild_collection_index

    collection = Collection.objects.filter(pk=collection_id).first()
    return rebuild_collection_index(collection) if collection else 0


@shared_task(name="videosearch.requeue_stale_jobs", ignore_result=True)
def requeue_stale_jobs() -> dict[str, list[int]]:
    """Send again the jobs whose worker died or that the broker never got (apps/media/services/sweeper.py)."""
    from dataclasses import asdict

    from apps.media.services.sweeper import requeue_stale_jobs as sweep

    return asdict(sweep())

"""Hand jobs to Celery once the rows they refer to are committed."""
from __future__ import annotations

from django.db import transaction


def enqueue_job(job_id: int) -> None:
    from workers.tasks import ingest_job  # imported late: tasks depend on services, not the reverse

    transaction.on_commit(lambda: ingest_job.delay(job_id))


def enqueue_rebuild(collection_id: int) -> None:
    from workers.tasks import rebuild_index

    transaction.on_commit(lambda: rebuild_index.delay(collection_id))

"""Ingestion through a real Redis broker and real Celery worker processes."""
from __future__ import annotations

import pytest

from apps.media.models import Collection, IngestJob, Keyframe, Photo, Status
from apps.media.services.vectors import collection_index
from apps.search.ids import keyframe_vector_id, photo_vector_id

from ..conftest import wait_for
from .helpers import upload

pytestmark = [pytest.mark.worker, pytest.mark.slow]




def all_done(job_ids):
    return lambda: IngestJob.objects.filter(pk__in=job_ids, status__in=[Status.INDEXED, Status.FAILED]).count() == len(
        job_ids
    )


def test_worker_ingests_what_the_api_queues(client, celery_worker, demo_media):
    video_path, segments, _ = demo_media
    celery_worker("w1")
    client.post("/api/collections/", {"name": "cams", "embedder": "testmodel"}, content_type="application/json")
    video = upload(client, "/api/videos/", "cams", video_path).json()
    assert video["status"] == "queued"  # the web process did not do the work
    job_id = video["latest_job"]["id"]
    wait_for(all_done([job_id]), what="worker to finish the job")
    job = client.get(f"/api/jobs/{job_id}/").json()
    assert job["status"] == "indexed", job
    body = client.post(
        "/api/search/", {"collection": "cams", "text": segments[3].caption_ru}, content_type="application/json"
    ).json()
    top = body["results"][0]
    assert top["start"] <= segments[3].start + 0.2 and top["end"] >= segments[3].end - 0.2


def test_two_workers_adding_to_one_collection_lose_nothing(client, celery_worker, demo_media):
    video_path, _, photos = demo_media
    celery_worker("w1")
    celery_worker("w2")
    client.post("/api/collections/", {"name": "album", "embedder": "testmodel"}, content_type="application/json")
    job_ids = [upload(client, "/api/videos/", "album", video_path).json()["latest_job"]["id"]]
    for photo_path, _, _ in photos:
        job_ids.append(upload(client, "/api/photos/", "album", photo_path).json()["latest_job"]["id"])
    wait_for(all_done(job_ids), what="both workers to finish")
    assert set(IngestJob.objects.filter(pk__in=job_ids).values_list("status", flat=True)) == {Status.INDEXED}
    collection = Collection.objects.get(name="album")
    expected = {keyframe_vector_id(pk) for pk in Keyframe.objects.values_list("pk", flat=True)}
    expected |= {photo_vector_id(pk) for pk in Photo.objects.values_list("pk", flat=True)}
    index = collection_index(collection)
    assert index.info().count == len(expected)
    assert set(index.reconstruct(expected)) == expected


def test_a_worker_killed_mid_task_loses_nothing(client, celery_worker, demo_media):
    video_path, _, _ = demo_media
    first = celery_worker("w1")
    client.post("/api/collections/", {"name": "crash", "embedder": "testmodel"}, content_type="application/json")
    job_id = upload(client, "/api/videos/", "crash", video_path).json()["latest_job"]["id"]
    wait_for(
        lambda: IngestJob.objects.get(pk=job_id).status in (Status.PROBING, Status.DETECTING, Status.EMBEDDING),
        interval=0.05,
        what="the job to start",
    )
    first.kill()
    assert IngestJob.objects.get(pk=job_id).status != Status.INDEXED
    celery_worker("w2")  # the broker hands the unacknowledged task to the new worker
    wait_for(all_done([job_id]), timeout=180, what="redelivered job to finish")
    job = IngestJob.objects.get(pk=job_id)
    assert job.status == Status.INDEXED and job.attempts >= 2
    keyframes = Keyframe.objects.filter(video=job.video).count()
    assert keyframes > 0
    assert collection_index(job.collection).info().count == keyframes  # no leftovers of the killed attempt

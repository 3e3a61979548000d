"""Ingestion through a real Redis broker and real Celery worker processes."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.db.models import Count
from PIL import Image

from apps.media.models import Collection, IngestJob, Keyframe, Status
from apps.search.ids import keyframe_vector_id, photo_vector_id
from apps.search.vectors import collection_index

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


def distinct_videos(video: Path, folder: Path, n: int) -> list[Path]:
    """``n`` short videos cut from ``video``, each with other bytes (an identical upload would be deduplicated)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"part{i}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", str(2 + 11 * i), "-t", "8", "-i", str(video),
                        "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "ultrafast", "-an", str(path)],
                       check=True, timeout=60)
        out.append(path)
    return out


def distinct_photos(photos: list[Path], folder: Path, mirrored: int) -> list[Path]:
    """The photos and a mirrored copy of the first ``mirrored`` ones (distinct files, distinct vectors)."""
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for path in photos[:mirrored]:
        copy = folder / f"mirrored-{path.name}"
        Image.open(path).transpose(Image.Transpose.FLIP_LEFT_RIGHT).save(copy, format="JPEG", quality=90)
        copies.append(copy)
    return [*photos, *copies]


def test_two_workers_filling_one_collection_store_every_vector_exactly_once(client, celery_worker, demo_media, tmp_path):
    """Two workers ingest videos and photos into one collection at once. On PostgreSQL their transactions
    really overlap (SQLite serialises writers), so a lost index write, a double ingest or a vector left
    behind by a redone step would show here: the index must hold exactly the vectors the database names."""
    video_path, _, photos = demo_media
    videos = distinct_videos(video_path, tmp_path / "videos", 3)
    photo_paths = distinct_photos([path for path, _, _ in photos], tmp_path / "photos", mirrored=3)
    workers = [celery_worker("w1"), celery_worker("w2")]
    client.post("/api/collections/", {"name": "album", "embedder": "testmodel"}, content_type="application/json")
    job_ids = [upload(client, "/api/videos/", "album", path).json()["latest_job"]["id"] for path in videos]
    job_ids += [upload(client, "/api/photos/", "album", path).json()["latest_job"]["id"] for path in photo_paths]
    assert len(set(job_ids)) == len(videos) + len(photo_paths)
    wait_for(all_done(job_ids), timeout=240, what="both workers to finish")
    assert set(IngestJob.objects.filter(pk__in=job_ids).values_list("status", flat=True)) == {Status.INDEXED}
    for worker in workers:  # the work was shared, so the two really ran at once
        assert " succeeded in " in worker.log.read_text(errors="replace"), f"{worker.name} ran no task"

    collection = Collection.objects.get(name="album")
    assert collection.videos.count() == len(videos) and collection.photos.count() == len(photo_paths)
    per_video = dict(collection.videos.annotate(n=Count("keyframes")).values_list("pk", "n"))
    assert all(per_video.values()), per_video
    twice = Keyframe.objects.filter(video__collection=collection).values("video", "time").annotate(n=Count("pk"))
    assert not twice.filter(n__gt=1).exists()  # no keyframe stored twice
    expected = {keyframe_vector_id(pk) for pk in Keyframe.objects.filter(video__collection=collection)
                .values_list("pk", flat=True)}
    expected |= {photo_vector_id(pk) for pk in collection.photos.values_list("pk", flat=True)}
    index = collection_index(collection)
    # every expected vector is there, and the count leaves no room for a duplicate or a stranger
    assert index.contains(expected) == expected
    assert index.info().count == len(expected) == sum(per_video.values()) + len(photo_paths)


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

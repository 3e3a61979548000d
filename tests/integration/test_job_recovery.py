"""Durable jobs: a job whose worker died is taken up by any live worker, a job that kills every worker
gives up, and an upload while Redis is down is kept and processed once it is back (sweeper.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from apps.media.models import IngestJob, Status, Video
from videosearch.celery import app

from ..conftest import REPO, WorkerProcess, free_port, reset_connections, session_database_url, wait_for
from ..support.redis_server import answers, redis_command
from .helpers import upload

pytestmark = [pytest.mark.worker, pytest.mark.slow]

#: Fast recovery for the tests: beat every second, stale after 4 s, the sweeper every 2 s. Redis' own
#: redelivery is pushed out of reach (an hour), so only the sweeper can bring a job back.
DURABLE = {"VIDEOSEARCH_JOB_HEARTBEAT_S": "1", "VIDEOSEARCH_JOB_STALE_S": "4", "VIDEOSEARCH_JOB_SWEEP_EVERY_S": "2",
           "VIDEOSEARCH_TASK_VISIBILITY_S": "3600"}
RUNNING = (Status.PROBING, Status.DETECTING, Status.EMBEDDING)


def with_beat(tmp_path, name: str) -> tuple[str, ...]:
    """`celery worker` arguments that embed beat (the sweeper's schedule) in the worker."""
    return ("-B", "--schedule", str(tmp_path / f"beat-{name}"))


def finished(job_id: int):
    return lambda: IngestJob.objects.filter(pk=job_id, status__in=[Status.INDEXED, Status.FAILED]).first()


def verify(settings) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": session_database_url(), "VIDEOSEARCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "VIDEOSEARCH_INDEX_ROOT": str(settings.INDEX_ROOT)}
    return subprocess.run([sys.executable, "manage.py", "verify"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60)


def test_a_job_whose_whole_worker_was_killed_is_taken_up_within_a_minute(client, celery_worker, demo_media, tmp_path,
                                                                         settings):
    video_path, _, _ = demo_media
    first = celery_worker("w1", **DURABLE)
    client.post("/api/collections/", {"name": "crash", "embedder": "testmodel"}, content_type="application/json")
    job_id = upload(client, "/api/videos/", "crash", video_path).json()["latest_job"]["id"]
    wait_for(lambda: IngestJob.objects.get(pk=job_id).status in (Status.DETECTING, Status.EMBEDDING), interval=0.05,
             timeout=60, what="the job to start")
    first.kill()  # worker and pool: nothing acknowledges, nothing cleans up
    killed_at = time.monotonic()
    assert IngestJob.objects.get(pk=job_id).status in RUNNING
    celery_worker("w2", args=with_beat(tmp_path, "w2"), **DURABLE)
    job = wait_for(finished(job_id), timeout=60, what="the sweeper to take the job up")
    print(f"recovered in {time.monotonic() - killed_at:.1f}s after the kill")
    assert job.status == Status.INDEXED, job.error
    assert job.attempts == 2
    assert Video.objects.get(pk=job.video_id).status == Status.INDEXED
    result = verify(settings)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_job_whose_pool_child_was_killed_is_run_again_by_the_same_worker(client, celery_worker, demo_media, settings):
    """The OOM killer's usual victim is the pool child, not the worker: the task goes back to the queue at
    once (acks_late + reject_on_worker_lost) and the worker's next child runs it, no sweeper needed."""
    video_path, _, _ = demo_media
    worker = celery_worker("w1", **DURABLE)  # no beat: only the worker itself can bring the job back
    client.post("/api/collections/", {"name": "oom", "embedder": "testmodel"}, content_type="application/json")
    job_id = upload(client, "/api/videos/", "oom", video_path).json()["latest_job"]["id"]
    wait_for(lambda: IngestJob.objects.get(pk=job_id).status in (Status.DETECTING, Status.EMBEDDING), interval=0.05,
             timeout=60, what="the job to start")
    [child] = worker.children()
    os.kill(child, 9)
    killed_at = time.monotonic()
    job = wait_for(finished(job_id), timeout=60, what="the worker's next pool child to run the job")
    print(f"recovered in {time.monotonic() - killed_at:.1f}s after the pool child's kill")
    assert worker.proc.poll() is None  # the same worker
    assert job.status == Status.INDEXED, job.error
    assert job.attempts == 2
    result = verify(settings)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_job_that_kills_its_worker_every_time_gives_up(client, celery_worker, demo_media, tmp_path):
    video_path, _, _ = demo_media
    celery_worker("w1", args=with_beat(tmp_path, "w1"), VIDEOSEARCH_DIE_AT="ingest.before_swap", **DURABLE)
    client.post("/api/collections/", {"name": "poison", "embedder": "testmodel"}, content_type="application/json")
    job_id = upload(client, "/api/videos/", "poison", video_path).json()["latest_job"]["id"]
    job = wait_for(finished(job_id), timeout=90, what="the job to give up")
    assert job.status == Status.FAILED
    assert job.error == "gave up after 3 attempts (worker died each time)"
    assert job.attempts == 3
    video = Video.objects.get(pk=job.video_id)
    assert video.status == Status.FAILED and video.error == job.error


class RedisServer:
    """A redis-server of this test's own (the session's one must stay up for the other tests)."""

    def __init__(self, workdir) -> None:
        self.port, self.workdir, self.proc = free_port(), workdir, None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(redis_command(self.port, self.workdir), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for(lambda: answers(self.port), timeout=15, interval=0.1, what="redis-server to start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@pytest.fixture
def own_redis(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_an_upload_while_redis_is_down_is_kept_and_processed_when_it_is_back(client, celery_worker, demo_media,
                                                                             own_redis, tmp_path):
    video_path, _, _ = demo_media
    app.conf.broker_url = own_redis.url  # the celery_worker fixture puts the session's URL back afterwards
    reset_connections(app)
    worker: WorkerProcess = celery_worker("w1", args=with_beat(tmp_path, "w1"), REDIS_URL=own_redis.url, **DURABLE)
    client.post("/api/collections/", {"name": "outage", "embedder": "testmodel"}, content_type="application/json")
    own_redis.stop()
    started = time.monotonic()
    response = upload(client, "/api/videos/", "outage", video_path)
    assert response.status_code == 503, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"].startswith("the job queue is unavailable; the upload is kept")
    assert time.monotonic() - started < 15  # a failed send gives up quickly
    video = Video.objects.get(pk=body["item"]["id"])
    assert video.status == Status.QUEUED
    job = IngestJob.objects.get(video=video)
    assert job.status == Status.QUEUED and job.heartbeat_at is None  # never sent
    search = client.post("/api/search/", {"collection": "outage", "text": "a cat"}, content_type="application/json")
    assert search.status_code == 200  # searching needs no Redis
    rebuild = client.post(f"/api/collections/{video.collection_id}/rebuild/")
    assert rebuild.status_code == 503 and rebuild["Content-Type"].startswith("application/json")
    assert rebuild.json()["error"].startswith("the job queue is unavailable; the rebuild was not queued")

    own_redis.start()  # same port: the worker and its beat reconnect
    back = time.monotonic()
    job = wait_for(finished(job.pk), timeout=60, what="the sweeper to send the kept upload")
    print(f"processed {time.monotonic() - back:.1f}s after Redis came back")
    assert job.status == Status.INDEXED, job.error + worker.log.read_text()[-2000:]

"""Ingest reports progress in counts: frames analysed of all frames, then keyframes embedded of all keyframes.

The counts are written on the job's row; the jobs API and the CLI's progress bar both read that row, so
they show the same numbers. A real ingest (ffmpeg, the bundled model, FAISS) of the generated demo video.
"""
from __future__ import annotations

import io
import re
import subprocess
import sys
import time

import pytest
from django.core.management import call_command

from apps.media.models import Collection, IngestJob, Keyframe, Status, Video
from apps.media.services import checkpoints
from apps.media.services.jobs import PROGRESS_WRITE_INTERVAL_S, JobRun

pytestmark = pytest.mark.django_db(transaction=True)


class Terminal(io.StringIO):
    """stderr as a terminal: tqdm draws its bar (it stays silent when stderr is not a tty)."""

    def isatty(self) -> bool:
        return True


def decoded_frames(path) -> int:
    """The video's frame count as a full decode by ffprobe finds it (not the container's claim)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)],
                         check=True, capture_output=True, text=True, timeout=60).stdout
    return int(out.strip())


def test_ingest_counts_frames_then_keyframes_and_the_api_and_the_cli_show_them(
        client, storage_dirs, demo_media, settings, monkeypatch):
    video_path, _, _ = demo_media
    frames = decoded_frames(video_path)
    settings.EMBED_BATCH_SIZE = 4  # several batches: the count moves while embedding
    seen: dict[str, tuple[dict, dict]] = {}

    def look(point: str):
        def record() -> None:
            if point in seen:  # the first time only (keyframe_saved: the first keyframe)
                return
            row = IngestJob.objects.values("id", "status", "done", "total", "progress").get()
            (api,) = client.get("/api/jobs/").json()["results"]
            seen[point] = row, api
        return record

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with (checkpoints.listening("ingest.keyframe_saved", look("first keyframe")),
          checkpoints.listening("ingest.analysed", look("analysed")),
          checkpoints.listening("ingest.before_swap", look("embedded"))):
        call_command("ingest", str(video_path), collection="progress", model="testmodel", stdout=io.StringIO())

    video = Video.objects.get()
    keyframes = Keyframe.objects.filter(video=video).count()
    assert video.status == Status.INDEXED and keyframes > 4

    row, api = seen["first keyframe"]  # mid-analysis: some frames of about all of them
    assert row["status"] == Status.DETECTING and 0 < row["done"] < row["total"]
    assert abs(row["total"] - frames) <= 1  # expected from the probe before the decode ends
    assert (api["done"], api["total"], api["unit"]) == (row["done"], row["total"], "frames")
    assert api["percent"] == row["done"] * 100 // row["total"] < 100

    row, api = seen["analysed"]  # every frame analysed: the exact count
    assert row["status"] == Status.DETECTING and row["done"] == row["total"] == frames
    assert (api["done"], api["total"], api["percent"], api["progress"]) == (frames, frames, 100, 1.0)

    row, api = seen["embedded"]  # a new stage, counted in keyframes: all of them embedded
    assert row["status"] == Status.EMBEDDING and row["done"] == row["total"] == keyframes
    assert (api["status"], api["done"], api["total"], api["unit"]) == ("embedding", keyframes, keyframes, "keyframes")

    (api,) = client.get("/api/jobs/", {"collection": video.collection_id}).json()["results"]
    assert (api["status"], api["done"], api["total"], api["unit"], api["percent"]) == (
        "indexed", keyframes, keyframes, "keyframes", 100)
    assert client.get(f"/api/videos/{video.pk}/").json()["latest_job"]["total"] == keyframes

    # the CLI's bar showed the same numbers, from the same rows
    shown = terminal.getvalue()
    assert f"demo.mp4: detecting 1/{seen['first keyframe'][0]['total']} frames" in shown
    assert f"demo.mp4: detecting {frames}/{frames} frames" in shown
    assert f"demo.mp4: embedding 0/{keyframes} keyframes" in shown
    assert f"demo.mp4: embedding {keyframes}/{keyframes} keyframes" in shown
    assert f"demo.mp4: indexed {keyframes}/{keyframes} keyframes" in shown


def test_photos_count_one_photo_each(client, storage_dirs, demo_media):
    _, _, photos = demo_media
    call_command("ingest", str(photos[0][0].parent), collection="album", model="testmodel", stdout=io.StringIO())
    jobs = client.get("/api/jobs/").json()["results"]
    assert len(jobs) == len(photos)
    assert {(j["status"], j["done"], j["total"], j["unit"], j["percent"]) for j in jobs} == {
        ("indexed", 1, 1, "photos", 100)}


def test_with_workers_the_cli_bar_shows_the_counts_a_worker_writes(storage_dirs, celery_worker, demo_media,
                                                                   monkeypatch):
    video_path, _, _ = demo_media
    frames = decoded_frames(video_path)
    celery_worker("w1")
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    call_command("ingest", str(video_path), collection="by-worker", model="testmodel", stdout=io.StringIO())
    job = IngestJob.objects.get()
    assert job.status == Status.INDEXED and job.done == job.total == Keyframe.objects.count()
    # the bar polls the rows while the worker runs: some frame counts of the decode on the way
    shown = [(int(done), int(total)) for done, total in re.findall(r"demo\.mp4: detecting (\d+)/(\d+) frames",
                                                                   terminal.getvalue())]
    assert shown and all(0 < done <= total and abs(total - frames) <= 1 for done, total in shown), shown


def test_counts_start_again_with_each_stage_and_writes_are_throttled(storage_dirs):
    collection = Collection.objects.create(name="c", embedder="testmodel")
    video = Video.objects.create(collection=collection, file="videos/x.mp4", original_name="x.mp4", sha256="0" * 64)
    job = IngestJob.objects.create(collection=collection, video=video)
    run = JobRun(job)

    def counts() -> tuple:
        return IngestJob.objects.values_list("status", "done", "total", "progress").get(pk=job.pk)

    run.stage(Status.DETECTING)
    assert counts() == (Status.DETECTING, 0, 0, 0.0)
    run.progress(100, 400)
    assert counts() == (Status.DETECTING, 100, 400, 0.25)
    run.progress(200, 400)  # right after the last write: not written (at most a few writes a second)
    assert counts()[1] == 100
    run.progress(400, 400)  # the stage's last count is always written
    assert counts() == (Status.DETECTING, 400, 400, 1.0)
    time.sleep(PROGRESS_WRITE_INTERVAL_S)
    run.progress(399, 400)
    assert counts()[1] == 399

    run.stage(Status.EMBEDDING)  # the next stage counts from nothing
    assert counts() == (Status.EMBEDDING, 0, 0, 0.0)
    run.stage(Status.EMBEDDING, total=12)
    assert counts() == (Status.EMBEDDING, 0, 12, 0.0)

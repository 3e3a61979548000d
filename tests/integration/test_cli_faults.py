"""`manage.py ingest FOLDER` SIGKILLed at any moment: the next run over the folder resumes what it left
unfinished and says so, every item ends indexed (or failed with a reason), and `verify` finds nothing.

The command runs as a real subprocess without REDIS_URL, so it runs the jobs itself (eager Celery), and is
killed with a real SIGKILL: at named checkpoints (VIDEOSEARCH_DIE_AT, see services/checkpoints.py) and at
seeded random moments. The folder: album/ with 3 photos (registered first, sent as one batch at the end)
and clips/demo.mp4 (run as soon as it is registered).
"""
from __future__ import annotations

import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.media.models import Collection, IngestJob, Photo, Status, Video
from apps.media.services import checkpoints, register, storage
from apps.media.services.deletion import delete_rows
from apps.media.services.keyframe_store import PENDING_VECTORS
from apps.media.services.register import register_path
from apps.search.index import CollectionIndex
from apps.search.resume import resume_unfinished

from ..conftest import REPO, session_database_url, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

COLLECTION = "faults"
FINAL = (Status.INDEXED, Status.FAILED)
#: A generous bound for one run of the command on a loaded two-core machine.
RUN_TIMEOUT_S = 240


@pytest.fixture
def folder(demo_media, tmp_path) -> Path:
    video, _, photos = demo_media
    root = tmp_path / "source"  # not tmp_path itself: the test's MEDIA_ROOT lives there too
    (root / "album").mkdir(parents=True)
    for path, _, _ in photos[:3]:
        (root / "album" / path.name).symlink_to(path)
    (root / "clips").mkdir()
    (root / "clips" / "demo.mp4").symlink_to(video)
    return root


def command_env(settings, **extra: str) -> dict[str, str]:
    """The command's environment: this test's database, media and index folders; no broker (eager tasks)."""
    env = {**os.environ, "DATABASE_URL": session_database_url(), "VIDEOSEARCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
           "VIDEOSEARCH_INDEX_ROOT": str(settings.INDEX_ROOT), "VIDEOSEARCH_EMBEDDER": settings.EMBEDDER,
           "PYTHONUNBUFFERED": "1", **extra}
    for name in ("REDIS_URL", checkpoints.DIE_AT_ENV, checkpoints.HOLD_AT_ENV):
        if name not in extra:
            env.pop(name, None)
    return env


def ingest_args(folder: Path) -> list[str]:
    return [sys.executable, "manage.py", "ingest", str(folder), "--collection", COLLECTION, "--model", "testmodel"]


def ingest(folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(ingest_args(folder), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)


def verify_json(env: dict[str, str]) -> tuple[int, dict]:
    """`manage.py verify --json` in its own process; --stuck-after 0: an unfinished item no one runs is stuck."""
    result = subprocess.run([sys.executable, "manage.py", "verify", "--json", "--stuck-after", "0"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    return result.returncode, json.loads(result.stdout)


def unfinished_items() -> list[Video | Photo]:
    return [*Video.objects.exclude(status__in=FINAL), *Photo.objects.exclude(status__in=FINAL)]


def assert_recovered(env: dict[str, str]) -> None:
    """Every file of the folder is one item, indexed (or failed with a reason), with one job; verify finds nothing."""
    assert Video.objects.count() == 1 and Photo.objects.count() == 3  # no duplicates
    for item in [*Video.objects.all(), *Photo.objects.all()]:
        assert item.status in FINAL, f"{item.original_name} ended {item.status}"
        assert item.status == Status.INDEXED or item.error, f"{item.original_name} failed without a reason"
        assert item.jobs.count() == 1, f"{item.original_name}: {list(item.jobs.all())}"  # resumed, not queued anew
    code, report = verify_json(env)
    assert code == 0 and report["ok"], json.dumps(report, indent=1)[:4000]
    found = report["report"]
    assert found["problems"] == 0 and found["stray_count"] == 0
    for collection in found["collections"]:
        assert collection["problems"] == collection["unfinished_count"] == collection["stray_count"] == 0, collection
        assert collection["vectors"]["in_index"] == collection["vectors"]["expected"] > 0


def index_temp_files() -> list[str]:
    directory = Collection.objects.get(name=COLLECTION).index_dir
    return sorted(p.name for p in Path(directory).rglob("*.tmp"))


def thumbnail_leftovers() -> list[str]:
    root = storage.absolute("thumbs")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.name.endswith(storage.STAGING_SUFFIX)
                  or p.name == PENDING_VECTORS) if root.exists() else []


#: Where a checkpoint kills the command, and what it leaves for the next run to clear.
CHECKPOINTS = {
    "ingest.probing": "video probing, photos queued and never sent",
    "ingest.keyframe_saved": "video detecting, its .new staging folder holding the first keyframe",
    "index.before_replace": "video embedded, the collection's first index write killed before its rename (.tmp)",
    "ingest.before_commit": "video's vectors in the index and its thumbnails swapped in, its rows not committed",
    "ingest.photo_batch_embedded": "video indexed, the photo batch embedded but not indexed",
}


@pytest.mark.parametrize("point", list(CHECKPOINTS))
def test_killed_at_a_checkpoint_the_next_run_resumes_and_leaves_nothing(point, folder, storage_dirs, settings):
    killed = ingest(folder, command_env(settings, **{checkpoints.DIE_AT_ENV: point}))
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr[-3000:]
    left = unfinished_items()
    assert left, f"killed at {point}, nothing was left unfinished"
    if point == "index.before_replace":
        assert index_temp_files(), "the killed index write left no temp file"  # what the issue saw
    if point in ("ingest.keyframe_saved", "ingest.before_commit"):
        assert thumbnail_leftovers(), "the killed run left no staging folder or note of its vectors"
    if point == "ingest.before_commit":
        index = CollectionIndex(Collection.objects.get(name=COLLECTION).index_dir)
        assert index.info().count > 0  # vectors whose rows the kill rolled back
    attempts = dict(IngestJob.objects.values_list("pk", "attempts"))

    started = time.monotonic()
    again = ingest(folder, command_env(settings))
    print(f"{point}: {CHECKPOINTS[point]}; the next run took {time.monotonic() - started:.1f}s to recover "
          f"{len(left)} item(s)")
    assert again.returncode == 0, again.stdout + again.stderr[-3000:]
    line = next((line for line in again.stdout.splitlines() if line.startswith("resumed ")), "")
    assert line.startswith(f"resumed {len(left)} unfinished item(s) from an earlier run: "), again.stdout
    assert sorted(line.split(": ", 1)[1].split(", ")) == sorted(item.original_name for item in left)
    done = 4 - len(left)  # indexed before the kill: not run again
    assert (f"{done} file(s) already in the collection" in again.stdout) == bool(done), again.stdout
    assert f"{len(left)} indexed, 0 not indexed" in again.stdout, again.stdout
    assert index_temp_files() == [] and thumbnail_leftovers() == []
    resumed = {job.pk for item in left for job in item.jobs.all()}
    for job_id, count in IngestJob.objects.values_list("pk", "attempts"):  # the killed attempt still counts
        assert count == attempts[job_id] + (job_id in resumed), (job_id, attempts[job_id], count)
    assert_recovered(command_env(settings))


#: Moments a random kill aims at: a stage a job of that kind reaches in the run being killed.
STAGES = [("video", Status.PROBING), ("video", Status.DETECTING), ("video", Status.EMBEDDING),
          ("photo", Status.EMBEDDING)]


def statuses() -> list[tuple[str, str]]:
    return sorted([*((v.original_name, v.status) for v in Video.objects.all()),
                   *((p.original_name, p.status) for p in Photo.objects.all())])


def started_in_this_run(kind: str, status: str, attempts_before: dict[int, int]) -> bool:
    """Whether a job of ``kind`` that this run started (its attempts went up) is at ``status`` now."""
    jobs = IngestJob.objects.filter(**{f"{kind}__isnull": False}, status=status).values_list("pk", "attempts")
    return any(attempts > attempts_before.get(pk, 0) for pk, attempts in jobs)


def test_killed_at_random_moments_the_next_runs_resume_and_leave_nothing(folder, storage_dirs, settings):
    """Runs killed at seeded random moments, each resuming what the one before left, until three kills left
    work unfinished; then one run left to finish. A moment: a stage the run reaches, a different one each round
    in a random order (the model load is most of a run: plain random delays nearly all land in "probing"), then
    a random delay of up to 0.3 s. A kill that lands after the work (the demo media take well under a second
    to embed) does not count: the collection is deleted and the next round starts afresh."""
    rng = random.Random(20241130)
    env = command_env(settings, VIDEOSEARCH_JOB_MAX_ATTEMPTS="20")  # an item killed every time still finishes here
    kills, order = [], rng.sample(STAGES, len(STAGES))  # a different stage each round, in a random order
    for round_ in range(8):
        if len(kills) == 3:
            break
        if Video.objects.exists() and not unfinished_items():  # the last kill came after the work: afresh
            delete_rows(Collection.objects.get(name=COLLECTION))
        unfinished = {kind for kind, model in (("video", Video), ("photo", Photo))
                      if model.objects.filter(status=Status.INDEXED).count() < (1 if kind == "video" else 3)}
        candidates = [stage for stage in order if stage[0] in unfinished] or [
            stage for stage in rng.sample(STAGES, len(STAGES)) if stage[0] in unfinished]  # again, once all were
        if not candidates:
            break
        kind, status = candidates[0]
        if candidates[0] in order:
            order.remove(candidates[0])
        delay = rng.uniform(0.0, 0.3)
        attempts = dict(IngestJob.objects.values_list("pk", "attempts"))
        proc = subprocess.Popen(ingest_args(folder), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        try:
            wait_for(lambda proc=proc, kind=kind, status=status, attempts=attempts: proc.poll() is not None
                     or started_in_this_run(kind, status, attempts), timeout=RUN_TIMEOUT_S, interval=0.05,
                     what=f"the command to reach {kind} {status}")
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.wait(RUN_TIMEOUT_S)
            if proc.returncode == -signal.SIGKILL and unfinished_items():
                kills.append(f"{kind} {status} + {delay:.2f}s")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        print(f"round {round_}: aimed at {kind} {status} + {delay:.2f}s, exit {proc.returncode}; "
              f"then: {statuses()}")
    assert len(kills) >= 2, f"only {len(kills)} kill(s) left work unfinished"
    left = unfinished_items()
    started = time.monotonic()
    final = ingest(folder, env)
    print(f"{len(kills)} kill(s) ({'; '.join(kills)}); the last run took {time.monotonic() - started:.1f}s "
          f"to recover {len(left)} item(s)")
    assert final.returncode == 0, final.stdout + final.stderr[-3000:]
    if left:
        assert f"resumed {len(left)} unfinished item(s) from an earlier run: " in final.stdout, final.stdout
    assert ", 0 not indexed" in final.stdout, final.stdout
    assert_recovered(env)


# ------------------------------------------------------------------ in this process: who resumes what
def run(*args, **options) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **options)
    return out.getvalue()


def left_by_a_killed_run(monkeypatch, path: Path, status: str, attempts: int, **job_fields) -> Video | Photo:
    """The item of ``path`` as a killed run leaves it: job and item ``status``, its job never sent again."""
    collection = Collection.objects.get_or_create(name=COLLECTION, defaults={"embedder": "testmodel"})[0]
    with monkeypatch.context() as patched:
        patched.setattr(register, "enqueue_job", lambda *args, **kwargs: None)
        item = register_path(collection, path).item
    IngestJob.objects.filter(**{type(item).__name__.lower(): item}).update(status=status, attempts=attempts,
                                                                          **job_fields)
    type(item).objects.filter(pk=item.pk).update(status=status)
    return type(item).objects.get(pk=item.pk)


#: Holds an item's lock (argv[1]) like a live ingest run, until killed.
HOLDER = ("import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644); "
          "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(300)")


def test_an_item_a_live_process_is_ingesting_is_not_resumed(folder, storage_dirs, monkeypatch):
    video = left_by_a_killed_run(monkeypatch, folder / "clips" / "demo.mp4", Status.DETECTING, attempts=1)
    lock = storage.lock_path("video", video.pk)
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        out = run("ingest", str(folder / "clips"), collection=COLLECTION, no_wait=True)
        assert "1 unfinished item(s) being ingested by another process now: demo.mp4" in out, out
        assert "resumed" not in out
        job = IngestJob.objects.get(video=video)
        assert (job.status, job.attempts) == (Status.DETECTING, 1)  # left to the process that runs it
    finally:
        holder.kill()  # dies holding the lock: the OS lets go of it
        holder.wait()
    report = resume_unfinished([video], send=False)  # (the checkpoint tests run resumed jobs to the end)
    assert [job.video_id for job in report.resumed] == [video.pk] and not report.running
    job = IngestJob.objects.get(video=video)
    assert (job.status, job.attempts) == (Status.QUEUED, 1)


def test_with_workers_a_job_waiting_at_the_broker_is_left_to_them(demo_media, storage_dirs, monkeypatch):
    photos = [path for path, _, _ in demo_media[2][:3]]
    waiting = left_by_a_killed_run(monkeypatch, photos[0], Status.QUEUED, attempts=0, heartbeat_at=timezone.now())
    unsent = left_by_a_killed_run(monkeypatch, photos[1], Status.QUEUED, attempts=0)
    died = left_by_a_killed_run(monkeypatch, photos[2], Status.EMBEDDING, attempts=1, heartbeat_at=timezone.now())
    report = resume_unfinished([waiting, unsent, died], eager=False, send=False)
    assert [job.photo_id for job in report.queued] == [waiting.pk]
    assert [job.photo_id for job in report.resumed] == [unsent.pk, died.pk]
    job = IngestJob.objects.get(photo=died)
    assert (job.status, job.attempts, job.heartbeat_at) == (Status.QUEUED, 1, None)  # sent again, attempts kept
    assert Photo.objects.get(pk=died.pk).status == Status.QUEUED
    assert IngestJob.objects.get(photo=waiting).status == Status.QUEUED
    # without workers no one else would run the waiting one: it is resumed too
    assert [job.photo_id for job in resume_unfinished([waiting], eager=True, send=False).resumed] == [waiting.pk]


def test_an_item_killed_too_often_ends_failed_and_what_its_runs_left_goes(folder, storage_dirs, settings, monkeypatch):
    video = left_by_a_killed_run(monkeypatch, folder / "clips" / "demo.mp4", Status.EMBEDDING,
                                 attempts=settings.JOB_MAX_ATTEMPTS)
    staging = storage.absolute(storage.staging_dir(video.collection_id, "video", video.pk))
    staging.mkdir(parents=True)
    (staging / "000001000.jpg").write_bytes(b"a keyframe of a killed run")
    out = run("ingest", str(folder / "clips"), collection=COLLECTION)
    assert "resumed 1 unfinished item(s) from an earlier run: demo.mp4" in out, out
    reason = f"gave up after {settings.JOB_MAX_ATTEMPTS} attempts (worker died each time)"
    assert "0 indexed, 1 not indexed" in out and f"failed: demo.mp4: {reason}" in out, out
    assert Video.objects.get(pk=video.pk).error == reason
    assert not staging.exists()
    again = run("ingest", str(folder / "clips"), collection=COLLECTION)
    assert "1 file(s) already in the collection" in again and "resumed" not in again  # failed stays failed

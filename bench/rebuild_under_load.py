"""Searches while the index is rebuilt and while every video is re-ingested; prints ONE JSON object.

A throwaway data dir holds one collection (the bundled test model) of V generated demo videos
(the same known scenes, distinct bytes: each at its own frame rate) and P photos. N threads
(default 8) search it continuously, each query a demo caption that must find its video (the
captions of every video's segments, in turn), for ``--duration`` seconds of each phase:

``idle``      nothing else runs: the reference latencies;
``rebuild``   ``manage.py rebuild_index`` in a subprocess, again and again (at least once);
``reingest``  every video re-ingested in this process (eager jobs), again and again (at least once).

Per phase: searches, errors, empty answers, answers missing the video their query is about, and
p50/p95/p99 latency in ms. A search is the search service's call, with its own database connection
per thread, as a threaded server runs it. The machine is shared and noisy: compare the phases of
one run, not runs.

Usage: ``.venv/bin/python bench/rebuild_under_load.py [--threads 8] [--duration 20] [--videos 2] [--photos 6]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.search_load import SearchLoad  # noqa: E402 - after the path is set

FRAME_RATES = (25, 24, 30, 20, 15, 12, 10, 8)


def _setup(data_dir: Path, database_url: str | None = None) -> None:
    """Django on a throwaway data dir, its database migrated: the data dir's SQLite file, or ``database_url``."""
    os.environ["VIDEOSEARCH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videosearch.settings")
    os.environ["VIDEOSEARCH_EMBEDDER"] = "testmodel"
    os.environ.pop("REDIS_URL", None)  # jobs run in this process
    for name in ("VIDEOSEARCH_MEDIA_ROOT", "VIDEOSEARCH_INDEX_ROOT", "DATABASE_URL"):
        os.environ.pop(name, None)  # everything under the throwaway data dir
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fill(media_dir: Path, videos: int, photos: int, name: str = "bench-never-dark"):
    """The collection, its videos and the probes (caption, video) the search threads ask."""
    from apps.media.models import Collection, Status
    from apps.media.services.register import register_path
    from apps.search.testmodel.demo_video import make_demo_photos, make_demo_video
    from bench.search_load import Probe

    collection = Collection.objects.create(name=name, embedder="testmodel")
    items, probes = [], []
    for n in range(videos):
        path = media_dir / f"demo-{n}.mp4"
        segments = make_demo_video(path, fps=FRAME_RATES[n % len(FRAME_RATES)] + n // len(FRAME_RATES))
        video = register_path(collection, path).item
        video.refresh_from_db()
        if video.status != Status.INDEXED:
            raise RuntimeError(f"ingesting {path.name} failed: {video.error}")
        items.append(video)
        probes += [Probe(seg.caption_en, video.pk) for seg in segments]
    for path, _, _ in make_demo_photos(media_dir / "album", n=photos) if photos else []:
        register_path(collection, path)
    return collection, items, probes


def _phase(new_load: Callable[[], SearchLoad], threads: int, duration: float, work: Callable[[], None] | None) -> dict:
    """Search under load (``new_load()``, ``threads`` threads) for ``duration`` seconds while ``work()``
    runs again and again (at least once)."""
    runs: list[float] = []
    with new_load() as load:
        load.wait_for(threads)
        deadline = time.monotonic() + duration
        while work is not None and (not runs or time.monotonic() < deadline):
            started = time.perf_counter()
            work()
            runs.append(round(time.perf_counter() - started, 2))
        if work is None or time.monotonic() < deadline:
            time.sleep(max(0.0, deadline - time.monotonic()))
    return {**load.report.summary(), "runs": len(runs), "run_seconds": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (at least one run)")
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--photos", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp) / "data")
        from apps.media.services.register import create_job
        from apps.search.vectors import collection_index

        started = time.perf_counter()
        collection, videos, probes = _fill(Path(tmp) / "source", args.videos, args.photos)
        fill_s = time.perf_counter() - started
        count = collection_index(collection).info().count

        def rebuild() -> None:
            subprocess.run([sys.executable, "manage.py", "rebuild_index", "--collection", collection.name],
                           cwd=ROOT, env=os.environ, check=True, capture_output=True, timeout=600)

        def reingest() -> None:
            for video in videos:
                create_job(video)

        def new_load() -> SearchLoad:
            return SearchLoad(collection.pk, probes, threads=args.threads)

        phases = {
            "idle": _phase(new_load, args.threads, args.duration, None),
            "rebuild": _phase(new_load, args.threads, args.duration, rebuild),
            "reingest": _phase(new_load, args.threads, args.duration, reingest),
        }
        print(json.dumps({
            "threads": args.threads,
            "videos": args.videos,
            "photos": args.photos,
            "vectors": count,
            "vectors_after": collection_index(collection).info().count,
            "fill_seconds": round(fill_s, 1),
            "phases": phases,
        }, indent=2))


if __name__ == "__main__":
    main()

"""Benchmark the cost of similarity timelines in a search; prints ONE JSON object.

A throwaway data dir holds a collection of V videos x F keyframes (one shot each, 2 s segments)
whose vectors are seeded random unit vectors of the bundled test model's size, so a text query's
best clips come from many different videos: the worst case for timelines (one per video of the
page). The same text queries run through the real search service (test model, FAISS flat index,
SQLite) without and with ``timeline=True``, interleaved, and the median latencies and their ratio
are reported from this one run (the machine is shared and noisy: compare ratios, not times).
"cold" timelines read every listed video's keyframe rows from the database (the in-process cache of
``apps.search.video_segments`` emptied before each search); the others may find them cached, as a
server does for videos it listed before.

Usage: ``.venv/bin/python bench/timelines.py [--videos 100] [--keyframes 1000] [--repeats 30]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUERIES = ("a red car on a road", "two blue squares on the left", "красная машина ночью", "a white boat on the water")


def _setup(data_dir: Path) -> None:
    os.environ["VIDEOSEARCH_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "videosearch.settings")
    os.environ["VIDEOSEARCH_EMBEDDER"] = "testmodel"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def _fill(videos: int, keyframes: int) -> object:
    from django.utils import timezone

    from apps.media.models import Collection, Keyframe, Scene, Status, Video
    from apps.search.embedders.registry import get_embedder
    from apps.search.ids import keyframe_vector_id
    from apps.search.vectors import collection_index

    collection = Collection.objects.create(name="bench", embedder="testmodel")
    embedder = get_embedder("testmodel")
    rng = np.random.default_rng(7)
    index = collection_index(collection)
    for v in range(videos):
        video = Video.objects.create(collection=collection, file=f"v{v}.mp4", original_name=f"v{v}.mp4",
                                     sha256=f"{v:064x}", status=Status.INDEXED, duration=2.0 * keyframes,
                                     indexed_at=timezone.now())
        scene = Scene.objects.create(video=video, index=0, start=0.0, end=2.0 * keyframes)
        rows = Keyframe.objects.bulk_create(
            Keyframe(video=video, scene=scene, time=2.0 * i + 1.0, segment_start=2.0 * i,
                     segment_end=2.0 * (i + 1), thumbnail=f"t/{v}/{i}.jpg") for i in range(keyframes))
        vectors = rng.standard_normal((keyframes, embedder.dim), dtype=np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index.add(embedder.model_id, [keyframe_vector_id(k.pk) for k in rows], vectors)
    return collection


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=100)
    parser.add_argument("--keyframes", type=int, default=1000, help="keyframes per video")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _setup(Path(tmp))
        from apps.search.query_spec import build_query
        from apps.search.service import search

        t0 = time.perf_counter()
        collection = _fill(args.videos, args.keyframes)
        fill_s = time.perf_counter() - t0
        for q in QUERIES:  # warm: model, index, caches
            search(collection, build_query(text=q), top_k=args.top_k, timeline=True)
        from apps.search import video_segments

        def interleaved(kind: str) -> tuple[list[float], list[float]]:
            """Plain searches and searches with ``kind`` timelines, alternating which goes first."""
            plain, timed = [], []
            for i in range(args.repeats):
                q = build_query(text=QUERIES[i % len(QUERIES)])
                for with_timeline in ((False, True) if i % 2 == 0 else (True, False)):
                    if with_timeline and kind == "cold":
                        video_segments.clear()
                    t = time.perf_counter()
                    response = search(collection, q, top_k=args.top_k, timeline=with_timeline)
                    (timed if with_timeline else plain).append(time.perf_counter() - t)
                    if with_timeline:
                        listed.append(len(response.timelines))
            return plain, timed

        listed: list[int] = []
        runs: dict[str, list[float]] = {}
        runs["plain"], runs["timelines"] = interleaved("warm")
        runs["plain_cold_run"], runs["cold"] = interleaved("cold")
        p50 = {kind: statistics.median(times) for kind, times in runs.items()}
        print(json.dumps({
            "videos": args.videos, "keyframes_per_video": args.keyframes, "vectors": args.videos * args.keyframes,
            "top_k": args.top_k, "repeats": args.repeats, "fill_s": round(fill_s, 1),
            "timelines_per_answer": statistics.median(listed),
            "search_p50_ms": round(1000 * p50["plain"], 1),
            "search_with_timelines_p50_ms": round(1000 * p50["timelines"], 1),
            "search_with_cold_timelines_p50_ms": round(1000 * p50["cold"], 1),
            "ratio": round(p50["timelines"] / p50["plain"], 3),
            "ratio_cold": round(p50["cold"] / p50["plain_cold_run"], 3),
        }, indent=2))


if __name__ == "__main__":
    main()

"""What the relevance calibration adds to a search; prints ONE JSON object.

A throwaway data dir with the 8 demo photos ingested by the test model; then, through ``service.search``:
the first search of a process with no calibration file (it measures the model and writes the file), a first
search that finds the file (another process or worker), warm searches with and without the calibration
step (alternating, medians), and the calibration step alone.

Usage: ``.venv/bin/python bench/calibration_latency.py [--runs 30]``
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="vs-calibration-bench-"))
    os.environ.update(VIDEOSEARCH_DATA_DIR=str(data), VIDEOSEARCH_EMBEDDER="testmodel",
                      DJANGO_SETTINGS_MODULE="videosearch.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from apps.media.models import Collection
    from apps.search import calibration, service
    from apps.search.embedders.registry import get_embedder
    from apps.search.query_spec import build_query
    from apps.search.testmodel.demo_video import make_demo_photos

    call_command("migrate", verbosity=0)
    photos = make_demo_photos(data / "album", n=8)
    call_command("ingest", str(data / "album"), collection="album", model="testmodel", stdout=io.StringIO())
    collection = Collection.objects.get(name="album")
    query = build_query(text=photos[0][1])
    service.search(collection, build_query(text="warm up"), top_k=10)  # model and index loaded

    def once() -> float:
        started = time.perf_counter()
        service.search(collection, query, top_k=10)
        return (time.perf_counter() - started) * 1000

    for path in (Path(service.settings.INDEX_ROOT) / "calibration").glob("*.json"):
        path.unlink()
    calibration.clear_cache()
    cold = once()

    def from_file() -> float:
        calibration.clear_cache()
        return once()

    cold_from_file = statistics.median(from_file() for _ in range(10))
    real, with_step, without = service._calibrate, [], []
    for _ in range(args.runs):
        service._calibrate = real
        with_step.append(once())
        service._calibrate = lambda *a: None
        without.append(once())
    service._calibrate = real
    response = service.search(collection, query, top_k=10)
    entries, embedder = response.results, get_embedder("testmodel")
    started = time.perf_counter()
    for _ in range(1000):
        response.warnings = []
        real(response, embedder, query, entries)
    print(json.dumps({
        "first_search_measuring_ms": round(cold, 1),
        "first_search_reading_file_ms": round(cold_from_file, 1),
        "warm_search_ms": round(statistics.median(with_step), 1),
        "warm_search_without_calibration_ms": round(statistics.median(without), 1),
        "calibration_step_ms": round((time.perf_counter() - started), 4),  # 1000 calls: seconds == ms per call
        "entries": len(entries),
        "load_average": os.getloadavg()[0],
    }, indent=2))


if __name__ == "__main__":
    main()

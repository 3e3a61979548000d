"""Text-query latency over HTTP against the raw encoder + FAISS, torch and ONNX; prints ONE JSON object.

For each model (``testmodel``; ``vit-b-32``: open_clip ViT-B-32 with random-init weights, saved as a local
checkpoint, since speed does not depend on weight values and nothing can be downloaded) a collection of
``--size`` random unit vectors is built, each a keyframe row (videos of 1000 keyframes, 10 to a shot), so
every hit resolves to a row exactly as in a real collection. Then, per backend (torch, and ONNX: the model
exported with ``export_onnx``; the collection is pointed at one or the other, same model id, same index):

- ``raw_ms``: ``encode_texts([query])`` + ``index.search`` with the service's candidate count: the floor;
- ``http_*_ms``: ``POST /api/search/`` through Django's test client (the whole view: parsing, throttling,
  the service, serialization; no socket), top_k 10, a logged-in staff user;
  ``cold``: the query-embedding cache emptied before each request; ``warm``: the same query again;
- each of these ``before`` (the text tower at the full 77-token context, no query cache: the code before
  issue 11) and ``after`` (trimmed to the real token length, cache on), alternating in one run;
- two queries: a short one (prompt templates: 4 texts encoded) and a long caption (no templates: 1 text).

All figures are medians (p50) of ``--runs`` requests. ``--cli`` adds a fresh-shell ``manage.py search`` and
``manage.py ingest`` (wall time, peak RSS, whether torch was imported) with the ONNX export of each model.

Usage: ``.venv/bin/python bench/search_latency.py [--size 100000] [--runs 15] [--models testmodel,vit-b-32] [--cli]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SHORT_QUERY = "a red car"
LONG_QUERY = "a red car driving along a wet road at night past a row of lit shop windows"
VIDEO_KEYFRAMES = 1000
SHOT_KEYFRAMES = 10


def p50(samples: list[float]) -> float:
    return round(statistics.median(samples), 2)


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def make_checkpoint(folder: Path) -> Path:
    """Random-init ViT-B-32 weights as an open_clip checkpoint (seeded: the same every run)."""
    import open_clip
    import torch

    path = folder / "vit-b-32-random.pt"
    torch.manual_seed(0)
    torch.save(open_clip.create_model("ViT-B-32", pretrained=None).state_dict(), path)
    return path


def fill_collection(name: str, model: str, size: int, dim: int, model_id: str):
    """A collection of ``size`` keyframe rows, each with a random unit vector in the index."""
    import numpy as np
    from django.utils import timezone

    from apps.media.models import Collection, Keyframe, Scene, Status, Video
    from apps.search.ids import keyframe_vector_id
    from apps.search.vectors import collection_index

    collection = Collection.objects.create(name=name, embedder=model)
    now = timezone.now()
    videos = Video.objects.bulk_create(
        Video(collection=collection, file=f"bench/{name}-{i}.mp4", original_name=f"{name}-{i}.mp4", sha256=f"{i:064x}",
              status=Status.INDEXED, indexed_at=now, duration=VIDEO_KEYFRAMES * 2.0)
        for i in range((size + VIDEO_KEYFRAMES - 1) // VIDEO_KEYFRAMES))
    scenes = Scene.objects.bulk_create(
        Scene(video=v, index=s, start=s * SHOT_KEYFRAMES * 2.0, end=(s + 1) * SHOT_KEYFRAMES * 2.0)
        for v in videos for s in range(VIDEO_KEYFRAMES // SHOT_KEYFRAMES))
    by_video = {}
    for scene in scenes:
        by_video.setdefault(scene.video_id, []).append(scene)
    rows = []
    for video in videos:
        for k in range(VIDEO_KEYFRAMES):
            if len(rows) == size:
                break
            rows.append(Keyframe(video=video, scene=by_video[video.pk][k // SHOT_KEYFRAMES], time=k * 2.0 + 1.0,
                                 segment_start=k * 2.0, segment_end=(k + 1) * 2.0, thumbnail=f"bench/{k}.jpg"))
    Keyframe.objects.bulk_create(rows, batch_size=5000)
    pks = np.asarray(Keyframe.objects.filter(video__collection=collection).order_by("pk").values_list("pk", flat=True))
    vectors = np.random.default_rng(0).standard_normal((len(pks), dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = [keyframe_vector_id(int(pk)) for pk in pks]
    collection_index(collection).add(model_id, ids, vectors)
    return collection


class Switches:
    """The code before issue 11 (full-context text tower, no query cache) or after, in one process."""

    def __init__(self, embedder) -> None:
        self.embedder = embedder
        self.trim = getattr(embedder, "text_trim", None)
        self.text_meta = dict(getattr(embedder, "text_meta", {}) or {})

    def set(self, after: bool) -> None:
        from apps.search.query_cache import DEFAULT_SIZE, TEXT_QUERIES

        if hasattr(self.embedder, "text_trim"):  # torch
            self.embedder.text_trim = self.trim if after else None
        if hasattr(self.embedder, "text_meta"):  # ONNX
            self.embedder.text_meta = self.text_meta if after else {**self.text_meta, "trim": None}
        TEXT_QUERIES.maxsize = DEFAULT_SIZE if after else 0
        TEXT_QUERIES.clear()


def measure(client, collection, spec: str, runs: int) -> dict:
    """Raw and HTTP p50s, before and after, for the short and the long query."""
    from apps.search.embedders.registry import get_embedder
    from apps.search.query_cache import TEXT_QUERIES
    from apps.search.service import CANDIDATES_PER_RESULT, MIN_CANDIDATES
    from apps.search.vectors import collection_index

    embedder = get_embedder(spec)
    index = collection_index(collection)
    k = min(max(10 * CANDIDATES_PER_RESULT, MIN_CANDIDATES), index.info().count)
    switches = Switches(embedder)

    def raw(text: str) -> float:
        return timed(lambda: index.search(embedder.model_id, embedder.encode_texts([text]), k))

    def http(text: str) -> float:
        started = time.perf_counter()
        answer = client.post("/api/search/", {"collection": collection.name, "text": text, "top_k": 10},
                             content_type="application/json")
        assert answer.status_code == 200, answer.content[:300]
        return (time.perf_counter() - started) * 1000

    out: dict = {}
    for label, text in (("short_query", SHORT_QUERY), ("long_caption", LONG_QUERY)):
        samples: dict[str, list[float]] = {}
        for after in (False, True):
            switches.set(after)
            raw(text), http(text)  # warm-up: sessions, index, calibration
        for _ in range(runs):
            for after in (False, True):
                tag = "after" if after else "before"
                switches.set(after)
                samples.setdefault(f"raw_{tag}", []).append(raw(text))
                TEXT_QUERIES.clear()
                samples.setdefault(f"http_cold_{tag}", []).append(http(text))
                if after:
                    samples.setdefault("http_warm_after", []).append(http(text))
        switches.set(True)
        figures = {name: p50(values) for name, values in samples.items()}
        figures["http_cold_over_raw_before"] = round(figures["http_cold_before"] / figures["raw_before"], 2)
        figures["http_cold_over_raw_after"] = round(figures["http_cold_after"] / figures["raw_after"], 2)
        figures["http_warm_over_raw_after"] = round(figures["http_warm_after"] / figures["raw_after"], 2)
        figures["http_cold_speedup"] = round(figures["http_cold_before"] / figures["http_cold_after"], 2)
        figures["raw_speedup"] = round(figures["raw_before"] / figures["raw_after"], 2)
        out[label] = figures
    return out


def cli_figures(env: dict, collection: str, ingest_file: Path, work: Path) -> dict:
    """A fresh shell's ``manage.py search`` and ``manage.py ingest`` with the ONNX model."""

    def run(args: list[str]) -> dict:
        # VmHWM: this process's own peak (ru_maxrss would carry the parent's peak across the exec).
        probe = ("import runpy, sys, time; t=time.perf_counter(); sys.argv=['manage.py', *sys.argv[1:]]\n"
                 "try:\n    runpy.run_path('manage.py', run_name='__main__')\n"
                 "finally:\n    hwm = [l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
                 "    print('@@', 'torch' in sys.modules, time.perf_counter()-t, hwm, file=sys.stderr)")
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", probe, *args], cwd=REPO, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        assert done.returncode == 0, done.stderr[-2000:]
        torch_loaded, _, rss_kb = done.stderr.rsplit("@@", 1)[1].split()[:3]
        return {"wall_s": round(wall, 2), "peak_rss_mb": round(int(rss_kb) / 1024), "torch_imported": torch_loaded == "True"}

    search = [run(["search", "--collection", collection, "--text", SHORT_QUERY, "--top", "5"]) for _ in range(3)]
    ingest = run(["ingest", str(ingest_file), "--collection", f"{collection}-ingest"])
    return {"search_runs": search, "search_wall_s_p50": p50([r["wall_s"] for r in search]), "ingest": ingest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--models", default="testmodel,vit-b-32")
    parser.add_argument("--cli", action="store_true", help="also time fresh-shell CLI search and ingest (ONNX)")
    parser.add_argument("--ingest-file", type=Path, default=REPO.parent / "shared/media/videos/testvideo.mp4")
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="vs-search-latency-"))
    models = [m for m in args.models.split(",") if m]
    specs = {"testmodel": "testmodel", "testmodel-onnx": f"onnx:{data / 'onnx-testmodel'}"}
    if "vit-b-32" in models:
        specs.update({"vit-b-32": f"open_clip:ViT-B-32@{data / 'vit-b-32-random.pt'}",
                      "vit-b-32-onnx": f"onnx:{data / 'onnx-vit-b-32'}"})
    os.environ.update(VIDEOSEARCH_DATA_DIR=str(data), VIDEOSEARCH_EMBEDDER="testmodel",
                      VIDEOSEARCH_EMBEDDERS=json.dumps(specs), VIDEOSEARCH_THROTTLE_SEARCH_USER="1000000/min",
                      VIDEOSEARCH_ONNX_QUERIES="0",  # each backend measured as configured
                      DJANGO_SETTINGS_MODULE="videosearch.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from apps.search.embedders.registry import get_embedder
    from apps.search.onnx_export import export_onnx

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user("bench", password="x", is_staff=True)
    client = Client()
    client.force_login(user)
    if "vit-b-32" in models:
        make_checkpoint(data)
    result: dict = {"size": args.size, "runs": args.runs, "http": "django.test.Client (in-process, no socket)",
                    "raw": "embedder.encode_texts([query]) + CollectionIndex.search(k = service's candidate count)",
                    "cpu_count": os.cpu_count(), "models": {}}
    for model in models:
        torch_embedder = get_embedder(specs[model])
        export_onnx(torch_embedder, specs[f"{model}-onnx"].removeprefix("onnx:"))
        started = time.perf_counter()
        collection = fill_collection(f"bench-{model}", model, args.size, torch_embedder.dim, torch_embedder.model_id)
        figures: dict = {"model_id": torch_embedder.model_id, "dim": torch_embedder.dim,
                         "fill_s": round(time.perf_counter() - started, 1)}
        for backend, name in (("torch", model), ("onnx", f"{model}-onnx")):
            collection.embedder = name
            collection.save(update_fields=["embedder"])
            figures[backend] = measure(client, collection, specs[name], args.runs)
        if args.cli:
            env = {**os.environ, "VIDEOSEARCH_EMBEDDER": specs[f"{model}-onnx"]}
            collection.embedder = f"{model}-onnx"
            collection.save(update_fields=["embedder"])
            figures["cli_onnx"] = cli_figures(env, collection.name, args.ingest_file, data)
        result["models"][model] = figures
        print(json.dumps({model: figures}), file=sys.stderr, flush=True)  # a long run's figures so far
    result["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

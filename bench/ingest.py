"""Ingestion cost vs. plain decoding: is one analysis pass at most 1.5x ``ffmpeg -f null``?

For each video (default: ../shared/media/videos/*, or the paths given as arguments) times
``ffmpeg -hide_banner -loglevel error -i FILE -map 0:v:0 -f null -`` and ``analyze_video(FILE)``,
best of N each, interleaved so both see the same machine load. Wall time is the target (what a
user waits for); CPU time (this process and its children: ffprobe, ffmpeg) is printed beside it,
because on a shared machine it is the steadier of the two. When the test embedder
(``get_embedder("testmodel")``) is available, also times embedding the keyframes separately.
Prints ONE JSON object. Run from the repository root: ``.venv/bin/python bench/ingest.py``.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analysis.video_analysis import VideoAnalysis, analyze_video  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "media" / "videos"
TARGET_RATIO = 1.5


def cpu_seconds() -> float:
    """User + system CPU of this process (all threads) and of its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def time_ffmpeg_null(path: Path) -> tuple[float, float]:
    """(wall, CPU) seconds for ffmpeg to decode the first video stream and throw the frames away."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
            "-map", "0:v:0", "-f", "null", "-"]
    cpu, started = cpu_seconds(), time.perf_counter()
    subprocess.run(args, check=True, timeout=600)
    return time.perf_counter() - started, cpu_seconds() - cpu


def time_analysis(path: Path) -> tuple[float, float, VideoAnalysis]:
    """(wall, CPU) seconds of one analysis pass (probe, decode, shots, keyframes) and its result."""
    cpu, started = cpu_seconds(), time.perf_counter()
    result = analyze_video(path)
    return time.perf_counter() - started, cpu_seconds() - cpu, result


def load_embedder() -> tuple[object | None, str | None]:
    """The test embedder, or None and why not (it is built by another part of the project)."""
    try:
        from apps.search.embedders.registry import get_embedder

        return get_embedder("testmodel"), None
    except Exception as exc:  # noqa: BLE001 - any failure just means "not measured"
        return None, f"{type(exc).__name__}: {exc}"[:300]


def time_embedding(embedder, analyses: dict[str, VideoAnalysis], repeats: int) -> dict:
    """Best-of-N seconds to embed each video's keyframes."""
    per_file = {}
    for name, result in analyses.items():
        images = [k.image for k in result.keyframes]
        best = min(_timed(embedder.encode_images, images) for _ in range(repeats)) if images else 0.0
        per_file[name] = {"keyframes": len(images), "seconds": round(best, 4)}
    return {"model": getattr(embedder, "model_id", "testmodel"), "per_file": per_file,
            "total_seconds": round(sum(v["seconds"] for v in per_file.values()), 4)}


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    paths = args.paths or sorted(p for p in DEFAULT_DIR.iterdir() if p.is_file())
    files, analyses = {}, {}
    for path in paths:
        null_runs, analysis_runs = [], []
        for _ in range(args.repeats):  # interleaved: both see the same background load
            null_runs.append(time_ffmpeg_null(path))
            wall, cpu, analyses[path.name] = time_analysis(path)
            analysis_runs.append((wall, cpu))
        result = analyses[path.name]
        null_wall, null_cpu = (min(run[i] for run in null_runs) for i in (0, 1))
        analysis_wall, analysis_cpu = (min(run[i] for run in analysis_runs) for i in (0, 1))
        files[path.name] = {
            "ffmpeg_null_s": round(null_wall, 4),
            "analyze_s": round(analysis_wall, 4),
            "ratio": round(analysis_wall / null_wall, 3),
            "ffmpeg_null_cpu_s": round(null_cpu, 4),
            "analyze_cpu_s": round(analysis_cpu, 4),
            "cpu_ratio": round(analysis_cpu / null_cpu, 3),
            "duration_s": round(result.probe.duration, 3),
            "shots": len(result.shots),
            "keyframes": len(result.keyframes),
        }
    total_null = sum(f["ffmpeg_null_s"] for f in files.values())
    total_analysis = sum(f["analyze_s"] for f in files.values())
    total_null_cpu = sum(f["ffmpeg_null_cpu_s"] for f in files.values())
    total_analysis_cpu = sum(f["analyze_cpu_s"] for f in files.values())
    embedder, why_not = load_embedder()
    report = {
        "files": files,
        "total_ffmpeg_null_s": round(total_null, 4),
        "total_analyze_s": round(total_analysis, 4),
        "ratio": round(total_analysis / total_null, 3) if total_null else None,
        "cpu_ratio": round(total_analysis_cpu / total_null_cpu, 3) if total_null_cpu else None,
        "target_ratio": TARGET_RATIO,
        "repeats": args.repeats,
        "embedding": time_embedding(embedder, analyses, args.repeats) if embedder else None,
    }
    if embedder is None:
        report["embedding_unavailable"] = why_not
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

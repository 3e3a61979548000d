"""Ingestion cost vs. plain decoding: is one analysis pass at most 1.5x ``ffmpeg -f null``?

For each video (default: ../shared/media/videos/*, or the paths given as arguments) times
``ffmpeg -hide_banner -loglevel error -i FILE -map 0:v:0 -f null -`` and ``analyze_video(FILE)``,
best of N each, interleaved so both see the same machine load. When the test embedder
(``get_embedder("testmodel")``) is available, also times embedding the keyframes separately.
Prints ONE JSON object. Run from the repository root: ``.venv/bin/python bench/ingest.py``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from apps.media.services.video_analysis import VideoAnalysis, analyze_video  # noqa: E402

DEFAULT_DIR = ROOT.parent / "shared" / "media" / "videos"
TARGET_RATIO = 1.5


def time_ffmpeg_null(path: Path) -> float:
    """Seconds for ffmpeg to decode the first video stream and throw the frames away."""
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
            "-map", "0:v:0", "-f", "null", "-"]
    started = time.perf_counter()
    subprocess.run(args, check=True, timeout=600)
    return time.perf_counter() - started


def time_analysis(path: Path) -> tuple[float, VideoAnalysis]:
    started = time.perf_counter()
    result = analyze_video(path)
    return time.perf_counter() - started, result


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
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    paths = args.paths or sorted(p for p in DEFAULT_DIR.iterdir() if p.is_file())
    files, analyses = {}, {}
    for path in paths:
        null_times, analysis_times = [], []
        for _ in range(args.repeats):  # interleaved: both see the same background load
            null_times.append(time_ffmpeg_null(path))
            seconds, analyses[path.name] = time_analysis(path)
            analysis_times.append(seconds)
        result = analyses[path.name]
        files[path.name] = {
            "ffmpeg_null_s": round(min(null_times), 4),
            "analyze_s": round(min(analysis_times), 4),
            "ratio": round(min(analysis_times) / min(null_times), 3),
            "duration_s": round(result.probe.duration, 3),
            "shots": len(result.shots),
            "keyframes": len(result.keyframes),
        }
    total_null = sum(f["ffmpeg_null_s"] for f in files.values())
    total_analysis = sum(f["analyze_s"] for f in files.values())
    embedder, why_not = load_embedder()
    report = {
        "files": files,
        "total_ffmpeg_null_s": round(total_null, 4),
        "total_analyze_s": round(total_analysis, 4),
        "ratio": round(total_analysis / total_null, 3) if total_null else None,
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

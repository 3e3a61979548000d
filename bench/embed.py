"""Embedding speed, torch vs ONNX, same model, same images, same run. Prints ONE JSON object.

    .venv/bin/python bench/embed.py                      # random-init ViT-B-32 (the real architecture's cost)
    .venv/bin/python bench/embed.py --model testmodel    # or any spec; several --model flags allowed
    .venv/bin/python bench/embed.py --images 64 --batch 32 --queries 30

Random weights cost exactly what trained weights cost, so no download is needed. The ONNX side is
exported into a temporary folder first (export time reported) and checked against torch (cosine).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

RANDOM_VITB32 = "random:ViT-B-32"


def _resolve(spec: str, tmp: Path) -> str:
    """``random:ARCH`` -> a seeded random checkpoint spec; anything else unchanged."""
    if not spec.startswith("random:"):
        return spec
    from tests.support.random_models import random_checkpoint

    arch = spec.split(":", 1)[1]
    return f"open_clip:{arch}@{random_checkpoint(arch, tmp / f'{arch}-random.pt', seed=0)}"


def bench_one(spec: str, *, images: int, batch: int, queries: int, repeats: int, tmp: Path,
              threads: int | None = None) -> dict:
    from apps.search.embedders.onnx_backend import OnnxEmbedder
    from apps.search.embedders.registry import get_embedder
    from apps.search.evaluation.speed import compare_torch_onnx
    from apps.search.onnx_export import export_onnx

    torch_emb = get_embedder(_resolve(spec, tmp))
    torch_emb.batch_size = batch
    start = time.perf_counter()
    folder = export_onnx(torch_emb, tmp / f"onnx-{abs(hash(spec))}")
    export_s = time.perf_counter() - start
    onnx_emb = OnnxEmbedder(folder, batch_size=batch, threads=threads)
    result = compare_torch_onnx(torch_emb, onnx_emb, n_images=images, n_queries=queries, repeats=repeats)
    return {"spec": spec, "dim": torch_emb.dim, "onnx_export_s": round(export_s, 2), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", help=f"embedder spec (default: {RANDOM_VITB32} and testmodel)")
    parser.add_argument("--images", type=int, default=32)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="intra-op threads for BOTH torch and onnxruntime (default: each library's own)")
    args = parser.parse_args()
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)

    specs = args.model or [RANDOM_VITB32, "testmodel"]
    tmp = Path(tempfile.mkdtemp(prefix="vs-bench-embed-"))
    out: dict = {"host": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "ort_threads": args.threads or "default",
                          "load_avg_1m": os.getloadavg()[0], "python": platform.python_version(),
                          "torch": torch.__version__},
                 "images": args.images, "image_size": [640, 360], "batch": args.batch, "models": []}
    try:
        for spec in specs:
            try:
                out["models"].append(bench_one(spec, images=args.images, batch=args.batch, queries=args.queries,
                                               repeats=args.repeats, tmp=tmp, threads=args.threads))
            except Exception as exc:  # noqa: BLE001 - one unavailable model must not hide the others' numbers
                out["models"].append({"spec": spec, "error": f"{type(exc).__name__}: {exc}"})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    out["host"]["load_avg_1m_end"] = os.getloadavg()[0]
    print(json.dumps(out, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()

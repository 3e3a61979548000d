"""Benchmark the vector index backends; prints ONE JSON object.

For each size N, seeded random L2-normalised 512-d vectors are indexed by every backend, and
each is measured in this one run: build time, single-query throughput (the app searches one
query at a time) and recall@10 against the exact NumPy reference. Also measured on the store
(``CollectionIndex``) holding N vectors: one ``add`` of 100 vectors (appended to the change log
under the lock: the per-batch write cost a worker pays), how long a search process that had the
index loaded takes to catch up with it, and one full snapshot write (what a log compaction costs,
once per LOG_COMPACT_RATIO x N of added data); and one search through a newly opened store
(loading the file) against one through an already open store.

Uniformly random vectors have no cluster structure, which makes them the worst case for IVF
(every list is equally likely to hold a neighbour). Real CLIP embeddings cluster, so the IVF
recall is also measured on a seeded clustered set of the same size ("recall@10_clustered":
N/100 random centres, points = centre + Gaussian noise, queries drawn the same way).

Usage: ``.venv/bin/python bench/search.py [--sizes 10000 100000] [--queries 200]``
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.search.index import CollectionIndex  # noqa: E402
from apps.search.index_backends import BACKENDS, VectorBackend  # noqa: E402

DIM = 512
K = 10
BACKEND_ORDER = ("numpy", "flat", "ivf")


def normalise(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def unit_vectors(n: int, seed: int) -> np.ndarray:
    return normalise(np.random.default_rng(seed).standard_normal((n, DIM), dtype=np.float32))


def clustered_vectors(n: int, n_queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Data and queries around n/100 shared random centres (embedding-like structure)."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.standard_normal((max(n // 100, 10), DIM), dtype=np.float32))

    def around(m: int) -> np.ndarray:
        noise = 0.06 * rng.standard_normal((m, DIM), dtype=np.float32)
        return normalise(centres[rng.integers(0, len(centres), m)] + noise)

    return around(n), around(n_queries)


def build(name: str, ids: np.ndarray, vectors: np.ndarray) -> tuple[VectorBackend, float]:
    t0 = time.perf_counter()
    backend = BACKENDS[name](DIM)
    backend.add(ids, vectors)
    return backend, time.perf_counter() - t0


def queries_per_second(backend: VectorBackend, queries: np.ndarray) -> float:
    t0 = time.perf_counter()
    for q in queries:
        backend.search(q[None, :], K)
    return len(queries) / (time.perf_counter() - t0)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    hits = sum(len(set(f[f >= 0]) & set(t)) for f, t in zip(found, truth, strict=True))
    return hits / truth.size


def clustered_recall(name: str, n: int, n_queries: int) -> float:
    vectors, queries = clustered_vectors(n, n_queries, seed=n + 2)
    ids = np.arange(n, dtype=np.int64)
    _, truth = build("numpy", ids, vectors)[0].search(queries, K)
    _, found = build(name, ids, vectors)[0].search(queries, K)
    return round(recall_at_k(found, truth), 4)


def store_write_seconds(name: str, ids: np.ndarray, vectors: np.ndarray) -> dict[str, float]:
    """Seconds for: add 100 vectors to a store of len(ids); a loaded reader catching up; a snapshot write."""
    with tempfile.TemporaryDirectory(dir=Path(__file__).parent) as tmp:
        store, reader = CollectionIndex(Path(tmp), backend=name), CollectionIndex(Path(tmp), backend=name)
        store.add("bench", ids, vectors)
        reader.info()
        extra = unit_vectors(100, seed=99)
        t0 = time.perf_counter()
        store.add("bench", ids.max() + 1 + np.arange(100), extra)
        t1 = time.perf_counter()
        assert reader.info().count == len(ids) + 100
        t2 = time.perf_counter()
        with store._locked():
            current = store._load_current(use_cache=False)
            store._write(current.state, current.generation)
        t3 = time.perf_counter()
        query = extra[0]
        CollectionIndex(Path(tmp), backend=name).search("bench", query, 10)  # what a request pays with no open index
        t4 = time.perf_counter()
        store.search("bench", query, 10)  # an open index (apps.search.vectors keeps one per collection)
        t5 = time.perf_counter()
        return {"add_100_s": round(t1 - t0, 4), "reader_catch_up_s": round(t2 - t1, 4),
                "snapshot_write_s": round(t3 - t2, 4), "search_from_disk_s": round(t4 - t3, 4),
                "search_open_index_s": round(t5 - t4, 4)}


def bench_size(n: int, n_queries: int) -> dict:
    vectors = unit_vectors(n, seed=n)
    ids = np.arange(n, dtype=np.int64) * 7 + 3  # sparse ids, like tagged vector ids
    queries = unit_vectors(n_queries, seed=n + 1)
    result: dict = {}
    truth = None
    for name in BACKEND_ORDER:
        backend, build_s = build(name, ids, vectors)
        _, found = backend.search(queries, K)
        if name == "numpy":
            truth = found
        entry = {
            "build_s": round(build_s, 3),
            "queries_per_s": round(queries_per_second(backend, queries), 1),
            f"recall@{K}": round(recall_at_k(found, truth), 4),
        }
        if name == "ivf":
            ivf = getattr(backend, "_ivf", None)
            entry["nlist"] = int(ivf.nlist) if ivf is not None else None
            entry["nprobe"] = int(backend.nprobe) if ivf is not None else None
            entry[f"recall@{K}_clustered"] = clustered_recall(name, n, n_queries)
        result[name] = entry
        del backend
    result["store_writes"] = {name: store_write_seconds(name, ids, vectors) for name in ("flat", "ivf")}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    t0 = time.perf_counter()
    report = {
        "dim": DIM,
        "k": K,
        "queries": args.queries,
        "reference": "numpy",
        "machine": {
            "cpus": os.cpu_count(),
            "faiss_threads": faiss.omp_get_max_threads(),
            "python": platform.python_version(),
            "faiss": faiss.__version__,
            "numpy": np.__version__,
        },
        "sizes": {str(n): bench_size(n, args.queries) for n in args.sizes},
    }
    report["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

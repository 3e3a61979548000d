"""Real processes writing one collection's index at once lose nothing and tear nothing.

Writers run in separate processes (as Celery workers do, possibly on other machines sharing the
directory), so this starts real 'spawn' processes: no shared memory, only the files and the
flock. Run twice: with appends to the change log only, and with the log folded into a new
snapshot every few writes (readers then lose the log they were reading and must start again).
"""
from __future__ import annotations

import multiprocessing as mp
import traceback
from pathlib import Path

import numpy as np
import pytest

from apps.search import index as index_module
from apps.search.index import CollectionIndex

MODEL = "test:concurrency"
DIM = 32
WRITERS = 4
PER_WRITER = 200
BATCH = 10
SEED_IDS = list(range(1_000_000, 1_000_020))  # present before the writers start


def vector(vid: int) -> np.ndarray:
    """Deterministic unit vector per id, so any process can recompute it."""
    v = np.random.default_rng(vid).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


def snapshot_id(directory: Path) -> str:
    """The write id of the snapshot on disk (unique per snapshot; an inode number can be reused)."""
    with open(directory / "index.bin", "rb") as f:
        return index_module._read_header(f)["write_id"]


def writer(directory: str, worker: int, go, errors, compact_bytes: int | None) -> None:
    try:
        if compact_bytes is not None:
            index_module.LOG_COMPACT_MIN_BYTES = compact_bytes
        idx = CollectionIndex(Path(directory))
        ids = [worker * 10_000 + i for i in range(PER_WRITER)]
        go.wait()
        for start in range(0, PER_WRITER, BATCH):
            batch = ids[start : start + BATCH]
            idx.add(MODEL, np.array(batch), np.stack([vector(i) for i in batch]))
    except BaseException:
        errors.put(f"writer {worker}: {traceback.format_exc()}")


def reader(directory: str, go, stop, errors, searches) -> None:
    """Search continuously; every read must be a complete, consistent index."""
    try:
        idx = CollectionIndex(Path(directory))
        go.wait()
        last_count, n = 0, 0
        while not stop.is_set() or n == 0:
            count = idx.info().count
            if count < last_count:
                raise AssertionError(f"count went backwards {last_count} -> {count}")
            last_count = count
            vid = SEED_IDS[n % len(SEED_IDS)]
            hits = idx.search(MODEL, vector(vid), 5)
            if not hits or hits[0][0] != vid or abs(hits[0][1] - 1.0) > 1e-4:
                raise AssertionError(f"seed id {vid} not found first: {hits}")
            n += 1
        searches.put(n)
    except BaseException:
        errors.put(f"reader: {traceback.format_exc()}")


@pytest.mark.parametrize("compact_bytes", [None, 4096], ids=["log-appends", "frequent-compaction"])
def test_concurrent_writers_and_reader(tmp_path: Path, compact_bytes: int | None) -> None:
    directory = tmp_path / "shared-collection"
    CollectionIndex(directory).add(
        MODEL, np.array(SEED_IDS), np.stack([vector(i) for i in SEED_IDS])
    )
    first_snapshot = snapshot_id(directory)
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    errors, searches = ctx.Queue(), ctx.Queue()
    writers = [
        ctx.Process(target=writer, args=(str(directory), w, go, errors, compact_bytes)) for w in range(WRITERS)
    ]
    read = ctx.Process(target=reader, args=(str(directory), go, stop, errors, searches))
    for p in [*writers, read]:
        p.start()
    go.set()
    for p in writers:
        p.join(timeout=120)
    stop.set()
    read.join(timeout=60)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert all(p.exitcode == 0 for p in [*writers, read])
    assert searches.get(timeout=5) > 0

    idx = CollectionIndex(directory)
    assert idx.info().count == len(SEED_IDS) + WRITERS * PER_WRITER
    all_ids = SEED_IDS + [w * 10_000 + i for w in range(WRITERS) for i in range(PER_WRITER)]
    assert idx.contains(all_ids) == set(all_ids)
    for vid in all_ids:
        assert idx.search(MODEL, vector(vid), 1)[0][0] == vid
    assert not list(directory.glob("*.tmp"))
    assert len(list(directory.glob("log-*.bin"))) <= 1
    snapshot_replaced = snapshot_id(directory) != first_snapshot
    assert snapshot_replaced == (compact_bytes is not None)  # appends alone never rewrite the snapshot


def test_writers_during_rebuilds_lose_nothing(tmp_path: Path) -> None:
    """Rebuilds swapping generations again and again while writer processes add: every vector stays."""
    from apps.search.index_rebuild import IndexBuild

    directory = tmp_path / "rebuilt-collection"
    live = CollectionIndex(directory)
    live.add(MODEL, np.array(SEED_IDS), np.stack([vector(i) for i in SEED_IDS]))
    ctx = mp.get_context("spawn")
    go, stop = ctx.Event(), ctx.Event()
    errors, searches = ctx.Queue(), ctx.Queue()
    writers = [ctx.Process(target=writer, args=(str(directory), w, go, errors, None)) for w in range(WRITERS)]
    read = ctx.Process(target=reader, args=(str(directory), go, stop, errors, searches))
    for p in [*writers, read]:
        p.start()

    def copy_missing(delta, index) -> None:  # what a same-model rebuild carries over
        build.remove(delta.removed)
        present, vectors = index.reconstruct_present(delta.missing)
        if present.size:
            build.add(present, vectors)

    go.set()
    rebuilds = 0
    while rebuilds < 3 or any(p.is_alive() for p in writers):
        with IndexBuild(live, MODEL) as build:
            build.add(np.array(SEED_IDS), np.stack([vector(i) for i in SEED_IDS]))  # "re-embedded" from the rows
            build.swap(copy_missing)
        rebuilds += 1
    for p in writers:
        p.join(timeout=120)
    stop.set()
    read.join(timeout=60)
    problems = []
    while not errors.empty():
        problems.append(errors.get())
    assert not problems, "\n".join(problems)
    assert all(p.exitcode == 0 for p in [*writers, read])
    all_ids = SEED_IDS + [w * 10_000 + i for w in range(WRITERS) for i in range(PER_WRITER)]
    idx = CollectionIndex(directory)
    assert idx.info().count == len(all_ids) and idx.contains(all_ids) == set(all_ids)
    assert len(list(directory.glob("gen-*"))) == 1 and not (directory / "index.bin").exists()

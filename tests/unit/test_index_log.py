"""The index's append-only change log: small writes append, readers catch up, compaction folds it."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from apps.search import index as index_module
from apps.search.index import BACKENDS, CollectionIndex
from apps.search.index_log import LogRecord, encode, read_from

MODEL = "test:model-a"
DIM = 16


def unit(n: int, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def log_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("log-*.bin"))


def test_adds_after_the_first_append_to_the_log_not_the_snapshot(tmp_path: Path, backend: str) -> None:
    writer = CollectionIndex(tmp_path, backend=backend)
    vecs = unit(30)
    writer.add(MODEL, range(10), vecs[:10])  # empty index: the first add writes the snapshot
    snapshot = os.stat(writer.index_path)
    writer.add(MODEL, range(10, 20), vecs[10:20])
    writer.add(MODEL, range(20, 30), vecs[20:])
    assert writer.remove([3, 4, 99]) == 2
    after = os.stat(writer.index_path)
    assert (after.st_ino, after.st_mtime_ns) == (snapshot.st_ino, snapshot.st_mtime_ns)
    assert len(log_files(tmp_path)) == 1
    fresh = CollectionIndex(tmp_path, backend=backend)  # another process: snapshot + log replay
    assert fresh.info().count == writer.info().count == 28
    assert fresh.contains(range(30)) == set(range(30)) - {3, 4}
    np.testing.assert_allclose(fresh.reconstruct([25])[25], vecs[25], atol=1e-6)
    assert fresh.search(MODEL, vecs[15], 1)[0][0] == 15


def test_a_cached_reader_reads_only_the_new_records(tmp_path: Path, backend: str) -> None:
    writer, reader = CollectionIndex(tmp_path, backend=backend), CollectionIndex(tmp_path, backend=backend)
    vecs = unit(12, seed=1)
    writer.add(MODEL, range(4), vecs[:4])
    before = reader._load()
    writer.add(MODEL, range(4, 8), vecs[4:8])
    writer.add(MODEL, [0], vecs[8:9])  # replaces id 0
    after = reader._load()
    assert after is not before and before.count == 4  # the state other threads hold is not changed
    assert after.count == 8 and reader._cache.log_end == os.path.getsize(log_files(tmp_path)[0])
    np.testing.assert_allclose(reader.reconstruct([0])[0], vecs[8], atol=1e-6)
    assert reader._load() is after  # nothing new: the cached state itself


def test_the_log_is_folded_into_a_new_snapshot_once_large(tmp_path: Path, backend: str, monkeypatch) -> None:
    monkeypatch.setattr(index_module, "LOG_COMPACT_MIN_BYTES", 2000)
    writer, reader = CollectionIndex(tmp_path, backend=backend), CollectionIndex(tmp_path, backend=backend)
    vecs = unit(200, seed=2)
    writer.add(MODEL, range(10), vecs[:10])
    reader.info()  # caches the first snapshot
    first_log = None
    for start in range(10, 200, 10):
        writer.add(MODEL, range(start, start + 10), vecs[start:start + 10])
        first_log = first_log or log_files(tmp_path)[0]
    assert not first_log.exists()  # folded and deleted
    assert len(log_files(tmp_path)) <= 1
    assert reader.info().count == 200  # its cached snapshot and log are gone: it reloads
    assert reader.contains(range(200)) == set(range(200))
    np.testing.assert_allclose(reader.reconstruct([199])[199], vecs[199], atol=1e-6)


def test_a_torn_tail_is_ignored_by_readers_and_cut_off_by_the_next_writer(tmp_path: Path, backend: str) -> None:
    writer = CollectionIndex(tmp_path, backend=backend)
    vecs = unit(6, seed=3)
    writer.add(MODEL, [1, 2], vecs[:2])
    writer.add(MODEL, [3], vecs[2:3])
    log = log_files(tmp_path)[0]
    complete = log.read_bytes()
    torn = encode(LogRecord("add", MODEL, np.array([4]), vecs[3:4]))[:-7]  # a writer died mid-write
    log.write_bytes(complete + torn)
    assert CollectionIndex(tmp_path, backend=backend).contains([1, 2, 3, 4]) == {1, 2, 3}
    writer.add(MODEL, [5], vecs[4:5])
    assert log.read_bytes().startswith(complete) and len(read_from(log, 0)[0]) == 2
    assert CollectionIndex(tmp_path, backend=backend).contains([1, 2, 3, 4, 5]) == {1, 2, 3, 5}


def test_a_damaged_record_is_not_applied(tmp_path: Path) -> None:
    writer = CollectionIndex(tmp_path, backend="flat")
    vecs = unit(3, seed=4)
    writer.add(MODEL, [1], vecs[:1])
    writer.add(MODEL, [2], vecs[1:2])
    log = log_files(tmp_path)[0]
    data = bytearray(log.read_bytes())
    data[-1] ^= 0xFF  # flip a bit in the vector bytes: the CRC no longer matches
    log.write_bytes(bytes(data))
    assert CollectionIndex(tmp_path, backend="flat").contains([1, 2]) == {1}


def test_reset_starts_a_new_snapshot_and_drops_the_log(tmp_path: Path) -> None:
    idx = CollectionIndex(tmp_path, backend="flat")
    idx.add(MODEL, [1], unit(1))
    idx.add(MODEL, [2], unit(1, seed=5))
    assert log_files(tmp_path)
    idx.reset("test:model-b")
    assert not log_files(tmp_path)
    assert CollectionIndex(tmp_path).info().count == 0


def test_each_process_keeps_one_open_index_per_collection(tmp_path: Path, settings) -> None:
    from apps.media.models import Collection
    from apps.search import vectors

    settings.INDEX_ROOT = tmp_path
    first, second = Collection(pk=1, name="a"), Collection(pk=2, name="b")
    opened = vectors.collection_index(first)
    assert vectors.collection_index(first) is opened
    assert vectors.collection_index(second) is not opened
    for pk in range(3, 3 + settings.OPEN_INDEXES):
        vectors.collection_index(Collection(pk=pk, name=str(pk)))
    assert len(vectors._open) == settings.OPEN_INDEXES
    assert vectors.collection_index(first) is not opened  # let go as least recently used, opened again

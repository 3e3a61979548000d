"""The read-only helpers `manage.py verify` relies on: an index's ids and leftovers, and lock probing."""
from __future__ import annotations

import fcntl
import os
from pathlib import Path

import numpy as np

from apps.media.services import locks
from apps.search.index import LOCK_FILE, CollectionIndex

MODEL = "test:model-a"


def unit(n: int, dim: int = 8) -> np.ndarray:
    v = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_ids_lists_every_id_sorted(tmp_path: Path) -> None:
    idx = CollectionIndex(tmp_path / "c")
    assert idx.ids().tolist() == []
    idx.add(MODEL, [30, 10, 20], unit(3))
    idx.remove([20])
    assert idx.ids().tolist() == [10, 30]


def test_leftovers_are_temp_files_and_logs_of_replaced_snapshots_never_the_live_ones(tmp_path: Path) -> None:
    idx = CollectionIndex(tmp_path / "c")
    assert idx.leftovers() == []  # no directory yet
    idx.add(MODEL, [1], unit(1))
    idx.add(MODEL, [2], unit(1))  # appended to the live log
    live = sorted(p.name for p in idx.directory.iterdir())
    assert idx.leftovers() == []
    (idx.directory / ".index.bin.x1y2.tmp").write_bytes(b"half")
    (idx.directory / "log-0000dead.bin").write_bytes(b"old")
    assert [p.name for p in idx.leftovers()] == [".index.bin.x1y2.tmp", "log-0000dead.bin"]
    assert sorted(p.name for p in idx.directory.iterdir() if p.name not in (".index.bin.x1y2.tmp", "log-0000dead.bin")) == live
    # while a writer holds the lock its temp file is in use: nothing is reported
    fd = os.open(idx.directory / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        assert idx.leftovers() == []
    finally:
        os.close(fd)
    assert idx.ids().tolist() == [1, 2]  # reading them changed nothing



def test_the_next_writer_removes_what_a_killed_write_left(tmp_path: Path) -> None:
    idx = CollectionIndex(tmp_path / "c")
    idx.add(MODEL, [1], unit(1))
    idx.add(MODEL, [2], unit(1))
    live = sorted(p.name for p in idx.directory.iterdir())
    (idx.directory / ".index.bin.x1y2.tmp").write_bytes(b"half")  # killed before its rename
    (idx.directory / ".meta.json.a1b2.tmp").write_bytes(b"half")
    (idx.directory / "log-0000dead.bin").write_bytes(b"old")  # killed before it deleted the replaced log
    idx.remove([2])  # a write: under the writer lock, nothing of a killed writer is in use
    assert idx.leftovers() == []
    assert sorted(p.name for p in idx.directory.iterdir()) == live
    assert CollectionIndex(tmp_path / "c").ids().tolist() == [1]

def test_lock_probing_creates_nothing_and_sees_a_holder(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "video-1.lock"
    assert not locks.is_held(path) and not path.exists()
    with locks.hold(path):
        assert locks.is_held(path)
        with locks.try_hold(path) as free:
            assert not free
    assert not locks.is_held(path)
    with locks.try_hold(path, create=True) as free:
        assert free and locks.is_held(path)

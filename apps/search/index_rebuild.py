"""Rebuild a collection's index beside the live one and swap it in when complete.

Why: emptying the live index and refilling it (the old way) left searches answering nothing for
the whole rebuild, and a rebuild killed midway left the collection with no vectors at all. Here
the new vectors go to a fresh generation directory (``gen-<uuid>/``) while searches and ingests
keep using the live one; :meth:`IndexBuild.swap` then names the new generation in ``CURRENT``
with one ``os.replace``. A rebuild killed at any point leaves ``CURRENT`` as it was; the next
rebuild removes what it left.

Ingests keep writing to the live generation meanwhile. What they changed is carried over before
the swap: the build remembers which ids were live when it started and hands the caller a
:class:`BuildDelta` (ids added, removed, or never live since), once without the writer lock (the
bulk) and once more under it, right before the swap, when no writer can add anything after.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np

from .index import (
    CURRENT_FILE,
    GENERATION_PREFIX,
    INDEX_FILE,
    META_FILE,
    CollectionIndex,
    _atomic_write,
    read_current,
)

REBUILD_LOCK_FILE = ".rebuild.lock"


@dataclass(frozen=True)
class BuildDelta:
    """How the live index differs from the generation being built (sorted int64 id arrays)."""

    #: Live now, not in the new generation: added since the build started (or left out by it).
    missing: np.ndarray
    #: In the new generation, seen live during the build and removed from the live index since.
    removed: np.ndarray
    #: In the new generation, never seen live: rebuilt from stored items only (a repair, or an
    #: item added and removed between two looks). Keep those whose item still exists.
    unlisted: np.ndarray


#: ``reconcile(delta, live)`` brings the new generation in line with the live index ``live``.
Reconcile = Callable[[BuildDelta, CollectionIndex], None]


def _ids(index: CollectionIndex) -> np.ndarray:
    state = index._load()
    return np.sort(state.backend.ids()) if state.backend is not None else np.empty(0, dtype=np.int64)


def remove_leftovers(directory: Path) -> list[Path]:
    """Remove what killed rebuilds left in a collection's index directory; returns what was removed.

    Call with the rebuild lock held: every generation but the live one is a leftover then, and so
    are the top-level index files once a generation is live.
    """
    live = read_current(directory)
    removed: list[Path] = []
    for path in directory.glob(f"{GENERATION_PREFIX}*"):
        if path.is_dir() and path != live:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    if live != directory:  # the collection was rebuilt: its first files are no longer read by anyone
        for path in [directory / INDEX_FILE, directory / META_FILE, *directory.glob("log-*.bin"), *directory.glob(".*.tmp")]:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


class IndexBuild:
    """A new generation of ``live``'s collection, filled by the caller, swapped in by :meth:`swap`.

    A context manager: it holds the collection's rebuild lock (one rebuild at a time; the OS
    drops it when the process dies), removes leftovers of killed rebuilds, and on exit without a
    swap removes its own unfinished generation.
    """

    def __init__(self, live: CollectionIndex, model_id: str) -> None:
        self.live, self.model_id = live, model_id
        self.name = f"{GENERATION_PREFIX}{uuid.uuid4().hex}"
        self.target = CollectionIndex(live.directory / self.name, backend=live.backend)
        self.swapped = False
        self._lock_fd: int | None = None
        self._seen = np.empty(0, dtype=np.int64)

    def __enter__(self) -> IndexBuild:
        self.live.directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.live.directory / REBUILD_LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            remove_leftovers(self.live.directory)
            self._seen = _ids(self.live)  # before the caller reads what to embed (see BuildDelta)
            self.target.reset(self.model_id)  # an empty snapshot bound to the model
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if not self.swapped:
                shutil.rmtree(self.target.directory, ignore_errors=True)
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    # ----------------------------------------------------------------- filling
    def add(self, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        self.target.add(self.model_id, ids, vectors)

    def remove(self, ids: Iterable[int] | np.ndarray) -> int:
        return self.target.remove(ids)

    @property
    def count(self) -> int:
        return self.target.info().count

    def delta(self) -> BuildDelta:
        """What changed in the live index since the build started (or since the last delta)."""
        live, built = _ids(self.live), _ids(self.target)
        seen = np.union1d(self._seen, live)
        delta = BuildDelta(
            missing=np.setdiff1d(live, built),
            removed=np.setdiff1d(np.intersect1d(built, self._seen), live),
            unlisted=np.setdiff1d(built, seen),
        )
        self._seen = seen
        return delta

    # ----------------------------------------------------------------- swapping
    def swap(self, reconcile: Reconcile, before_swap: Callable[[], None] | None = None) -> None:
        """Catch up with the live index, then make the new generation the live one.

        ``reconcile`` runs twice: without the writer lock (most of what changed), then under it
        (what changed meanwhile; index writes of ingests wait for the moment this takes). The old
        generation is removed after the swap; readers that still had it open start again.
        ``before_swap`` runs under the lock just before ``CURRENT`` is replaced (a test hook).
        """
        reconcile(self.delta(), self.live)
        self.target.compact()  # outside the lock: serialising a large index takes a while
        with self.live._locked():
            reconcile(self.delta(), self.live)
            if before_swap is not None:
                before_swap()
            _atomic_write(self.live.directory / CURRENT_FILE, [self.name.encode()])
            self.swapped = True
        remove_leftovers(self.live.directory)  # the old generation (readers still reading it start again)

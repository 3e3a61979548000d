"""Per-collection persistent vector index, safe across processes and machines.

One directory per collection holds:

``index.bin``
    The source of truth: a small JSON header (model id, dim, backend, count, write id) followed
    by the backend's serialized bytes. Header and vectors live in ONE file so that a reader can
    never pair the vectors of one write with the metadata of another.
``meta.json``
    The same header as plain JSON, rewritten after every write, for humans and tooling only.
``.lock``
    ``fcntl.flock`` target serialising writers (works on local disks and Linux NFS).

Writers take the exclusive lock, re-load the newest ``index.bin`` inside it (another process
may have written since we last looked), apply their change, write a temp file in the same
directory, fsync it, ``os.replace`` it over ``index.bin`` and fsync the directory. Readers take
no lock: the rename is atomic, so they see either the old or the new file, never a torn one.
Each process caches the loaded index and reloads it only when the file changed; nothing relies
on memory shared between processes.

Vectors are expected L2-normalised float32 rows; nothing is normalised silently (a wrong norm
is a bug upstream and raises). Scores are inner products (= cosine similarity).
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import struct
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from apps.search.index_backends import BACKENDS, VectorBackend, get_backend

__all__ = [
    "BACKENDS",
    "CollectionIndex",
    "IndexInfo",
    "IndexModelMismatchError",
]

INDEX_FILE = "index.bin"
META_FILE = "meta.json"
LOCK_FILE = ".lock"
FORMAT_VERSION = 1
_MAGIC = b"VSIDX\x00\x01\n"
#: Allowed deviation of a vector's L2 norm from 1 (fp16 models land around 1e-3).
NORM_TOLERANCE = 1e-2

T = TypeVar("T")


class IndexModelMismatchError(Exception):
    """The index was built by a different embedding model than the one configured now.

    Raised by the store via :meth:`for_collection`; app code may also raise it with its own
    message (a plain ``IndexModelMismatchError("...")`` works, the attributes are then None).
    """

    collection: str | None = None
    index_model: str | None = None
    configured_model: str | None = None

    @classmethod
    def for_collection(
        cls, collection: str, index_model: str, configured_model: str
    ) -> IndexModelMismatchError:
        err = cls(
            f"index of collection {collection!r} was built by model {index_model!r}, "
            f"configured model is {configured_model!r}; rebuild it "
            "(admin action / `manage.py rebuild_index`)"
        )
        err.collection, err.index_model, err.configured_model = (
            collection,
            index_model,
            configured_model,
        )
        return err


@dataclass(frozen=True)
class IndexInfo:
    """What an admin page or health check shows about a collection's index."""

    model_id: str | None
    dim: int | None
    count: int
    backend: str
    #: The collection's index directory.
    path: Path


@dataclass
class _State:
    """One loaded version of the index file."""

    model_id: str | None
    dim: int | None
    backend_name: str
    backend: VectorBackend | None  # None until the first add tells us the dimension
    write_id: str = ""

    @property
    def count(self) -> int:
        return self.backend.ntotal if self.backend is not None else 0

    def header(self) -> dict:
        return {
            "version": FORMAT_VERSION,
            "model_id": self.model_id,
            "dim": self.dim,
            "backend": self.backend_name,
            "count": self.count,
            "write_id": self.write_id,
        }


_FileKey = tuple[int, int, int, str]  # (inode, size, mtime_ns, write_id)


def _read_header(f: BinaryIO) -> dict:
    """Parse the header of an open index file, leaving f at the start of the payload."""
    if f.read(len(_MAGIC)) != _MAGIC:
        raise ValueError(f"{f.name} is not a videosearch index file")
    (hlen,) = struct.unpack("<I", f.read(4))
    header = json.loads(f.read(hlen))
    if header.get("version") != FORMAT_VERSION:
        raise ValueError(f"{f.name}: unsupported index format version {header.get('version')}")
    return header


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _atomic_write(path: Path, chunks: Iterable[bytes]) -> os.stat_result:
    """Write chunks to a temp file next to path, fsync, rename over path, fsync the dir."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return st


def _as_ids(ids: Iterable[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"ids must be a 1-d sequence of integers, got {arr.dtype} {arr.shape}")
    if (arr < 0).any():
        raise ValueError("ids must be non-negative (-1 is FAISS padding)")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _as_vectors(vectors: np.ndarray, dim: int | None, what: str) -> np.ndarray:
    """Check shape and norms; convert a float dtype to float32. Never normalises."""
    arr = np.asarray(vectors)
    if not np.issubdtype(arr.dtype, np.floating):
        raise TypeError(f"{what} must be floating point, got {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2 or arr.shape[1] == 0:
        raise ValueError(f"{what} must have shape (n, dim), got {np.shape(vectors)}")
    if dim is not None and arr.shape[1] != dim:
        raise ValueError(f"{what} have dimension {arr.shape[1]}, index has dimension {dim}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1)
    bad = ~(np.abs(norms - 1.0) <= NORM_TOLERANCE)  # also catches NaN
    if bad.any():
        raise ValueError(
            f"{what} must be L2-normalised; row {int(np.argmax(bad))} has norm "
            f"{norms[bad][0]:.4g}"
        )
    return arr


class CollectionIndex:
    """The vector index of one collection, stored in ``directory``.

    ``backend`` names the backend used when the index is created or reset; an existing index
    keeps the backend it was written with (``info().backend``) until ``reset``.
    Instances are cheap; one per collection per process lets the loaded index be reused.
    """

    def __init__(self, directory: Path | str, backend: str = "flat") -> None:
        get_backend(backend)  # fail fast on a typo
        self.directory = Path(directory)
        self.backend = backend
        # Replaced (never mutated) as a whole, so threads of one process can share it.
        self._cache: tuple[_FileKey, _State] | None = None

    # ----------------------------------------------------------------- paths and loading
    @property
    def collection(self) -> str:
        return self.directory.name

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    def _empty(self, model_id: str | None = None) -> _State:
        return _State(model_id=model_id, dim=None, backend_name=self.backend, backend=None)

    def _load(self, use_cache: bool = True) -> _State:
        """The newest index on disk, from the cache when the file is unchanged.

        A cached state is never mutated (readers in other threads may be using it), so
        writers ask for a private copy with ``use_cache=False``.
        """
        try:
            with open(self.index_path, "rb") as f:
                return self._load_from(f, use_cache)
        except FileNotFoundError:
            return self._empty()

    def _load_from(self, f: BinaryIO, use_cache: bool) -> _State:
        # fstat of the handle we read from: the key describes exactly these bytes, even if
        # a writer renames a new file into place meanwhile.
        st = os.fstat(f.fileno())
        header = _read_header(f)
        key = (st.st_ino, st.st_size, st.st_mtime_ns, header["write_id"])
        cached = self._cache
        if use_cache and cached is not None and cached[0] == key:
            return cached[1]
        payload = f.read()
        state = _State(
            model_id=header["model_id"],
            dim=header["dim"],
            backend_name=header["backend"],
            backend=None,
            write_id=header["write_id"],
        )
        if header["dim"] is not None:
            state.backend = get_backend(header["backend"]).deserialize(payload, header["dim"])
        if state.count != header["count"]:
            raise ValueError(f"{self.index_path}: header count {header['count']} != {state.count}")
        if use_cache:
            self._cache = (key, state)
        return state

    # ----------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive per-collection writer lock, held across processes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _write(self, state: _State) -> None:
        state.write_id = uuid.uuid4().hex
        header = json.dumps(state.header()).encode()
        payload = state.backend.serialize() if state.backend is not None else b""
        st = _atomic_write(
            self.index_path, [_MAGIC, struct.pack("<I", len(header)), header, payload]
        )
        self._cache = ((st.st_ino, st.st_size, st.st_mtime_ns, state.write_id), state)
        meta = json.dumps(state.header(), indent=2).encode()
        _atomic_write(self.directory / META_FILE, [meta])

    def _mutate(self, change: Callable[[_State], tuple[T, bool]]) -> T:
        """Lock, load a private copy of the newest state, apply ``change``, write it back.

        ``change`` returns ``(result, changed)``; nothing is written when ``changed`` is
        false. On error the file on disk is left untouched.
        """
        with self._locked():
            state = self._load(use_cache=False)
            result, changed = change(state)
            if changed:
                self._write(state)
            return result

    def _check_model(self, state: _State, model_id: str) -> None:
        if state.model_id is not None and state.model_id != model_id:
            raise IndexModelMismatchError.for_collection(self.collection, state.model_id, model_id)

    # ----------------------------------------------------------------- public API
    def add(self, model_id: str, ids: Iterable[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add or replace vectors. Re-adding an existing id replaces its vector.

        The first add fixes the index's model and dimension; a different model raises
        IndexModelMismatchError, a different dimension ValueError.
        """
        ids_arr = _as_ids(ids)
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise ValueError("ids within one add() call must be unique")

        def change(state: _State) -> tuple[None, bool]:
            self._check_model(state, model_id)
            vecs = _as_vectors(vectors, state.dim, "vectors")
            if len(vecs) != len(ids_arr):
                raise ValueError(f"{len(ids_arr)} ids but {len(vecs)} vectors")
            if not len(ids_arr):
                return None, False
            if state.backend is None:
                state.dim = vecs.shape[1]
                state.backend_name = self.backend
                state.backend = get_backend(self.backend)(state.dim)
            state.model_id = model_id
            state.backend.remove(ids_arr)
            state.backend.add(ids_arr, vecs)
            return None, True

        self._mutate(change)

    def remove(self, ids: Iterable[int]) -> int:
        """Remove ids (missing ones are ignored); returns how many were removed."""
        ids_arr = np.unique(_as_ids(ids))
        if not ids_arr.size:
            return 0

        def change(state: _State) -> tuple[int, bool]:
            removed = state.backend.remove(ids_arr) if state.backend is not None else 0
            return removed, removed > 0

        return self._mutate(change)

    def search(self, model_id: str, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Top-k ``(id, score)`` for one L2-normalised query, best first.

        Refuses to compare a query from another model (IndexModelMismatchError).
        """
        if k <= 0:
            return []
        state = self._load()
        self._check_model(state, model_id)
        q = _as_vectors(query, state.dim, "query")
        if len(q) != 1:
            raise ValueError(f"search takes one query vector, got {len(q)}")
        if state.backend is None or state.count == 0:
            return []
        scores, ids = state.backend.search(q, min(k, state.count))
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0], strict=True) if i != -1]

    def reconstruct(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored vectors of the ids that are present (for "more like this")."""
        state = self._load()
        present = self._present(state, _as_ids(ids))
        if not present.size:
            return {}
        vecs = state.backend.reconstruct(present)
        return {int(i): v for i, v in zip(present, vecs, strict=True)}

    def contains(self, ids: Iterable[int]) -> set[int]:
        """The subset of ids that are in the index."""
        return {int(i) for i in self._present(self._load(), _as_ids(ids))}

    @staticmethod
    def _present(state: _State, ids: np.ndarray) -> np.ndarray:
        if state.backend is None or not ids.size:
            return np.empty(0, dtype=np.int64)
        return np.unique(ids[np.isin(ids, state.backend.ids())])

    def info(self) -> IndexInfo:
        state = self._load()
        return IndexInfo(
            model_id=state.model_id,
            dim=state.dim,
            count=state.count,
            backend=state.backend_name,
            path=self.directory,
        )

    def reset(self, model_id: str | None = None) -> None:
        """Empty the index (for a rebuild), optionally binding it to a model already.

        The configured backend is used from here on, so reset also switches backends.
        """

        def change(state: _State) -> tuple[None, bool]:
            state.model_id, state.dim = model_id, None
            state.backend_name, state.backend = self.backend, None
            return None, True

        self._mutate(change)

"""Per-collection persistent vector index, safe across processes and machines.

One directory per collection holds:

``index.bin``
    A snapshot: a small JSON header (model id, dim, backend, count, write id) followed by the
    backend's serialized bytes. Header and vectors live in ONE file so that a reader can never
    pair the vectors of one write with the metadata of another.
``log-<write id>.bin``
    The changes made since that snapshot, appended one record per write (:mod:`.index_log`).
    Adding a video costs a few fsynced kilobytes, not a rewrite of the whole collection; once the
    log outgrows a fraction of the snapshot, the next writer folds it into a new snapshot (with a
    new write id, hence a new empty log) and deletes the old log.
``meta.json``
    The current header as plain JSON, rewritten after every write, for humans and tooling only.
``.lock``
    ``fcntl.flock`` target serialising writers (works on local disks and Linux NFS).

A rebuild never empties the live index: it writes a new *generation* (``gen-<uuid>/``, the same
three files) beside it and then names it in ``CURRENT`` (one ``os.replace``, under the writer
lock), so searches answer from the old vectors until the new ones are complete. Without
``CURRENT`` the collection directory itself holds the live files (every index never rebuilt).
Readers re-read ``CURRENT`` on each load and retry when the generation they opened went away;
generations left by a killed rebuild are removed by the next one (:mod:`.index_rebuild`).

Writers take the exclusive lock, bring their view up to date (snapshot + log), apply their change
to a private copy, then append it to the log (fsync) or write a new snapshot to a temp file in the
same directory, fsync it, ``os.replace`` it over ``index.bin`` and fsync the directory. Readers
take no lock: the rename is atomic, and a log record is only read once complete (length + CRC),
so they see one consistent version, never a torn one. Each process caches what it loaded and
reads only the log records that are new since; nothing relies on memory shared between processes.

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

from apps.media.services import checkpoints
from apps.search import index_log
from apps.search.index_backends import BACKENDS, VectorBackend, get_backend
from apps.search.index_log import LogRecord

__all__ = [
    "BACKENDS",
    "CollectionIndex",
    "IndexInfo",
    "IndexModelMismatchError",
]

INDEX_FILE = "index.bin"
META_FILE = "meta.json"
LOCK_FILE = ".lock"
#: Names the live generation directory; absent while the collection directory itself is live.
CURRENT_FILE = "CURRENT"
GENERATION_PREFIX = "gen-"
FORMAT_VERSION = 1
_MAGIC = b"VSIDX\x00\x01\n"
#: Allowed deviation of a vector's L2 norm from 1 (fp16 models land around 1e-3).
NORM_TOLERANCE = 1e-2
#: The log is folded into a new snapshot once it is larger than both of these (bytes; share of
#: the snapshot's size): rewriting stays proportional to what was added, amortised O(1) per vector.
LOG_COMPACT_MIN_BYTES = 8 << 20
LOG_COMPACT_RATIO = 0.5
#: A reader retries this often when snapshots are replaced under it (a compaction, a reset).
_LOAD_ATTEMPTS = 10

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

    def copy(self) -> _State:
        """A private copy to change: cached states are shared by reader threads, never mutated."""
        backend = self.backend.clone() if self.backend is not None else None
        return _State(self.model_id, self.dim, self.backend_name, backend, self.write_id)

    def apply(self, record: LogRecord, new_backend: str) -> int:
        """Apply one change; returns how many ids a removal removed.

        ``new_backend`` names the backend created when the first vectors arrive in an empty index.
        """
        if record.op == "add":
            if self.backend is None:
                self.dim = int(record.vectors.shape[1])
                self.backend_name = new_backend
                self.backend = get_backend(new_backend)(self.dim)
            self.model_id = record.model_id
            self.backend.remove(record.ids)  # re-adding an id replaces its vector
            self.backend.add(record.ids, record.vectors)
            return 0
        if record.op == "remove":
            return self.backend.remove(record.ids) if self.backend is not None else 0
        raise ValueError(f"unknown index log operation {record.op!r}")

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


@dataclass
class _Loaded:
    """A state with where it came from: its generation, the snapshot's file key, the end of its log read so far."""

    state: _State
    key: _FileKey | None  # None: no snapshot on disk yet
    log_end: int
    generation: Path


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
        checkpoints.reached("index.before_replace")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return st


def read_current(directory: Path) -> Path:
    """The live generation directory of the collection stored in ``directory``."""
    try:
        name = (directory / CURRENT_FILE).read_text().strip()
    except FileNotFoundError:
        return directory
    if not name.startswith(GENERATION_PREFIX) or Path(name).name != name:
        raise ValueError(f"{directory / CURRENT_FILE} names {name!r}, not a generation directory")
    return directory / name


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
        self._cache: _Loaded | None = None

    # ----------------------------------------------------------------- paths and loading
    @property
    def collection(self) -> str:
        return self.directory.name

    def generation_dir(self) -> Path:
        """Where the live snapshot and log are: a ``gen-*`` directory once rebuilt, else ``directory``."""
        return read_current(self.directory)

    @property
    def index_path(self) -> Path:
        return self.generation_dir() / INDEX_FILE

    def log_path(self, write_id: str, generation: Path | None = None) -> Path:
        """The log that continues the snapshot written with ``write_id``."""
        return (generation or self.generation_dir()) / f"log-{write_id}.bin"

    def _empty(self, model_id: str | None = None) -> _State:
        return _State(model_id=model_id, dim=None, backend_name=self.backend, backend=None)

    def _load(self, use_cache: bool = True) -> _State:
        return self._load_current(use_cache).state

    def _load_current(self, use_cache: bool = True) -> _Loaded:
        """The newest index on disk: the snapshot (from the cache when unchanged) plus its log.

        A cached state is never mutated (readers in other threads may be using it); new log
        records are applied to a copy. ``use_cache=False`` gives a private state to change.
        """
        for _ in range(_LOAD_ATTEMPTS):
            generation = self.generation_dir()
            try:
                with open(generation / INDEX_FILE, "rb") as f:
                    loaded = self._load_from(generation, f, use_cache)
            except FileNotFoundError:
                if self.generation_dir() != generation:
                    continue  # a rebuild swapped generations and removed this one: read the new one
                return _Loaded(self._empty(), None, 0, generation)
            if loaded is not None:
                return loaded
        raise RuntimeError(f"{self.index_path} kept being replaced while it was read")

    def _load_from(self, generation: Path, f: BinaryIO, use_cache: bool) -> _Loaded | None:
        """Snapshot ``f`` plus its log; None when the log vanished because a new snapshot replaced ``f``."""
        # fstat of the handle we read from: the key describes exactly these bytes, even if
        # a writer renames a new file into place meanwhile.
        st = os.fstat(f.fileno())
        header = _read_header(f)
        key = (st.st_ino, st.st_size, st.st_mtime_ns, header["write_id"])
        cached = self._cache if use_cache else None
        if cached is not None and cached.key == key and cached.generation == generation:
            state, offset, shared = cached.state, cached.log_end, True
        else:
            state, offset, shared = self._parse_snapshot(header, f.read()), 0, False
        read = index_log.read_from(self.log_path(state.write_id, generation), offset)
        if read is None:
            if self._snapshot_replaced(generation, key):
                return None  # a writer folded the log into a new snapshot (or a rebuild replaced it all): start again
            read = ([], offset)
        records, log_end = read
        if records:
            if state.backend is None:
                raise ValueError(f"{self.index_path}: log records continue an empty snapshot")
            state = state.copy() if shared else state
            for record in records:
                state.apply(record, state.backend_name)
        loaded = _Loaded(state, key, log_end, generation)
        if use_cache:
            self._cache = loaded
        return loaded

    def _parse_snapshot(self, header: dict, payload: bytes) -> _State:
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
        return state

    def _snapshot_replaced(self, generation: Path, key: _FileKey) -> bool:
        if self.generation_dir() != generation:
            return True
        try:
            st = os.stat(generation / INDEX_FILE)
        except FileNotFoundError:
            return True
        return (st.st_ino, st.st_size, st.st_mtime_ns) != key[:3]

    # ----------------------------------------------------------------- writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Exclusive per-collection writer lock, held across processes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._remove_dead_files()
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def _remove_dead_files(self) -> None:
        """Delete what a writer killed mid-write left (call with the writer lock held): its temp files, and
        the logs of snapshots it had replaced before it could delete them.

        Every writer holds the lock, so under it no temp file is in use and the only log anyone reads is the
        current snapshot's. A reader still on an older snapshot finds its log gone and starts again, as after
        any compaction. Without a readable snapshot the logs are left alone (loading will say what is wrong).
        """
        live = self.generation_dir()
        dead = [path for folder in {self.directory, live} for path in folder.glob(".*.tmp")]
        try:
            with open(live / INDEX_FILE, "rb") as f:
                current_log = self.log_path(_read_header(f)["write_id"], live).name
        except (OSError, ValueError, KeyError, struct.error):
            current_log = None
        if current_log is not None:
            dead += [path for path in live.glob("log-*.bin") if path.name != current_log]
        for path in dead:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _write(self, state: _State, generation: Path) -> None:
        """Write ``state`` as a new snapshot (with a new, empty log) of ``generation`` and drop its old logs."""
        state.write_id = uuid.uuid4().hex
        header = json.dumps(state.header()).encode()
        payload = state.backend.serialize() if state.backend is not None else b""
        st = _atomic_write(
            generation / INDEX_FILE, [_MAGIC, struct.pack("<I", len(header)), header, payload]
        )
        key = (st.st_ino, st.st_size, st.st_mtime_ns, state.write_id)
        self._cache = _Loaded(state, key, 0, generation)
        self._write_meta(state, generation)
        for old in generation.glob("log-*.bin"):
            if old != self.log_path(state.write_id, generation):
                with contextlib.suppress(FileNotFoundError):
                    old.unlink()

    def _write_meta(self, state: _State, generation: Path) -> None:
        _atomic_write(generation / META_FILE, [json.dumps(state.header(), indent=2).encode()])

    def _commit(self, current: _Loaded, record: LogRecord) -> int:
        """Apply ``record`` on top of ``current`` and make it durable; returns what ``apply`` returned.

        Appended to the log, unless there is no snapshot to continue (an empty index) or the log
        has outgrown the snapshot: then a new snapshot is written instead.
        """
        state = current.state.copy()
        result = state.apply(record, self.backend)
        if current.key is None or current.state.backend is None or self._log_due(current):
            self._write(state, current.generation)
            return result
        log_end = index_log.append(self.log_path(state.write_id, current.generation), current.log_end, record)
        self._cache = _Loaded(state, current.key, log_end, current.generation)
        self._write_meta(state, current.generation)
        return result

    @staticmethod
    def _log_due(current: _Loaded) -> bool:
        """Whether the log has grown enough to fold it into a new snapshot."""
        snapshot_bytes = current.key[1] if current.key is not None else 0
        return current.log_end > max(LOG_COMPACT_MIN_BYTES, LOG_COMPACT_RATIO * snapshot_bytes)

    def _mutate(self, change: Callable[[_State], tuple[T, bool]]) -> T:
        """Lock, load a private copy of the newest state, apply ``change``, write a snapshot.

        ``change`` returns ``(result, changed)``; nothing is written when ``changed`` is
        false. On error the files on disk are left untouched.
        """
        with self._locked():
            current = self._load_current(use_cache=False)
            result, changed = change(current.state)
            if changed:
                self._write(current.state, current.generation)
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
        with self._locked():
            current = self._load_current()
            self._check_model(current.state, model_id)
            vecs = _as_vectors(vectors, current.state.dim, "vectors")
            if len(vecs) != len(ids_arr):
                raise ValueError(f"{len(ids_arr)} ids but {len(vecs)} vectors")
            if len(ids_arr):
                self._commit(current, LogRecord("add", model_id, ids_arr, vecs))

    def remove(self, ids: Iterable[int]) -> int:
        """Remove ids (missing ones are ignored); returns how many were removed."""
        ids_arr = np.unique(_as_ids(ids))
        if not ids_arr.size:
            return 0
        with self._locked():
            current = self._load_current()
            if not self._present(current.state, ids_arr).size:
                return 0
            return self._commit(current, LogRecord("remove", current.state.model_id, ids_arr))

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
        present, vecs = self.reconstruct_present(ids)
        return {int(i): v for i, v in zip(present, vecs, strict=True)}

    def reconstruct_present(self, ids: Iterable[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the ids that are present, sorted; their stored vectors as one (n, dim) matrix).

        The array form for callers that read thousands of vectors at once (a video's timeline).
        """
        state = self._load()
        present = self._present(state, _as_ids(ids))
        if not present.size:
            return present, np.empty((0, state.dim or 0), dtype=np.float32)
        return present, state.backend.reconstruct(present)

    def contains(self, ids: Iterable[int]) -> set[int]:
        """The subset of ids that are in the index."""
        return {int(i) for i in self._present(self._load(), _as_ids(ids))}

    @staticmethod
    def _present(state: _State, ids: np.ndarray) -> np.ndarray:
        if state.backend is None or not ids.size:
            return np.empty(0, dtype=np.int64)
        return np.unique(ids[np.isin(ids, state.backend.ids())])

    def ids(self) -> np.ndarray:
        """Every id in the index, sorted (for consistency checks: ``manage.py verify``)."""
        state = self._load()
        return np.sort(state.backend.ids()) if state.backend is not None else np.empty(0, dtype=np.int64)

    def leftovers(self) -> list[Path]:
        """Files of the directory that no version of the index needs: temp files of killed writes and
        logs of replaced snapshots. Read-only; found while no writer holds the lock (a writer's temp
        file is in use, so [] is returned then). Once listed, such a file is never used again."""
        if not (self.directory / LOCK_FILE).is_file():
            return []
        fd = os.open(self.directory / LOCK_FILE, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return []
            live = self.generation_dir()
            try:
                with open(live / INDEX_FILE, "rb") as f:
                    current_log = self.log_path(_read_header(f)["write_id"], live).name
            except FileNotFoundError:
                current_log = None
            found = [path for path in live.iterdir()
                     if path.name.endswith(".tmp") or (path.name.startswith("log-") and path.name != current_log)]
            if live != self.directory:  # rebuilt: the files of the index it replaced, if any are left
                found += [path for path in self.directory.iterdir() if path.is_file() and (
                    path.name.endswith(".tmp") or path.name.startswith("log-") or path.name == INDEX_FILE)]
            return sorted(found)
        finally:
            os.close(fd)

    def info(self) -> IndexInfo:
        state = self._load()
        return IndexInfo(
            model_id=state.model_id,
            dim=state.dim,
            count=state.count,
            backend=state.backend_name,
            path=self.directory,
        )

    def compact(self) -> None:
        """Fold the log into a new snapshot now (a finished rebuild starts its generation clean)."""
        self._mutate(lambda state: (None, True))

    def reset(self, model_id: str | None = None) -> None:
        """Empty the live index in place, optionally binding it to a model already.

        Searches find nothing until it is filled again: a rebuild uses :class:`.index_rebuild.IndexBuild`
        instead. The configured backend is used from here on, so reset also switches backends.
        """

        def change(state: _State) -> tuple[None, bool]:
            state.model_id, state.dim = model_id, None
            state.backend_name, state.backend = self.backend, None
            return None, True

        self._mutate(change)

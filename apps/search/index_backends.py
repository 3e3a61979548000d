"""Vector backends behind :class:`apps.search.index.CollectionIndex`.

Each backend is a plain in-memory index over ``(int64 id, float32 vector)`` pairs with inner
product scores. Persistence, locking, model bookkeeping and input validation live in
``index.py``; backends assume they get valid, C-contiguous float32 / int64 arrays and ids that
are not already present (the store removes an id before re-adding it).

Backends are chosen by name from :data:`BACKENDS` (a registry, like PySceneDetect's detectors):

``"flat"``
    FAISS ``IndexIDMap2(IndexFlatIP)``: exact, fast (BLAS), the default.
``"ivf"``
    FAISS ``IndexIVFFlat`` (approximate). Chosen over HNSW because IVF supports real removal
    (``remove_ids``) and reconstruction by id (hash-table direct map), so replacing or deleting
    keyframes needs no tombstones and no periodic rebuild; it also trains in seconds, keeps
    the memory/file size of a flat index (whole file is rewritten on every write), and its
    build cost does not explode on a 2-core worker the way HNSW graph construction does.
    Below :data:`IVF_MIN_TRAIN` vectors it stays an exact flat index (k-means on too few
    points gives poor lists, and brute force is cheap there anyway). Once trained,
    ``nlist ~ sqrt(n)``; it retrains when the collection has grown :data:`IVF_REGROW` times
    past the size it was trained at, so the list count follows the size.
``"numpy"``
    Plain NumPy brute force. Slow-ish, but obviously correct: the reference implementation
    used by tests and by ``bench/search.py`` to measure recall.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import struct
from collections.abc import Iterator
from typing import ClassVar, Protocol

import faiss
import numpy as np

#: An IVF backend stays exact (flat) until it holds at least this many vectors.
IVF_MIN_TRAIN = 8192
#: Retrain (new nlist) once the index holds this many times the vectors it was trained on.
IVF_REGROW = 4
#: Searches with fewer queries than this run FAISS single-threaded (see _threads_for).
SINGLE_THREAD_BELOW = 16


class VectorBackend(Protocol):
    """What the store needs from a backend."""

    name: ClassVar[str]
    dim: int

    @property
    def ntotal(self) -> int: ...

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add new ids (never already present) with their (n, dim) float32 vectors."""

    def remove(self, ids: np.ndarray) -> int:
        """Remove ids if present; return how many were removed."""

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(nq, k) scores and ids, best first, padded with id -1 where fewer than k exist."""

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        """(n, dim) stored vectors of ids, which must all be present."""

    def ids(self) -> np.ndarray:
        """All stored ids (any order)."""

    def serialize(self) -> bytes:
        """Self-contained bytes for :meth:`deserialize`."""

    def clone(self) -> VectorBackend:
        """An independent copy (in memory, no serialisation), to change without disturbing readers."""


class BackendFactory(Protocol):
    """A backend class: build an empty one, or load serialized bytes."""

    name: ClassVar[str]

    def __call__(self, dim: int) -> VectorBackend: ...

    def deserialize(self, data: bytes | memoryview, dim: int) -> VectorBackend: ...


def _pad(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Pad (nq, m) results to (nq, k) like FAISS does: id -1, score -inf."""
    nq, m = ids.shape
    if m >= k:
        return scores, ids
    s = np.full((nq, k), -np.inf, dtype=np.float32)
    i = np.full((nq, k), -1, dtype=np.int64)
    s[:, :m], i[:, :m] = scores, ids
    return s, i


class NumpyBackend:
    """Brute force in NumPy: the reference every other backend is measured against."""

    name: ClassVar[str] = "numpy"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._ids = np.empty(0, dtype=np.int64)
        self._vectors = np.empty((0, dim), dtype=np.float32)

    @property
    def ntotal(self) -> int:
        return int(self._ids.size)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._ids = np.concatenate([self._ids, ids])
        self._vectors = np.concatenate([self._vectors, vectors])

    def remove(self, ids: np.ndarray) -> int:
        keep = ~np.isin(self._ids, ids)
        removed = int(keep.size - keep.sum())
        self._ids, self._vectors = self._ids[keep], self._vectors[keep]
        return removed

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        m = min(k, self.ntotal)
        sims = queries @ self._vectors.T
        if m == 0:
            return _pad(sims[:, :0], np.empty((len(queries), 0), np.int64), k)
        top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None
        if top is None:
            top = np.broadcast_to(np.arange(self.ntotal), sims.shape)
        part = np.take_along_axis(sims, top, axis=1)
        # Best first, ties among the kept ids by smaller id (deterministic). Which of several ids tied exactly at the
        # k-th score is kept is argpartition's choice: deterministic too, but not the smallest id.
        order = np.lexsort((np.take(self._ids, top), -part), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        scores = np.take_along_axis(sims, top, axis=1).astype(np.float32)
        return _pad(scores, self._ids[top], k)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        pos = {int(v): i for i, v in enumerate(self._ids)}
        return self._vectors[[pos[int(v)] for v in ids]]

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def clone(self) -> NumpyBackend:
        twin = NumpyBackend(self.dim)
        twin._ids, twin._vectors = self._ids.copy(), self._vectors.copy()
        return twin

    def serialize(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, ids=self._ids, vectors=self._vectors)
        return buf.getvalue()

    @classmethod
    def deserialize(cls, data: bytes | memoryview, dim: int) -> NumpyBackend:
        with np.load(io.BytesIO(bytes(data)), allow_pickle=False) as z:
            self = cls(dim)
            self._ids = z["ids"].astype(np.int64)
            self._vectors = np.ascontiguousarray(z["vectors"], dtype=np.float32)
        return self


@contextlib.contextmanager
def _threads_for(nq: int) -> Iterator[None]:
    """Run a small search on one OpenMP thread.

    The app searches one query at a time. Threads cannot speed that up, but OpenMP's
    spin-waiting makes it ~5x slower on a busy or shared machine (measured on 2 cores:
    80 vs 440 queries/s, flat, 10k x 512). ``omp_set_num_threads`` only affects the calling
    thread, so concurrent request threads are not disturbed.
    """
    if nq >= SINGLE_THREAD_BELOW:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _faiss_bytes(index: faiss.Index) -> bytes:
    return faiss.serialize_index(index).tobytes()


def _faiss_load(data: bytes | memoryview) -> faiss.Index:
    # deserialize_index already returns the concrete class (and owns the C++ object).
    return faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))


def _flat_map(dim: int) -> faiss.IndexIDMap2:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _flat_ids(index: faiss.IndexIDMap2) -> np.ndarray:
    return faiss.vector_to_array(index.id_map).astype(np.int64)


def _flat_vectors(index: faiss.IndexIDMap2) -> np.ndarray:
    """All vectors of an IDMap2(flat), in the same order as :func:`_flat_ids`."""
    return faiss.downcast_index(index.index).reconstruct_n(0, index.ntotal)


def _faiss_reconstruct(index: faiss.Index, ids: np.ndarray, dim: int) -> np.ndarray:
    """Stored vectors of ``ids`` in one call (a per-id loop costs ~18 us an id in Python: timelines read thousands)."""
    if not len(ids):
        return np.empty((0, dim), dtype=np.float32)
    with _threads_for(1):  # OpenMP threads would spin on after it and slow the request's next steps
        return index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64)).reshape(len(ids), dim)


class _FaissIdMapOps:
    """remove / search / reconstruct, shared by the FAISS backends (both expose ``_index`` and ``dim``)."""

    _index: faiss.Index
    dim: int

    def remove(self, ids: np.ndarray) -> int:
        return int(self._index.remove_ids(ids)) if len(ids) else 0

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        with _threads_for(len(queries)):
            return self._index.search(queries, k)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        return _faiss_reconstruct(self._index, ids, self.dim)


class FlatBackend(_FaissIdMapOps):
    """Exact inner-product search with FAISS (``IndexIDMap2(IndexFlatIP)``)."""

    name: ClassVar[str] = "flat"

    def __init__(self, dim: int, index: faiss.IndexIDMap2 | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else _flat_map(dim)

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)

    def ids(self) -> np.ndarray:
        return _flat_ids(self._index)

    def clone(self) -> FlatBackend:
        return FlatBackend(self.dim, faiss.clone_index(self._index))

    def serialize(self) -> bytes:
        return _faiss_bytes(self._index)

    @classmethod
    def deserialize(cls, data: bytes | memoryview, dim: int) -> FlatBackend:
        return cls(dim, _faiss_load(data))


def ivf_nlist(n: int) -> int:
    """Number of IVF lists for n vectors: ~sqrt(n), enough points per centroid to train."""
    return max(16, min(int(math.sqrt(n)), n // 39))


def ivf_nprobe(nlist: int) -> int:
    """Lists scanned per query: a fixed fraction of nlist keeps recall steady as n grows.

    On clustered data (real embeddings) 1/8 of the lists gives recall@10 >= 0.99 in
    ``bench/search.py``; uniformly random vectors, IVF's worst case, get far less.
    """
    return max(16, nlist // 8)


class IvfBackend(_FaissIdMapOps):
    """Approximate search with FAISS ``IndexIVFFlat``; exact flat below IVF_MIN_TRAIN vectors.

    The IVF index uses a hash-table direct map so ``remove_ids`` and ``reconstruct(id)`` work
    with arbitrary 64-bit ids.
    """

    name: ClassVar[str] = "ivf"

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._flat: faiss.IndexIDMap2 | None = _flat_map(dim)
        self._ivf: faiss.IndexIVFFlat | None = None
        self._trained_n = 0
        self.nprobe = 0

    @property
    def trained(self) -> bool:
        return self._ivf is not None

    @property
    def _index(self) -> faiss.Index:
        return self._ivf if self._ivf is not None else self._flat

    @property
    def ntotal(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(vectors, ids)
        n = self.ntotal
        if (not self.trained and n >= IVF_MIN_TRAIN) or (
            self.trained and n >= IVF_REGROW * self._trained_n
        ):
            self._train()

    def _all(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors) currently stored, whichever mode we are in."""
        if self._ivf is None:
            return _flat_ids(self._flat), _flat_vectors(self._flat)
        ids = self.ids()
        return ids, _faiss_reconstruct(self._ivf, ids, self.dim)

    def _train(self) -> None:
        """(Re)build the IVF index from everything stored, with nlist sized for the count."""
        ids, vectors = self._all()
        nlist = ivf_nlist(len(ids))
        quantizer = faiss.IndexFlatIP(self.dim)
        ivf = faiss.IndexIVFFlat(quantizer, self.dim, nlist, faiss.METRIC_INNER_PRODUCT)
        ivf.cp.seed = 1234  # deterministic k-means
        ivf.train(vectors)
        ivf.set_direct_map_type(faiss.DirectMap.Hashtable)
        ivf.add_with_ids(vectors, ids)
        ivf.nprobe = self.nprobe = ivf_nprobe(nlist)
        self._ivf, self._flat, self._trained_n = ivf, None, len(ids)

    def clone(self) -> IvfBackend:
        twin = IvfBackend(self.dim)
        twin._trained_n, twin.nprobe = self._trained_n, self.nprobe
        if self._ivf is not None:
            twin._ivf, twin._flat = faiss.clone_index(self._ivf), None
            twin._ivf.nprobe = self.nprobe
        else:
            twin._flat = faiss.clone_index(self._flat)
        return twin

    def ids(self) -> np.ndarray:
        if self._ivf is None:
            return _flat_ids(self._flat)
        inv = self._ivf.invlists
        parts = [
            faiss.rev_swig_ptr(inv.get_ids(lst), inv.list_size(lst)).copy()
            for lst in range(self._ivf.nlist)
            if inv.list_size(lst)
        ]
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def serialize(self) -> bytes:
        head = json.dumps(
            {"trained": self.trained, "trained_n": self._trained_n, "nprobe": self.nprobe}
        ).encode()
        return struct.pack("<I", len(head)) + head + _faiss_bytes(self._index)

    @classmethod
    def deserialize(cls, data: bytes | memoryview, dim: int) -> IvfBackend:
        view = memoryview(data)
        (hlen,) = struct.unpack_from("<I", view, 0)
        head = json.loads(bytes(view[4 : 4 + hlen]))
        index = _faiss_load(view[4 + hlen :])
        self = cls(dim)
        if head["trained"]:
            self._ivf, self._flat = index, None
            self._trained_n = int(head["trained_n"])
            self._ivf.nprobe = self.nprobe = int(head["nprobe"])
        else:
            self._flat = index
        return self


#: Backend registry: name -> class. ``CollectionIndex(backend=...)`` picks from here.
BACKENDS: dict[str, BackendFactory] = {
    cls.name: cls for cls in (FlatBackend, IvfBackend, NumpyBackend)  # type: ignore[misc]
}


def get_backend(name: str) -> BackendFactory:
    """Backend class by name; unknown names fail loudly with the valid choices."""
    try:
        return BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown index backend {name!r}; choose one of {sorted(BACKENDS)}") from None

"""The vector backends at the edges the random property runs rarely reach: a large k against a few hundred vectors,
no ids at all, an IVF index emptied after training, a hostile index file, and the OpenMP thread count a search
runs with."""
from __future__ import annotations

import io

import faiss
import numpy as np
import pytest

from apps.search import index_backends
from apps.search.index_backends import BACKENDS, FlatBackend, IvfBackend, NumpyBackend

DIM = 4


def _vectors(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)


@pytest.mark.parametrize("k", [1, 2, 200, 599])
def test_numpy_backend_top_k_is_the_full_ranking_cut_at_k(k: int) -> None:
    """The reference must be exact for every k below the count, not only the small k the app asks for: it is what
    bench/search.py measures the recall of the other backends against. (600 vectors: more than numpy sorts whole.)"""
    ids = np.random.default_rng(1).permutation(10_000)[:600].astype(np.int64)
    vectors, queries = _vectors(600, seed=2), _vectors(8, seed=3)
    backend = NumpyBackend(DIM)
    backend.add(ids, vectors)
    scores, found = backend.search(queries, k)
    sims = queries @ vectors.T
    for row in range(len(queries)):
        order = np.lexsort((ids, -sims[row]))[:k]  # best first, ties by smaller id
        assert found[row].tolist() == ids[order].tolist()
        np.testing.assert_allclose(scores[row], sims[row, order], rtol=1e-6)


@pytest.mark.parametrize("name", sorted(BACKENDS))
def test_every_backend_reconstructs_no_ids_as_an_empty_matrix(name: str) -> None:
    """Callers stack what they get with other (n, dim) matrices: "no ids" must be 0 rows of the right width."""
    backend = BACKENDS[name](DIM)
    backend.add(np.arange(5, dtype=np.int64), _vectors(5, seed=4))
    got = backend.reconstruct(np.empty(0, np.int64))
    assert got.shape == (0, DIM) and got.dtype == np.float32


def test_a_trained_ivf_index_emptied_by_removals_holds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Deleting every video of a large collection must leave an index that lists no ids and finds nothing."""
    monkeypatch.setattr(index_backends, "IVF_MIN_TRAIN", 800)
    backend = IvfBackend(DIM)
    backend.add(np.arange(800, dtype=np.int64), _vectors(800, seed=5))
    assert backend.trained
    assert backend.remove(np.arange(800, dtype=np.int64)) == 800
    ids = backend.ids()
    assert ids.shape == (0,) and ids.dtype == np.int64 and backend.ntotal == 0
    _, found = backend.search(_vectors(1, seed=6), 3)
    assert found.tolist() == [[-1, -1, -1]]


def test_a_numpy_index_file_holding_pickled_objects_is_refused() -> None:
    """Index files are data: loading one must never unpickle (run) anything, even objects that would convert."""
    buf = io.BytesIO()
    np.savez(buf, ids=np.array([1, 2], dtype=object), vectors=_vectors(2, seed=7))
    with pytest.raises(ValueError, match="allow_pickle"):
        NumpyBackend.deserialize(buf.getvalue(), DIM)


class _ThreadCountingIndex:
    """A real FAISS index that notes the OpenMP thread count each search runs with."""

    def __init__(self, index: faiss.Index) -> None:
        self.index, self.threads = index, []

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        self.threads.append(faiss.omp_get_max_threads())
        return self.index.search(queries, k)


def test_small_searches_run_on_one_faiss_thread_and_batches_on_all() -> None:
    """OpenMP spin-waiting makes a one-query search ~5x slower on a busy machine, so a search with fewer queries than
    SINGLE_THREAD_BELOW runs single-threaded, a batch of at least that many keeps every thread, and both leave the
    caller's thread count as they found it."""
    below = index_backends.SINGLE_THREAD_BELOW
    inner = faiss.IndexIDMap2(faiss.IndexFlatIP(DIM))
    inner.add_with_ids(_vectors(20, seed=8), np.arange(20, dtype=np.int64))
    spy = _ThreadCountingIndex(inner)
    backend = FlatBackend(DIM, index=spy)  # type: ignore[arg-type]
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(3)  # more than one, whatever this machine's core count
    try:
        for nq in (1, below - 1, below, below + 1):
            _, found = backend.search(_vectors(nq, seed=nq), 2)
            assert found.shape == (nq, 2) and (found >= 0).all()
            assert faiss.omp_get_max_threads() == 3
    finally:
        faiss.omp_set_num_threads(before)
    assert spy.threads == [1, 1, 3, 3]

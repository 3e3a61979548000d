"""CollectionIndex: per-collection persistent vector store, for every backend."""
from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from apps.search import index_backends
from apps.search.ids import keyframe_vector_id, photo_vector_id
from apps.search.index import (
    BACKENDS,
    CollectionIndex,
    IndexInfo,
    IndexModelMismatchError,
)
from apps.search.index_backends import NumpyBackend

MODEL = "test:model-a"
DIM = 16


def unit(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def idx(tmp_path: Path, backend: str) -> CollectionIndex:
    return CollectionIndex(tmp_path / "coll-7", backend=backend)


def test_registry_has_the_three_backends() -> None:
    assert {"flat", "ivf", "numpy"} <= set(BACKENDS)


def test_unknown_backend_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown index backend"):
        CollectionIndex(tmp_path, backend="annoy")


def test_empty_index(idx: CollectionIndex, backend: str) -> None:
    assert idx.search(MODEL, unit(1)[0], 5) == []
    assert idx.contains([1, 2]) == set()
    assert idx.reconstruct([1]) == {}
    assert idx.remove([1]) == 0
    assert idx.info() == IndexInfo(None, None, 0, backend, idx.directory)


def test_add_then_search_finds_each_vector_first(idx: CollectionIndex) -> None:
    vecs = unit(50)
    ids = np.arange(100, 150)
    idx.add(MODEL, ids, vecs)
    for i, v in zip(ids, vecs, strict=True):
        top_id, top_score = idx.search(MODEL, v, 3)[0]
        assert top_id == i
        assert top_score == pytest.approx(1.0, abs=1e-5)


def test_results_match_numpy_reference(idx: CollectionIndex) -> None:
    vecs, q = unit(200), unit(1, seed=1)[0]
    ids = np.arange(200) * 3 + 1
    idx.add(MODEL, ids, vecs)
    hits = idx.search(MODEL, q, 10)
    expected = np.argsort(-(vecs @ q))[:10]
    assert [h[0] for h in hits] == ids[expected].tolist()
    assert [h[1] for h in hits] == pytest.approx((vecs @ q)[expected].tolist(), abs=1e-5)
    scores = [h[1] for h in hits]
    assert scores == sorted(scores, reverse=True)


def test_k_larger_than_count_and_nonpositive_k(idx: CollectionIndex) -> None:
    idx.add(MODEL, [1, 2, 3], unit(3))
    assert sorted(h[0] for h in idx.search(MODEL, unit(1)[0], 10)) == [1, 2, 3]
    assert idx.search(MODEL, unit(1)[0], 0) == []


def test_readd_replaces_instead_of_duplicating(idx: CollectionIndex) -> None:
    old, new = unit(2, seed=1), unit(2, seed=2)
    idx.add(MODEL, [1, 2], old)
    idx.add(MODEL, [2, 3], new)
    assert idx.info().count == 3
    np.testing.assert_allclose(idx.reconstruct([2])[2], new[0], atol=1e-6)
    hits = idx.search(MODEL, new[0], 3)
    assert [h[0] for h in hits].count(2) == 1
    assert hits[0][0] == 2
    # The old vector of id 2 is gone: searching it no longer returns 2 with score 1.
    assert all(not (h[0] == 2 and h[1] > 0.999) for h in idx.search(MODEL, old[1], 3))


def test_remove(idx: CollectionIndex) -> None:
    vecs = unit(10)
    idx.add(MODEL, range(10), vecs)
    assert idx.remove([3, 4, 999]) == 2
    assert idx.remove([3]) == 0
    assert idx.info().count == 8
    assert idx.contains(range(12)) == set(range(10)) - {3, 4}
    assert 3 not in [h[0] for h in idx.search(MODEL, vecs[3], 10)]


def test_reconstruct_only_present_ids(idx: CollectionIndex) -> None:
    vecs = unit(5)
    idx.add(MODEL, [10, 20, 30, 40, 50], vecs)
    got = idx.reconstruct([20, 50, 77])
    assert set(got) == {20, 50}
    np.testing.assert_allclose(got[50], vecs[4], atol=1e-6)
    present, matrix = idx.reconstruct_present(np.array([50, 77, 20, 50]))
    assert present.tolist() == [20, 50] and matrix.shape == (2, vecs.shape[1])
    np.testing.assert_allclose(matrix, vecs[[1, 4]], atol=1e-6)
    present, matrix = idx.reconstruct_present([99])
    assert present.size == 0 and matrix.shape[0] == 0


def test_keyframes_and_photos_share_one_index(idx: CollectionIndex) -> None:
    ids = [keyframe_vector_id(1), photo_vector_id(1)]
    vecs = unit(2)
    idx.add(MODEL, ids, vecs)
    assert idx.search(MODEL, vecs[1], 1)[0][0] == photo_vector_id(1)
    assert idx.contains(ids) == set(ids)


def test_model_mismatch_refused(idx: CollectionIndex) -> None:
    idx.add(MODEL, [1], unit(1))
    with pytest.raises(IndexModelMismatchError) as exc:
        idx.search("other:model-b", unit(1)[0], 1)
    msg = str(exc.value)
    assert "coll-7" in msg and MODEL in msg and "other:model-b" in msg
    assert "rebuild_index" in msg
    assert (exc.value.collection, exc.value.index_model) == ("coll-7", MODEL)
    assert exc.value.configured_model == "other:model-b"
    with pytest.raises(IndexModelMismatchError):
        idx.add("other:model-b", [2], unit(1))
    assert idx.info().count == 1 and idx.info().model_id == MODEL


def test_mismatch_error_accepts_a_custom_message() -> None:
    err = IndexModelMismatchError("rebuild collection X")
    assert str(err) == "rebuild collection X" and err.index_model is None


def test_input_validation(idx: CollectionIndex) -> None:
    idx.add(MODEL, [1], unit(1))
    with pytest.raises(ValueError, match="dimension"):
        idx.add(MODEL, [2], unit(1, dim=DIM + 1))
    with pytest.raises(ValueError, match="dimension"):
        idx.search(MODEL, unit(1, dim=8)[0], 1)
    with pytest.raises(ValueError, match="normalised"):
        idx.add(MODEL, [2], unit(1) * 2)
    with pytest.raises(ValueError, match="normalised"):
        idx.search(MODEL, np.zeros(DIM, np.float32), 1)
    with pytest.raises(TypeError):
        idx.add(MODEL, [2], np.ones((1, DIM), dtype=np.int32))
    with pytest.raises(ValueError, match="2 ids but 1"):
        idx.add(MODEL, [2, 3], unit(1))
    with pytest.raises(ValueError, match="unique"):
        idx.add(MODEL, [2, 2], unit(2))
    with pytest.raises(ValueError, match="non-negative"):
        idx.add(MODEL, [-1], unit(1))
    assert idx.info().count == 1


def test_float64_is_converted_not_renormalised(idx: CollectionIndex) -> None:
    v = unit(1).astype(np.float64)
    idx.add(MODEL, [1], v)
    np.testing.assert_allclose(idx.reconstruct([1])[1], v[0], atol=1e-6)
    assert idx.reconstruct([1])[1].dtype == np.float32


def test_persists_across_instances(tmp_path: Path, backend: str) -> None:
    vecs = unit(20)
    CollectionIndex(tmp_path, backend=backend).add(MODEL, range(20), vecs)
    # A fresh instance configured with another backend keeps the one on disk.
    other = CollectionIndex(tmp_path, backend="numpy" if backend != "numpy" else "flat")
    info = other.info()
    assert (info.model_id, info.dim, info.count, info.backend) == (MODEL, DIM, 20, backend)
    assert other.search(MODEL, vecs[7], 1)[0][0] == 7
    meta = json.loads((tmp_path / "meta.json").read_text())
    assert meta["model_id"] == MODEL and meta["count"] == 20 and meta["backend"] == backend
    assert meta["dim"] == DIM and meta["version"] == 1
    assert not list(tmp_path.glob("*.tmp"))


def test_reader_cache_picks_up_other_writers(tmp_path: Path, backend: str) -> None:
    reader = CollectionIndex(tmp_path, backend=backend)
    writer = CollectionIndex(tmp_path, backend=backend)
    vecs = unit(3)
    writer.add(MODEL, [1], vecs[:1])
    assert reader.search(MODEL, vecs[0], 5) == [(1, pytest.approx(1.0, abs=1e-5))]
    writer.add(MODEL, [2, 3], vecs[1:])
    assert reader.info().count == 3
    assert reader.search(MODEL, vecs[2], 1)[0][0] == 3
    writer.remove([3])
    assert reader.contains([1, 2, 3]) == {1, 2}


def test_failed_write_leaves_file_untouched(idx: CollectionIndex) -> None:
    idx.add(MODEL, [1], unit(1))
    before = idx.index_path.read_bytes()
    with pytest.raises(ValueError):
        idx.add(MODEL, [2], unit(1, dim=DIM + 1))
    assert idx.index_path.read_bytes() == before


def test_reset_for_rebuild(tmp_path: Path, backend: str) -> None:
    idx = CollectionIndex(tmp_path, backend=backend)
    idx.add(MODEL, [1, 2], unit(2))
    idx.reset("test:model-b")
    assert idx.info() == IndexInfo("test:model-b", None, 0, backend, tmp_path)
    with pytest.raises(IndexModelMismatchError):
        idx.search(MODEL, unit(1)[0], 1)
    idx.add("test:model-b", [5], unit(1, dim=8))
    assert idx.info().dim == 8
    idx.reset()
    idx.add(MODEL, [6], unit(1))
    assert idx.info().model_id == MODEL


def test_reset_switches_backend(tmp_path: Path) -> None:
    CollectionIndex(tmp_path, backend="numpy").add(MODEL, [1], unit(1))
    flat = CollectionIndex(tmp_path, backend="flat")
    assert flat.info().backend == "numpy"
    flat.reset(MODEL)
    flat.add(MODEL, [1], unit(1))
    assert flat.info().backend == "flat"


def test_numpy_backend_ties_are_deterministic() -> None:
    b = NumpyBackend(2)
    v = np.array([[1.0, 0.0]] * 4, dtype=np.float32)
    b.add(np.array([9, 3, 7, 1], dtype=np.int64), v)
    scores, ids = b.search(v[:1], 6)
    assert ids[0].tolist() == [1, 3, 7, 9, -1, -1]
    assert np.isneginf(scores[0, 4:]).all()


def test_ivf_trains_past_threshold_and_stays_correct(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_backends, "IVF_MIN_TRAIN", 800)
    idx = CollectionIndex(tmp_path, backend="ivf")
    vecs = unit(1200, seed=3)
    ids = np.arange(1200) + 10_000
    idx.add(MODEL, ids[:700], vecs[:700])
    assert not idx._load().backend.trained  # small: still exact
    idx.add(MODEL, ids[700:], vecs[700:])
    backend = CollectionIndex(tmp_path, backend="ivf")._load().backend  # from disk
    assert backend.trained and backend._ivf.nlist >= 16 and backend.nprobe >= 8
    # Recall@10 vs exact search stays high (random data is IVF's worst case).
    queries = unit(30, seed=4)
    ref = NumpyBackend(DIM)
    ref.add(ids, vecs)
    _, exact = ref.search(queries, 10)
    found = [{h[0] for h in idx.search(MODEL, q, 10)} for q in queries]
    recall = np.mean([len(f & set(e)) / 10 for f, e in zip(found, exact, strict=True)])
    assert recall >= 0.8
    # Removal, replacement and reconstruction work on the trained index.
    assert idx.remove(ids[:5]) == 5
    assert idx.contains(ids[:6]) == {int(ids[5])}
    new = unit(1, seed=9)
    idx.add(MODEL, [ids[6]], new)
    np.testing.assert_allclose(idx.reconstruct([ids[6]])[int(ids[6])], new[0], atol=1e-6)
    assert idx.info().count == 1195


def test_single_query_search_restores_faiss_thread_count(tmp_path: Path) -> None:
    idx = CollectionIndex(tmp_path, backend="flat")
    idx.add(MODEL, [1], unit(1))
    before = faiss.omp_get_max_threads()
    idx.search(MODEL, unit(1)[0], 1)
    assert faiss.omp_get_max_threads() == before

"""The vector backends against a plain dict model (hypothesis): any run of adds and removes leaves every backend
holding exactly the vectors the model holds, searching them exactly (flat, NumPy; IVF before it trains), and a
serialized or cloned copy behaves the same and independently."""
from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.search import index_backends
from apps.search.index_backends import BACKENDS, ivf_nlist, ivf_nprobe

DIM = 4

#: One step: add some ids (those already present are removed first, as the store does), or remove some.
STEPS = st.lists(
    st.tuples(st.sampled_from(["add", "remove"]), st.lists(st.integers(-3, 40), min_size=0, max_size=6, unique=True)),
    min_size=1, max_size=8,
)


def _vector(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(DIM).astype(np.float32)


def _run(name: str, steps, seed: int):
    rng = np.random.default_rng(seed)
    backend, model = BACKENDS[name](DIM), {}
    for op, ids in steps:
        present = [i for i in ids if i in model]
        if op == "remove":
            assert backend.remove(np.asarray(ids, np.int64)) == len(present)
            for i in present:
                del model[i]
            continue
        backend.remove(np.asarray(present, np.int64))
        vectors = np.stack([_vector(rng) for _ in ids]) if ids else np.empty((0, DIM), np.float32)
        backend.add(np.asarray(ids, np.int64), vectors)
        model.update(zip(ids, vectors))
    return backend, model


def _check(backend, model, query: np.ndarray, k: int) -> None:
    assert backend.ntotal == len(model)
    assert sorted(backend.ids().tolist()) == sorted(model)
    if model:
        ids = np.asarray(sorted(model), np.int64)
        np.testing.assert_array_equal(backend.reconstruct(ids), np.stack([model[i] for i in ids]))
    scores, found = backend.search(query[None, :], k)
    want = sorted(((float(v @ query), i) for i, v in model.items()), key=lambda p: -p[0])[:k]
    assert found.shape == scores.shape == (1, k)
    assert found[0, :len(want)].tolist() == [i for _, i in want]
    np.testing.assert_allclose(scores[0, :len(want)], [s for s, _ in want], rtol=1e-5, atol=1e-5)
    assert (found[0, len(want):] == -1).all()  # padding where fewer than k exist


@pytest.mark.parametrize("name", ["flat", "numpy", "ivf"])
@settings(max_examples=40, deadline=None)
@given(steps=STEPS, seed=st.integers(0, 2**16), k=st.integers(1, 12))
def test_a_backend_holds_and_searches_exactly_what_was_added_and_not_removed(name, steps, seed, k) -> None:
    backend, model = _run(name, steps, seed)
    query = _vector(np.random.default_rng(seed + 1))
    _check(backend, model, query, k)
    copy = BACKENDS[name].deserialize(backend.serialize(), DIM)
    _check(copy, model, query, k)
    twin = backend.clone()
    twin.add(np.asarray([1000], np.int64), np.ones((1, DIM), np.float32))
    twin.remove(np.asarray(list(model)[:1], np.int64))
    _check(backend, model, query, k)  # the original is untouched by changes to its clone


@pytest.mark.parametrize(("n", "nlist"), [(100, 16), (780, 20), (1000, 25), (8192, 90), (1_000_000, 1000)])
def test_ivf_list_count_is_about_sqrt_n_with_39_points_per_list(n: int, nlist: int) -> None:
    """sqrt(n), but never fewer than 39 training points a list (1000 vectors: 25 lists, not 31; 780: exactly 20 lists
    of 39), nor under 16."""
    assert ivf_nlist(n) == nlist


@pytest.mark.parametrize(("nlist", "nprobe"), [(20, 16), (130, 16), (136, 17), (1000, 125)])
def test_ivf_probes_an_eighth_of_the_lists_and_at_least_16(nlist: int, nprobe: int) -> None:
    got = ivf_nprobe(nlist)
    assert got == nprobe and isinstance(got, int)


def _trained_n(backend) -> int:
    (hlen,) = struct.unpack_from("<I", backend.serialize())
    return json.loads(backend.serialize()[4:4 + hlen])["trained_n"]


def test_ivf_trains_at_exactly_the_threshold_and_retrains_at_four_times_it(monkeypatch) -> None:
    monkeypatch.setattr(index_backends, "IVF_MIN_TRAIN", 800)
    rng = np.random.default_rng(0)
    backend = BACKENDS["ivf"](8)
    backend.add(np.arange(799, dtype=np.int64), rng.standard_normal((799, 8)).astype(np.float32))
    assert not backend.trained
    backend.add(np.asarray([799], np.int64), rng.standard_normal((1, 8)).astype(np.float32))
    assert backend.trained and _trained_n(backend) == 800
    backend.add(np.arange(800, 3199, dtype=np.int64), rng.standard_normal((2399, 8)).astype(np.float32))
    assert _trained_n(backend) == 800  # 3199 < 4 x 800: same lists
    jumper = backend.clone()
    backend.add(np.asarray([3199], np.int64), rng.standard_normal((1, 8)).astype(np.float32))
    assert _trained_n(backend) == 3200 and backend._ivf.nlist == ivf_nlist(3200)  # reached 4 x 800: retrained
    assert backend.ntotal == 3200 and sorted(backend.ids().tolist()) == list(range(3200))
    jumper.add(np.arange(3199, 3300, dtype=np.int64), rng.standard_normal((101, 8)).astype(np.float32))
    assert _trained_n(jumper) == 3300 and jumper._ivf.nlist == ivf_nlist(3300)  # jumped past 4 x 800: retrained too

"""The vector backends against a plain dict model (hypothesis): any run of adds and removes leaves every backend
holding exactly the vectors the model holds, searching them exactly (flat, NumPy; IVF before it trains), and a
serialized or cloned copy behaves the same and independently."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.search.index_backends import BACKENDS

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

"""The query-embedding cache: a hit is the vector the model gave, bounded, per model, safe across threads."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from apps.search.query import embed_text_queries
from apps.search.query_cache import EmbeddingCache, embedder_key


class Counting:
    """The real test model, counting the texts it is asked to encode."""

    def __init__(self, embedder, model_id: str | None = None) -> None:
        self.inner, self.texts = embedder, []
        self.model_id, self.dim = model_id or embedder.model_id, embedder.dim

    def encode_texts(self, texts):
        self.texts.extend(texts)
        return self.inner.encode_texts(texts)


@pytest.fixture(scope="module")
def testmodel():
    from apps.search.testmodel import load_testmodel

    return load_testmodel()


def test_a_hit_returns_the_same_vector_without_encoding(testmodel):
    cache, model = EmbeddingCache(8), Counting(testmodel)
    first = embed_text_queries(model, ["a red car"], cache=cache)[0]
    encoded = len(model.texts)
    assert encoded == 4  # the four English templates, in one call
    again = embed_text_queries(model, ["  a   red car "], cache=cache)[0]  # the same query, spaced differently
    assert len(model.texts) == encoded  # no model pass
    np.testing.assert_array_equal(again.vector, first.vector)
    assert again.texts == first.texts and again.lang == first.lang
    uncached = embed_text_queries(testmodel, ["a red car"], cache=None)[0]
    np.testing.assert_allclose(first.vector, uncached.vector, atol=1e-6)


def test_a_returned_vector_cannot_change_the_cached_one(testmodel):
    cache = EmbeddingCache(8)
    first = embed_text_queries(testmodel, ["a blue square"], cache=cache)[0].vector
    kept = first.copy()
    first *= 0  # a caller that scales its vector in place
    np.testing.assert_array_equal(embed_text_queries(testmodel, ["a blue square"], cache=cache)[0].vector, kept)


def test_only_the_misses_of_a_many_term_query_are_encoded(testmodel):
    cache, model = EmbeddingCache(8), Counting(testmodel)
    embed_text_queries(model, ["a red car"], cache=cache)
    model.texts.clear()
    vectors = embed_text_queries(model, ["a red car", "a green circle"], cache=cache)
    assert model.texts == ["a green circle", "a photo of a green circle", "a picture of a green circle",
                           "a video frame showing a green circle"]
    assert len(vectors) == 2 and vectors[0].texts[0] == "a red car"


def test_language_and_templates_are_part_of_the_key(testmodel):
    cache, model = EmbeddingCache(8), Counting(testmodel)
    ru = embed_text_queries(model, ["кошка"], lang="ru", cache=cache)[0]
    en = embed_text_queries(model, ["кошка"], lang="en", cache=cache)[0]
    assert ru.texts != en.texts and len(model.texts) == 8 and len(cache) == 2
    assert not np.array_equal(ru.vector, en.vector)


def test_another_model_is_another_key(testmodel):
    cache = EmbeddingCache(8)
    a, b = Counting(testmodel, "model-a"), Counting(testmodel, "model-b")
    embed_text_queries(a, ["a red car"], cache=cache)
    embed_text_queries(b, ["a red car"], cache=cache)
    assert len(a.texts) == len(b.texts) == 4 and len(cache) == 2
    assert embedder_key(a) != embedder_key(b)


def test_the_torch_and_onnx_backends_of_one_model_do_not_share_entries(testmodel):
    class Other(Counting):
        pass

    assert embedder_key(Counting(testmodel)) != embedder_key(Other(testmodel))


def test_bounded_least_recently_used_goes_first():
    cache = EmbeddingCache(3)
    for i in range(3):
        cache.put(i, np.full(4, i, np.float32))
    assert cache.get(0) is not None  # 0 is now the most recent
    cache.put(3, np.zeros(4, np.float32))
    assert len(cache) == 3 and 1 not in cache and all(k in cache for k in (0, 2, 3))
    assert EmbeddingCache(0).get(1) is None
    zero = EmbeddingCache(0)
    zero.put(1, np.zeros(4, np.float32))
    assert len(zero) == 0


def test_threads_share_one_bounded_cache():
    cache, errors = EmbeddingCache(50), []

    def work(seed: int) -> None:
        try:
            for i in range(2000):
                key = (seed * 7 + i) % 120
                got = cache.get(key)
                if got is None:
                    cache.put(key, np.full(8, key, np.float32))
                else:
                    assert got[0] == key
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(cache) <= 50 and cache.hits + cache.misses == 16000

"""Building a query from its inputs (one rule for every entry point) and combining its terms into one vector."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image

from apps.search.query import combine_vectors, embed_query, embed_text_query
from apps.search.query_spec import (
    MAX_TERMS,
    ImageTerm,
    KeyframeTerm,
    PhotoTerm,
    QueryError,
    QuerySpec,
    TextTerm,
    build_query,
    check_weight,
)


class WordEmbedder:
    """A deterministic stand-in model: a text's vector is a hash-seeded random unit vector."""

    model_id = "fake:words"
    dim = 16

    def encode_texts(self, texts):
        return np.stack([self._unit(t) for t in texts])

    def encode_images(self, images):
        return np.stack([self._unit(f"image {img.getpixel((0, 0))}") for img in images])

    def _unit(self, text):
        v = np.random.default_rng(abs(hash(text)) % 2**32).normal(size=self.dim).astype(np.float32)
        return v / np.linalg.norm(v)


def no_stored(term):
    raise AssertionError("no stored vectors in this test")


def test_plain_text_builds_one_text_term():
    query = build_query(text="  red   car ")
    assert query.terms == (TextTerm("red car", 1.0),) and query.kind == "text"


def test_inputs_given_together_are_all_terms():
    image = Image.new("RGB", (8, 8), (200, 0, 0))
    query = build_query(text="at night", image=image, image_weight=0.5, like_keyframe=3, like_photo=4,
                        terms=[TextTerm("road", -1.0)])
    assert [type(t) for t in query.terms] == [TextTerm, ImageTerm, KeyframeTerm, PhotoTerm, TextTerm]
    assert query.terms[1].weight == 0.5 and query.kind == "combined"
    assert query.example_image is image and query.example_photo_id == 4


def test_kinds_of_single_term_queries():
    assert build_query(image=Image.new("RGB", (4, 4))).kind == "image"
    assert build_query(like_keyframe=7).kind == "similar"
    assert build_query(text="red car -night").kind == "text"


def test_a_negative_image_is_not_an_example_to_find_copies_of():
    query = build_query(text="car", image=Image.new("RGB", (4, 4)), image_weight=-1)
    assert query.example_image is None


def test_a_weakly_negative_image_or_photo_is_no_example_either():
    """Any negative weight, however small (-0.5), pushes away from the item: it is never the thing looked for."""
    image = Image.new("RGB", (4, 4))
    assert build_query(text="car", image=image, image_weight=-0.5).example_image is None
    assert build_query(text="car", terms=[PhotoTerm(5, -0.5)]).example_photo_id is None
    assert build_query(text="car", terms=[PhotoTerm(5, -0.5), PhotoTerm(6, 0.5)]).example_photo_id == 6


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf"), 0, 0.001, 11, -1e9, True, "2", None])
def test_unusable_weights_are_refused(value):
    with pytest.raises(QueryError):
        check_weight(value)


@pytest.mark.parametrize("value", [1, 0.01, 10, -10, -0.5, 2.5])
def test_usable_weights_pass(value):
    assert check_weight(value) == float(value)


@pytest.mark.parametrize("inputs, field, message", [
    ({}, None, "give a query"),
    ({"text": "   "}, None, "give a query"),
    ({"text": "-night"}, None, "only negative terms"),
    ({"text": "-night -rain"}, None, "only negative terms"),
    ({"text": "car:nan"}, "text", "finite"),
    ({"text": "car:1e999"}, "text", "finite"),
    ({"text": "car:1000"}, "text", "out of range"),
    ({"text": "car:0"}, "text", "out of range"),
    ({"text": "car +"}, "text", "followed by a term"),
    ({"text": "x" * 1001}, "text", "over 1000 characters"),
    ({"text": " + ".join(f"t{i}" for i in range(MAX_TERMS + 1))}, None, "too many terms"),
    ({"image_weight": 2.0}, "image_weight", "needs an image"),
    ({"like_keyframe": 0}, "like_keyframe", "positive integer"),
    ({"like_photo": True}, "like_photo", "positive integer"),
    ({"like_photo": 2**63}, "like_photo", "positive integer"),
    ({"terms": [KeyframeTerm(-1)]}, "like_keyframe", "positive integer"),
])
def test_bad_queries_are_refused_with_a_readable_message(inputs, field, message):
    with pytest.raises(QueryError, match=message) as caught:
        build_query(**inputs)
    assert caught.value.field == field


def test_a_spec_cannot_be_built_around_the_rules():
    with pytest.raises(QueryError, match="finite"):
        QuerySpec((TextTerm("car", float("nan")),))
    with pytest.raises(QueryError, match="too many"):
        QuerySpec(tuple(TextTerm(f"t{i}") for i in range(MAX_TERMS + 1)))
    with pytest.raises(QueryError, match="only negative"):
        QuerySpec((TextTerm("car", -1.0),))


def test_a_plain_query_embeds_to_exactly_the_vector_of_the_plain_text_path():
    embedder = WordEmbedder()
    for text in ["red car", "красная машина на дороге", "t-shirt", "time 12:30"]:
        expected = embed_text_query(embedder, text)
        embedded = embed_query(embedder, build_query(text=text), no_stored)
        assert np.array_equal(embedded.vector, expected.vector)
        assert embedded.texts == expected.texts and embedded.lang == expected.lang


def test_terms_are_summed_with_their_weights_and_renormalised():
    embedder = WordEmbedder()
    car, night = (embed_text_query(embedder, t).vector for t in ("red car", "night"))
    embedded = embed_query(embedder, build_query(text="red car:2 -night"), no_stored)
    expected = 2 * car - night
    assert np.allclose(embedded.vector, expected / np.linalg.norm(expected), atol=1e-6)
    assert np.isclose(np.linalg.norm(embedded.vector), 1.0, atol=1e-6)
    assert embedded.vector @ night < car @ night  # subtracting moves the query away from "night"
    assert embedded.texts == embed_text_query(embedder, "red car").texts + embed_text_query(embedder, "night").texts


def test_the_text_syntax_and_the_term_list_give_the_same_vector():
    embedder = WordEmbedder()
    typed = embed_query(embedder, build_query(text="red car:2 -night"), no_stored)
    listed = embed_query(embedder, build_query(terms=[TextTerm("red car", 2), TextTerm("night", -1)]), no_stored)
    assert np.array_equal(typed.vector, listed.vector)


def test_all_text_terms_are_embedded_in_one_model_call_with_the_same_vectors():
    embedder, calls = WordEmbedder(), []
    real = embedder.encode_texts
    embedder.encode_texts = lambda texts: calls.append(list(texts)) or real(texts)
    embedded = embed_query(embedder, build_query(text="red car + road -night + красная машина"), no_stored)
    assert len(calls) == 1 and calls[0] == embedded.texts and len(embedded.texts) == 16  # 4 prompts a term
    terms = [embed_text_query(WordEmbedder(), t).vector for t in ("red car", "road", "night", "красная машина")]
    expected = terms[0] + terms[1] - terms[2] + terms[3]
    assert np.allclose(embedded.vector, expected / np.linalg.norm(expected), atol=1e-6)


def test_stored_items_take_part_through_the_lookup():
    embedder = WordEmbedder()
    stored_vector = embedder.encode_texts(["stored keyframe"])[0]
    seen = []

    def stored(term):
        seen.append(term)
        return stored_vector

    embedded = embed_query(embedder, build_query(like_keyframe=5), stored)
    assert seen == [KeyframeTerm(5)] and np.array_equal(embedded.vector, stored_vector)


def test_terms_that_cancel_out_are_refused():
    embedder = WordEmbedder()
    with pytest.raises(QueryError, match="cancel out"):
        embed_query(embedder, build_query(text="red car -red car"), no_stored)


def test_combining_rescales_non_unit_inputs_and_keeps_float32():
    a, b = np.array([3.0, 0.0], np.float32), np.array([0.0, 0.5], np.float32)
    combined = combine_vectors([a, b], [1.0, 1.0])
    assert combined.dtype == np.float32 and np.allclose(combined, [2 ** -0.5, 2 ** -0.5])


def test_terms_weigh_one_unless_told_otherwise():
    image = Image.new("RGB", (4, 4))
    assert [t.weight for t in (TextTerm("car"), ImageTerm(image), KeyframeTerm(5), PhotoTerm(6))] == [1.0] * 4
    query = build_query(text="car", image=image, like_keyframe=5, like_photo=6)
    assert [t.weight for t in query.terms] == [1.0] * 4


def test_the_largest_64_bit_id_is_accepted():
    largest = 2**63 - 1
    assert build_query(like_keyframe=largest).terms == (KeyframeTerm(largest),)
    assert build_query(like_photo=largest).terms == (PhotoTerm(largest),)


def test_the_smallest_id_is_accepted():
    assert build_query(like_keyframe=1).terms == (KeyframeTerm(1),)
    assert build_query(like_photo=1).terms == (PhotoTerm(1),)


def test_eight_terms_are_allowed_and_nine_refused():
    eight = build_query(text=" + ".join(f"t{i}" for i in range(8)))
    assert [t.text for t in eight.terms] == [f"t{i}" for i in range(8)]
    with pytest.raises(QueryError, match=r"too many terms: 9, at most 8"):
        build_query(text=" + ".join(f"t{i}" for i in range(9)))


def test_a_text_of_exactly_a_thousand_characters_is_accepted():
    assert build_query(text="x" * 1000).texts == ["x" * 1000]


def test_a_query_of_only_weak_positive_terms_is_a_query():
    """Weights under 1 still look for something: only negative terms are refused."""
    query = build_query(text="car:0.5 + road:0.2")
    assert [(t.text, t.weight) for t in query.terms] == [("car", 0.5), ("road", 0.2)]


def test_a_checked_query_cannot_be_changed_afterwards():
    """The service trusts a QuerySpec because its checks ran once, when it was built: neither the spec nor any
    of its terms may be changed after that (a weight set to 0 or a term list emptied would bypass them)."""
    image = Image.new("RGB", (4, 4))
    query = build_query(text="car", image=image, like_keyframe=5, like_photo=6)
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.terms = ()
    for term in query.terms:
        with pytest.raises(dataclasses.FrozenInstanceError):
            term.weight = 0.0


def test_a_plain_query_looks_for_its_positive_words_only_in_the_footage() -> None:
    """The words half of a fused query takes the positive text terms: a subtracted term ("-night") is not words to
    find, and neither is a text longer than the words limit (a caption, not words on screen)."""
    from apps.search.query_spec import MAX_QUERY_WORDS

    words = build_query(text="red car -night").words_query
    assert [group.words for group in words.groups] == [("red", "car")]
    assert build_query(text=" ".join(["word"] * (MAX_QUERY_WORDS + 1))).words_query is None

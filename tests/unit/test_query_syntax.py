"""The text box syntax: weighted and negative terms, with ordinary text (hyphens, times, Russian) left alone."""
from __future__ import annotations

import math

import pytest

from apps.search.query_syntax import QuerySyntaxError, parse_query_text


@pytest.mark.parametrize("text", [
    "red car", "a red car on a road", "t-shirt", "Санкт-Петербург", "из-за угла", "красная машина на дороге",
    "C++ code", "time 12:30", "score 3:2", "Москва - столица", "car - road", "a -- b", "arrow ->", "car:information",
    "photo:", "🚗 ?", "x-ray of a hand-held camera", "(red) car", "*new* #1 & more!", "score :2", ":2",
])
def test_plain_text_is_one_term_of_weight_one(text):
    assert parse_query_text(text) == [(" ".join(text.split()), 1.0)]


def test_whitespace_is_normalised_like_the_embedding_does():
    assert parse_query_text("  red \t car\n ") == [("red car", 1.0)]


def test_a_sign_at_a_word_start_begins_a_negative_or_positive_term():
    assert parse_query_text("red car -night") == [("red car", 1.0), ("night", -1.0)]
    assert parse_query_text("красная машина -ночь") == [("красная машина", 1.0), ("ночь", -1.0)]
    assert parse_query_text("red car +night") == [("red car", 1.0), ("night", 1.0)]
    assert parse_query_text("red car + night") == [("red car", 1.0), ("night", 1.0)]
    assert parse_query_text("+car") == [("car", 1.0)]


def test_a_term_runs_until_the_next_operator():
    assert parse_query_text("red car -at night + road") == [("red car", 1.0), ("at night", -1.0), ("road", 1.0)]


def test_hyphenated_words_inside_a_query_with_operators_stay_words():
    assert parse_query_text("Санкт-Петербург -ночь") == [("Санкт-Петербург", 1.0), ("ночь", -1.0)]
    assert parse_query_text("t-shirt -black t-shirt") == [("t-shirt", 1.0), ("black t-shirt", -1.0)]


def test_weights_at_the_end_of_a_term():
    assert parse_query_text("car:2 + road") == [("car", 2.0), ("road", 1.0)]
    assert parse_query_text("red car:0.5 -night:2") == [("red car", 0.5), ("night", -2.0)]
    assert parse_query_text("машина:1.5 -ночь:.5") == [("машина", 1.5), ("ночь", -0.5)]
    assert parse_query_text("car:-1 + road") == [("car", -1.0), ("road", 1.0)]


def test_non_finite_weights_are_read_so_that_the_range_check_can_refuse_them():
    (_, nan), = parse_query_text("car:nan")
    (_, inf), = parse_query_text("car:1e999")
    assert math.isnan(nan) and math.isinf(inf)


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("   \n\t", "empty"),
    ("+", "must be followed by a term"),
    ("car +", "at the end"),
    ("car -night +", "at the end"),
    ("car + + road", "not by another"),
    ("car + -night", "not by another"),
    ("+ +road", "not by another"),
    ("+ -night", "not by another"),
    ("red:2 car", "weight goes at the end"),
    ("car:2x", "not a number"),
    ("car:1.2.3", "not a number"),
])
def test_unreadable_queries_say_why(text, message):
    with pytest.raises(QuerySyntaxError, match=message):
        parse_query_text(text)


def test_hostile_input_never_crashes_with_anything_but_a_syntax_error():
    for text in ["-" * 500, "+ " * 300, ":" * 100, "a:" * 50, "-a " * 200, "\x00-\x00", "-\u200b", "a:\u0661"]:
        try:
            terms = parse_query_text(text)
        except QuerySyntaxError:
            continue
        assert all(isinstance(t, str) and t and isinstance(w, float) for t, w in terms)


def test_error_messages_name_the_operators_as_typed():
    with pytest.raises(QuerySyntaxError) as error:
        parse_query_text("car + -night")
    assert str(error.value) == "'+' must be followed by a term, not by another '-'"
    with pytest.raises(QuerySyntaxError) as error:
        parse_query_text("car + +night")
    assert str(error.value) == "'+' must be followed by a term, not by another '+'"
    with pytest.raises(QuerySyntaxError) as error:
        parse_query_text("car -night +")
    assert str(error.value) == "'+' at the end of the query must be followed by a term"


def test_a_weight_needs_a_letter_right_before_the_colon():
    """The character right before the colon decides, not the first one of the word."""
    assert parse_query_text("mp3:2") == [("mp3:2", 1.0)]  # a digit before the colon: text, like 12:30
    assert parse_query_text("2cars:2") == [("2cars", 2.0)]


def test_a_sign_before_a_single_letter_or_digit_starts_a_term():
    """The shortest signed word, a sign and one character, is already an operator and its term."""
    assert parse_query_text("cat -x") == [("cat", 1.0), ("x", -1.0)]
    assert parse_query_text("кот -я +5") == [("кот", 1.0), ("я", -1.0), ("5", 1.0)]


def test_every_quoted_phrase_is_found_and_the_closing_mark_is_not_text() -> None:
    """Two phrases in straight quotes are two phrases (a closing quote is not read again as an opening one), and a
    closing guillemet leaves nothing behind that would become a picture term."""
    from apps.search.query_syntax import split_quoted

    assert split_quoted('"exit 23" "bus 5"') == (["exit 23", "bus 5"], "   ")
    assert split_quoted("«exit 23»") == (["exit 23"], " ")
    assert split_quoted("red «exit 23» car") == (["exit 23"], "red   car")

"""Words in the footage, the pure parts: quoted phrases and text_in_video in a query, fuzzy spellings, span
scores and the fusion of the CLIP and words rankings (apps/search/text_fusion.py)."""
from __future__ import annotations

import pytest

from apps.search.query_spec import QueryError, TextTerm, WordGroup, build_query
from apps.search.query_syntax import split_quoted
from apps.search.text_fusion import Span, fuse, rrf
from apps.search.text_index import (
    EXACT,
    FUZZY,
    TextMatch,
    Vocabulary,
    _Word,
    edit_distance_at_most,
    fuzzy_limit,
    span_score,
    spellings,
    text_moments,
)


@pytest.mark.parametrize(("text", "phrases", "rest"), [
    ('"exit 23"', ["exit 23"], " "),
    ('bus «маршрут 5» now', ["маршрут 5"], "bus   now"),
    ("“I'll be back”", ["I'll be back"], " "),
    ('"exit 23', [], '"exit 23'),           # an unclosed quote stays text
    ('""', [], '""'),                       # so does an empty pair
    ('say "a" and "b c"', ["a", "b c"], "say   and  "),
])
def test_split_quoted(text, phrases, rest):
    assert split_quoted(text) == (phrases, rest)


def test_a_quoted_phrase_is_a_words_only_query():
    query = build_query(text='"exit 23" -night')
    assert query.words_only and query.kind == "words" and not query.terms
    assert query.words.groups == (WordGroup(phrases=("exit 23",)),)
    assert query.words.exclude == ("night",) and query.words.explicit


def test_text_in_video_alone_is_words_only_and_beside_text_is_fused():
    alone = build_query(text_in_video="exit 23")
    assert alone.words_only and alone.words.groups == (WordGroup(words=("exit", "23")),)
    both = build_query(text="red car", text_in_video='"exit 23"')
    assert not both.words_only and both.kind == "text" and both.words_query is both.words
    assert both.terms == (TextTerm("red car"),)


def test_a_plain_query_looks_for_its_positive_terms_words_too():
    query = build_query(text="red car -night + road:2")
    assert query.words is None and not query.words_only
    assert query.words_query.groups == (WordGroup(words=("red", "car")), WordGroup(words=("road",)))
    assert not query.words_query.explicit


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"text": '"' + "word " * 40 + '"'}, "text"),
    ({"text_in_video": "-only -excluded"}, "text_in_video"),
    ({"text_in_video": "x" * 1001}, "text_in_video"),
])
def test_bad_words_queries_are_refused_naming_the_field(kwargs, field):
    with pytest.raises(QueryError) as caught:
        build_query(**kwargs)
    assert caught.value.field == field


def test_existing_syntax_is_unchanged_by_the_words_part():
    query = build_query(text="car:2 + road -night")
    assert [(t.text, t.weight) for t in query.terms] == [("car", 2.0), ("road", 1.0), ("night", -1.0)]


@pytest.mark.parametrize(("a", "b", "limit", "expected"), [
    ("exit", "exlt", 1, True), ("exit", "exi", 1, True), ("exit", "axlt", 1, False),
    ("машин", "машип", 1, True), ("station", "statoin", 1, False), ("station", "statoin", 2, True),
    ("abc", "abc", 0, True), ("abcd", "abce", 0, False),
])
def test_edit_distance(a, b, limit, expected):
    assert edit_distance_at_most(a, b, limit) is expected
    assert edit_distance_at_most(b, a, limit) is expected


def test_fuzzy_spellings_spare_numbers_and_short_words():
    assert fuzzy_limit("23") == 0 and fuzzy_limit("bus") == 0 and fuzzy_limit("exit") == 1
    assert fuzzy_limit("intersection") == 1
    words = {"exlt", "exit", "edit", "exits", "ext", "axlt", "28", "23", "bus", "bug", "intersectoin", "intersecton"}
    for vocab in (words, Vocabulary(words)):
        assert spellings("exit", vocab) == {"exit": EXACT, "exlt": FUZZY, "edit": FUZZY, "exits": FUZZY, "ext": FUZZY}
        assert spellings("23", vocab) == {"23": EXACT}
        assert spellings("bus", vocab) == {"bus": EXACT}
        assert spellings("intersection", vocab) == {"intersection": EXACT, "intersecton": FUZZY}


def _w(stem, **fuzzy):
    return _Word(stem, {stem: EXACT, **{k: FUZZY for k in fuzzy}})


def test_phrases_need_their_words_in_order_and_adjacent():
    phrase = [_w("exit"), _w("23")]
    assert span_score(["exit", "23"], [phrase], []) is not None
    assert span_score(["23", "exit"], [phrase], []) is None
    assert span_score(["exit", "to", "23"], [phrase], []) is None
    assert span_score(["23", "exit"], [], phrase) is not None  # loose words: any order


def test_exact_ranks_above_fuzzy_and_a_tight_span_above_a_long_one():
    word = _w("exit", exlt=True)
    exact, _ = span_score(["exit", "23"], [], [word, _w("23")])
    fuzzy, _ = span_score(["exlt", "23"], [], [word, _w("23")])
    long, _ = span_score(["the", "exit", "23", "is", "closed", "today"], [], [word, _w("23")])
    assert exact > fuzzy and exact > long


def _match(video, start, end, score, pk):
    return TextMatch(pk, video, "subtitle", start, end, "t", "", score, ())


def test_spans_of_one_video_that_touch_are_one_moment():
    moments = text_moments([_match(1, 0, 2, 0.9, 1), _match(1, 2.3, 4, 1.1, 2), _match(1, 9, 10, 1.0, 3),
                            _match(2, 0, 2, 0.8, 4)])
    assert [(m.video_id, m.start, m.end, m.score) for m in moments] == [(1, 0, 4, 1.1), (1, 9, 10, 1.0), (2, 0, 2, 0.8)]
    assert [m.span_id for m in moments[0].matches] == [2, 1]


VISUAL = [Span(1, 0, 5), Span(2, 10, 15), Span(None, 0, 0), Span(1, 20, 25), Span(3, 0, 5, matched=False)]


def test_without_text_the_clip_ranking_is_unchanged():
    assert [f.visual for f in fuse(VISUAL, [])] == [(0,), (1,), (2,), (3,), (4,)]


def test_a_moment_matching_both_ranks_above_either():
    fused = fuse(VISUAL, [Span(9, 0, 3), Span(1, 22, 30)])
    first = fused[0]
    assert first.both and first.visual == (3,) and first.text == (1,)
    assert (first.start, first.end) == (22, 30)   # the clip and the cue, merged: the cue's time
    assert [f.both for f in fused].count(True) == 1
    text_only = next(f for f in fused if not f.visual)
    assert text_only.text == (0,) and (text_only.start, text_only.end) == (0, 3)
    assert len(fused) == len(VISUAL) + 1             # clip 3 absorbed the second text moment


def test_a_weak_clip_with_words_is_not_a_both_match_but_rises():
    fused = fuse(VISUAL, [Span(3, 1, 2)])
    merged = next(f for f in fused if f.text)
    assert merged.visual == (4,) and not merged.both
    assert (merged.start, merged.end) == (1, 2)       # the words' time, not the weak stretch's
    assert merged.score == pytest.approx(rrf([4, 0]))
    assert fused.index(merged) < 4


def test_a_text_moment_overlapping_two_clips_joins_them():
    fused = fuse([Span(1, 0, 2), Span(1, 2, 4), Span(2, 0, 1)], [Span(1, 1, 3)])
    assert fused[0].visual == (0, 1) and (fused[0].start, fused[0].end) == (1, 3)
    assert len(fused) == 2


def test_on_a_tie_the_words_go_first():
    fused = fuse([Span(1, 0, 2), Span(1, 5, 6)], [Span(2, 0, 3)])
    assert [(f.visual, f.text) for f in fused] == [((), (0,)), ((0,), ()), ((1,), ())]
    assert fused[0].score == fused[1].score


def test_word_queries_are_values():
    """A words query is built once per request and shared by the search and the response: nothing may change it."""
    import dataclasses

    query = build_query(text_in_video="exit 23").words
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.explicit = False
    with pytest.raises(dataclasses.FrozenInstanceError):
        query.groups[0].words = ()


def test_words_and_exclusions_of_an_explicit_query_exactly():
    """Loose words, quoted phrases and ``-word`` exclusions land where they belong; a lone "-" or "-!" is a word."""
    query = build_query(text_in_video='"exit 23" bus - -night -!x 5').words
    assert query.groups == (WordGroup(phrases=("exit 23",), words=("bus", "-", "-!x", "5")),)
    assert query.exclude == ("night",) and query.explicit
    assert query.as_dict() == {"phrases": ["exit 23"], "words": ["bus", "-", "-!x", "5"], "exclude": ["night"]}


def test_a_quoted_text_and_text_in_video_are_one_words_query():
    """Both fields' words must be found together (one group), with both fields' exclusions."""
    query = build_query(text='"exit 23" -night', text_in_video='bus "route 5" -day')
    assert query.words_only
    assert query.words.groups == (WordGroup(phrases=("exit 23", "route 5"), words=("bus",)),)
    assert query.words.exclude == ("night", "day") and query.words.explicit


def test_text_in_video_of_exactly_the_limit_is_accepted_and_one_more_refused_with_the_limit_named():
    from apps.search.query_spec import MAX_TEXT_CHARS

    assert build_query(text_in_video="x" * MAX_TEXT_CHARS).words_only
    with pytest.raises(QueryError) as caught:
        build_query(text_in_video="x" * (MAX_TEXT_CHARS + 1))
    assert str(MAX_TEXT_CHARS) in str(caught.value) and caught.value.field == "text_in_video"


def test_words_limit_counts_phrase_words_and_loose_words():
    from apps.search.query_spec import MAX_QUERY_WORDS

    exactly = " ".join(["w"] * (MAX_QUERY_WORDS - 2))
    assert build_query(text_in_video=f'"a b" {exactly}').words_only
    with pytest.raises(QueryError):
        build_query(text_in_video=f'"a b c" {exactly}')


@pytest.mark.parametrize(("text", "phrases", "rest"), [
    ('"" "bus"', ["bus"], '""  '),  # an empty pair right before a phrase stays text; the phrase is still found
    ('""x', [], '""x'),  # an empty pair is kept once, and what follows it once
])
def test_empty_quote_pairs_stay_text(text, phrases, rest):
    assert split_quoted(text) == (phrases, rest)


def test_single_letter_exclusions_and_other_signs():
    """"-x" leaves out the one-letter word x; "+x" and "#1" are words to find, not exclusions."""
    query = build_query(text_in_video="bus -x +x #1").words
    assert query.groups == (WordGroup(words=("bus", "+x", "#1")),) and query.exclude == ("x",)


def test_a_weakly_subtracted_term_is_not_a_word_to_find_and_a_full_length_term_is():
    from apps.search.query_spec import MAX_QUERY_WORDS

    assert [g.words for g in build_query(text="red car -night:0.5").words_query.groups] == [("red", "car")]
    full = " ".join(f"w{i}" for i in range(MAX_QUERY_WORDS))
    assert build_query(text=full).words_query.groups[0].words == tuple(full.split())

"""Full-text search over the words of a collection's videos (subtitle cues, on-screen text): TextSpan rows.

The database finds the candidates, Python decides and scores them, so one query gives the same answer on
SQLite and PostgreSQL:

1. **Words to stems.** The query's words go through ``analysis.text_terms.terms_of``, the rule the stored
   ``terms`` were made with ("машины" and "машина" -> "машин", "cars" -> "car").
2. **OCR errors.** Each stem of 4 letters or more also matches the collection's stored stems one edit away
   (a letter changed, added or left out): "EXlT" finds "exit". Numbers match exactly (23 is not 28). The
   vocabulary is read once per collection and kept until its spans change (count and newest id), with a
   deletion index that finds the near misses in a few lookups (:class:`Vocabulary`).
3. **Candidates.** Spans of the collection's indexed videos holding every word (any of its spellings): SQLite
   through the FTS5 table ``search_textspan_fts`` (external content on media_textspan, kept by triggers),
   PostgreSQL through a GIN index on ``to_tsvector('simple', terms)`` (the terms are stemmed already, so the
   'simple' configuration, which only lower-cases, is the one that keeps both databases equal).
4. **Check and score** (:func:`span_score`): a phrase must appear with its words in order and adjacent; per
   query word 1 for an exact stem, 0.6 for a fuzzy one, averaged; plus up to 0.2 for how much of the span the
   match covers (a sign reading just "EXIT 23" ranks above a paragraph that mentions it) and 0.1 when loose
   words also stand in the query's order. Ties: video, then time.

Spans of one video that overlap or nearly touch are one moment (:func:`text_moments`), scored by the best.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from django.db import connection
from django.db.models import Count, Max

from analysis.text_terms import stem, terms_of, words_of
from apps.media.models import TextSpan

from .query_spec import WordGroup, WordsQuery

#: The FTS5 table (SQLite) and the GIN index (PostgreSQL) the migration creates.
FTS_TABLE = "search_textspan_fts"
PG_INDEX = "search_textspan_terms_gin"
#: Spans read per group of words at most (best first after scoring); a query's moments come from these.
MAX_CANDIDATES = 5000
EXACT, FUZZY = 1.0, 0.6
COVER_BONUS, ORDER_BONUS = 0.2, 0.1
#: Spans of one video closer than this many seconds are one moment.
MOMENT_GAP = 0.5
_SHORTEST_FUZZY = 4


@dataclass(frozen=True)
class TextMatch:
    """One span that matched, and why: its words that matched and, for on-screen text, their boxes."""

    span_id: int
    video_id: int
    source: str
    start: float
    end: float
    text: str
    language: str
    score: float
    words: tuple[str, ...]
    boxes: tuple[dict, ...] = ()


@dataclass
class TextMoment:
    """Matching spans of one video that overlap or touch: one moment, as long as its spans."""

    video_id: int
    start: float
    end: float
    score: float
    matches: list[TextMatch] = field(default_factory=list)


# -- the query side -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Word:
    """One query word: its stem and every stored spelling that counts for it (stem -> weight)."""

    stem: str
    spellings: dict[str, float]


def edit_distance_at_most(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of a and b is <= limit (a banded check: cheap for small limits)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        lo, hi = max(1, i - limit), min(len(b), i + limit)
        if lo > 1:
            current[lo - 1] = limit + 1
        for j in range(lo, hi + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != b[j - 1]))
        if hi < len(b):
            current[hi + 1 :] = [limit + 1] * (len(b) - hi)
        if min(current) > limit:
            return False
        previous = current
    return previous[len(b)] <= limit


def fuzzy_limit(word: str) -> int:
    """Edits an OCR'd spelling of this stem may differ by: none for numbers and words under 4 letters, else 1."""
    return 0 if word.isdigit() or len(word) < _SHORTEST_FUZZY else 1


class Vocabulary(frozenset):
    """A collection's stored stems, with a deletion index for near misses (SymSpell's trick: two words are
    one edit apart only if one of them, or one with a letter deleted, equals the other with at most one
    letter deleted), so a query word costs a few dictionary lookups, not a pass over the vocabulary."""

    @cached_property
    def deletions(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = defaultdict(list)
        for word in self:
            if not word.isdigit() and len(word) >= _SHORTEST_FUZZY - 1:
                for variant in _deletions(word):
                    index[variant].append(word)
        return index


def _deletions(word: str) -> set[str]:
    """The word and every spelling of it with one letter left out."""
    return {word} | {word[:i] + word[i + 1 :] for i in range(len(word))}


def spellings(query_stem: str, vocabulary: Iterable[str]) -> dict[str, float]:
    """The stored stems that count for a query stem: itself (EXACT) and those one edit away (FUZZY)."""
    found = {query_stem: EXACT}
    if not fuzzy_limit(query_stem):
        return found
    if isinstance(vocabulary, Vocabulary):
        near = {w for variant in _deletions(query_stem) for w in vocabulary.deletions.get(variant, ())}
    else:
        near = {w for w in vocabulary if not w.isdigit()}
    for term in near:
        if term != query_stem and edit_distance_at_most(query_stem, term, 1):
            found[term] = FUZZY
    return found


_vocabularies: dict[int, tuple[tuple, Vocabulary]] = {}


def vocabulary(collection_id: int) -> Vocabulary:
    """Every stem stored for the collection's videos; re-read only when its spans changed (count, newest id)."""
    spans = TextSpan.objects.filter(video__collection_id=collection_id)
    signature = tuple(spans.aggregate(n=Count("id"), last=Max("id")).values())
    cached = _vocabularies.get(collection_id)
    if cached and cached[0] == signature:
        return cached[1]
    words = Vocabulary(t for terms in spans.values_list("terms", flat=True).iterator() for t in terms.split())
    _vocabularies[collection_id] = (signature, words)
    return words


# -- the database side ----------------------------------------------------------------------------------

def _candidate_ids(collection_id: int, words: Sequence[_Word]) -> list[int]:
    """Ids of the collection's indexed spans holding every word (any spelling), through the full-text index."""
    spans = TextSpan.objects.filter(video__collection_id=collection_id, video__indexed_at__isnull=False)
    if connection.vendor == "sqlite":
        # Each stem is \w+ only; quoted it is a plain FTS5 string, whatever the user typed.
        match = " AND ".join("(" + " OR ".join(f'"{s}"' for s in sorted(w.spellings)) + ")" for w in words)
        spans = spans.extra(where=[f"media_textspan.id IN (SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s)"],
                            params=[match])
    elif connection.vendor == "postgresql":
        # Every stem as a quoted lexeme; to_tsquery parses it with the same parser as the stored terms.
        query = " & ".join("(" + " | ".join("'" + s + "'" for s in sorted(w.spellings)) + ")" for w in words)
        spans = spans.extra(where=["to_tsvector('simple'::regconfig, media_textspan.terms) @@ "
                                   "to_tsquery('simple'::regconfig, %s)"], params=[query])
    else:  # any other database: a plain scan, checked below like the rest
        pass
    return list(spans.order_by("id").values_list("id", flat=True)[:MAX_CANDIDATES])


# -- checking and scoring -------------------------------------------------------------------------------

def _positions(terms: Sequence[str], word: _Word) -> list[tuple[int, float]]:
    return [(i, word.spellings[t]) for i, t in enumerate(terms) if t in word.spellings]


def _phrase_at(terms: Sequence[str], phrase: Sequence[_Word]) -> tuple[list[int], list[float]] | None:
    """The best place where the phrase's words stand in order, adjacent: (positions, weights), or None."""
    best = None
    for at in range(len(terms) - len(phrase) + 1):
        weights = [phrase[k].spellings.get(terms[at + k]) for k in range(len(phrase))]
        if all(w is not None for w in weights) and (best is None or sum(weights) > sum(best[1])):
            best = (list(range(at, at + len(phrase))), weights)
    return best


def span_score(terms: Sequence[str], phrases: Sequence[Sequence[_Word]], words: Sequence[_Word]) -> tuple[float, set[int]] | None:
    """(score, positions of the span's matched terms), or None when the span does not hold the group."""
    weights: list[float] = []
    matched: set[int] = set()
    for phrase in phrases:
        found = _phrase_at(terms, phrase)
        if found is None:
            return None
        matched.update(found[0])
        weights += found[1]
    loose: list[int] = []
    for word in words:
        places = _positions(terms, word)
        if not places:
            return None
        position, weight = max(places, key=lambda p: (p[1], -p[0]))
        loose.append(position)
        matched.add(position)
        weights.append(weight)
    if not weights:
        return None
    score = sum(weights) / len(weights) + COVER_BONUS * len(matched) / max(len(terms), 1)
    if len(loose) > 1 and all(b == a + 1 for a, b in zip(loose, loose[1:], strict=False)):
        score += ORDER_BONUS
    return score, matched


def _original_words(text: str, count: int) -> list[str]:
    """The span's words as written (case kept), aligned with its terms; the folded words when they do not align."""
    written = re.findall(r"\w+", text.replace("_", " "))
    return written if len(written) == count else words_of(text)


def _boxes_of(boxes: list, stems: set[str]) -> tuple[dict, ...]:
    """The on-screen boxes of the matched words."""
    return tuple(box for box in boxes if isinstance(box, dict) and stems.intersection(terms_of(str(box.get("text", "")))))


def _prepared(group: WordGroup, vocab: Vocabulary) -> tuple[list[list[_Word]], list[_Word]]:
    def word(s: str) -> _Word:
        return _Word(s, spellings(s, vocab))

    phrases = [[word(s) for s in terms_of(p)] for p in group.phrases]
    return [p for p in phrases if p], [word(s) for w in group.words for s in terms_of(w)]


def search_text(collection_id: int, query: WordsQuery) -> list[TextMatch]:
    """Every span of the collection that matches the query, best first."""
    vocab = vocabulary(collection_id)
    if not vocab:
        return []
    excluded = {stem(w) for text in query.exclude for w in words_of(text)}
    best: dict[int, TextMatch] = {}
    for group in query.groups:
        phrases, loose = _prepared(group, vocab)
        every = [w for p in phrases for w in p] + loose
        if not every or any(not (set(w.spellings) & vocab) for w in every):
            continue  # a word the collection never shows or says: nothing can match
        ids = _candidate_ids(collection_id, every)
        rows = TextSpan.objects.filter(pk__in=ids).values_list(
            "pk", "video_id", "source", "start", "end", "text", "language", "terms", "boxes")
        for pk, video_id, source, start, end, text, language, terms_text, boxes in rows:
            terms = terms_text.split()
            if excluded & set(terms):
                continue
            scored = span_score(terms, phrases, loose)
            if scored is None or (pk in best and best[pk].score >= scored[0]):
                continue
            written = _original_words(text, len(terms))
            positions = sorted(scored[1])
            words = tuple(written[i] if i < len(written) else terms[i] for i in positions)
            best[pk] = TextMatch(pk, video_id, source, start, end, text, language, round(scored[0], 6), words,
                                 _boxes_of(boxes or [], {terms[i] for i in positions}))
    return sorted(best.values(), key=lambda m: (-m.score, m.video_id, m.start, m.span_id))


def text_moments(matches: Iterable[TextMatch], gap: float = MOMENT_GAP) -> list[TextMoment]:
    """Matches of one video that overlap or lie within ``gap`` seconds are one moment; best moment first."""
    by_video: dict[int, list[TextMatch]] = defaultdict(list)
    for match in matches:
        by_video[match.video_id].append(match)
    moments: list[TextMoment] = []
    for video_id, found in by_video.items():
        current: TextMoment | None = None
        for match in sorted(found, key=lambda m: (m.start, m.end, m.span_id)):
            if current is not None and match.start <= current.end + gap:
                current.end = max(current.end, match.end)
                current.score = max(current.score, match.score)
                current.matches.append(match)
                continue
            current = TextMoment(video_id, match.start, match.end, match.score, [match])
            moments.append(current)
    for moment in moments:
        moment.matches.sort(key=lambda m: (-m.score, m.start, m.span_id))
    return sorted(moments, key=lambda m: (-m.score, m.video_id, m.start))

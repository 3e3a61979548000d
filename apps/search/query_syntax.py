"""The text box's query syntax: weighted and negative terms, e.g. ``red car -night`` or ``car:2 + road``.

Rules (chosen so that ordinary text, Russian included, reads exactly as before):

* Words are separated by whitespace. A query without operators is one term, weight 1.
* ``+`` or ``-`` at the start of a word, directly followed by a letter or digit, starts a new term:
  ``-night`` subtracts "night", ``+road`` adds "road". A term runs until the next operator, so
  ``red car -at night`` subtracts "at night": put negative terms last.
* A ``+`` standing alone also starts a new term (``red car + night``). A ``-`` standing alone stays
  text: it is far more often a dash ("Москва - столица") than an operator.
* Hyphens inside words are text: "t-shirt", "Санкт-Петербург", "из-за". So are signs not followed by
  a letter or digit ("C++", "->", "--").
* ``:N`` at the end of a term's last word, right after a letter, is the term's weight: ``car:2``,
  ``red car:0.5``, ``-night:2`` (weight -2). "12:30" and "3:2" stay text (a digit precedes the colon).
  A weight elsewhere in a term ("red:2 car") is refused rather than guessed at.

The parser only reads the syntax; whether weights are in range, and how many terms are allowed,
is checked by :mod:`apps.search.query_spec`.
"""
from __future__ import annotations

import re

#: What follows the colon when the user meant a weight (a number, or a non-number that must be refused).
_WEIGHT_LIKE = re.compile(r"[-+]?(?:\d[\w.+-]*|\.\d[\w.+-]*|inf|infinity|nan)", re.IGNORECASE)
_SIGNS = "+-"


class QuerySyntaxError(ValueError):
    """The text cannot be read as a query; the message says where and how to fix it."""


def parse_query_text(text: str) -> list[tuple[str, float]]:
    """Split a text box query into (term text, weight) pairs, in order; QuerySyntaxError when unreadable."""
    tokens: list[int | str] = []  # +1 / -1 for an operator, else a word
    for word in str(text).split():
        sign, rest = _split_sign(word)
        tokens.extend(x for x in (sign, rest) if x)
    if not tokens:
        raise QuerySyntaxError("empty query")
    terms: list[tuple[str, float]] = []
    sign, words = 1, []
    for at, token in enumerate(tokens):
        if isinstance(token, str):
            words.append(token)
            continue
        if words:
            terms.append(_weighted(sign, words))
            words = []
        elif at > 0:
            raise QuerySyntaxError(f"'{_symbol(sign)}' must be followed by a term, not by another '{_symbol(token)}'")
        sign = token
    if not words:
        raise QuerySyntaxError(f"'{_symbol(sign)}' at the end of the query must be followed by a term")
    terms.append(_weighted(sign, words))
    return terms


def _symbol(sign: int) -> str:
    return "+" if sign > 0 else "-"


def _split_sign(word: str) -> tuple[int, str]:
    """(+1 or -1, the word after the sign) when the word starts a term, else (0, word)."""
    if word == "+":
        return 1, ""
    if len(word) > 1 and word[0] in _SIGNS and word[1].isalnum():
        return (1 if word[0] == "+" else -1), word[1:]
    return 0, word


def _weighted(sign: int, words: list[str]) -> tuple[str, float]:
    for word in words[:-1]:
        if _weight_of(word) is not None:
            raise QuerySyntaxError(f"a weight goes at the end of its term: in '{' '.join(words)}' move it after the last word")
    last, weight = _weight_of(words[-1]) or (words[-1], 1.0)
    text = " ".join([*words[:-1], last])
    return text, sign * weight


def _weight_of(word: str) -> tuple[str, float] | None:
    """(word without the weight, weight) when the word ends in ``:N`` right after a letter, else None."""
    body, colon, tail = word.rpartition(":")
    if not colon or not body or not body[-1].isalpha() or not _WEIGHT_LIKE.fullmatch(tail):
        return None
    try:
        return body, float(tail)
    except ValueError:
        raise QuerySyntaxError(f"the weight in '{word}' is not a number: write e.g. '{body}:2' or '{body}:0.5'") from None


#: Quote pairs that mark a phrase of words to find in the footage: "straight", «guillemets», “curly”, „low-high“.
_QUOTES = {'"': '"', "«": "»", "“": "”", "„": "“"}


def split_quoted(text: str) -> tuple[list[str], str]:
    """(the quoted phrases, the rest of the text) of a text box query, e.g. ``"exit 23" -night`` ->
    (["exit 23"], " -night"). Only closed pairs count: an unmatched quote mark stays text (and so
    does an empty pair), so a stray ``"`` never turns an ordinary query into a words-only one."""
    phrases: list[str] = []
    rest: list[str] = []
    at = 0
    while at < len(text):
        close = _QUOTES.get(text[at])
        end = text.find(close, at + 1) if close else -1
        if end < 0:
            rest.append(text[at])
            at += 1
            continue
        inside = text[at + 1 : end].strip()
        if inside:
            phrases.append(inside)
            rest.append(" ")
        else:
            rest.append(text[at : end + 1])
        at = end + 1
    return phrases, "".join(rest)

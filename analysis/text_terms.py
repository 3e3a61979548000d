"""The search terms of a text: lower-cased words, stemmed in their own language, so "машины" finds "машина".

One rule for what is stored and what is asked, on SQLite and PostgreSQL alike: a Cyrillic word is stemmed
with the Russian Snowball stemmer, any other with the English one (a query's language is often unknown,
and a mixed line such as "exit 23 / выезд 23" holds both).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

_WORD = re.compile(r"\w+", re.UNICODE)
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def words_of(text: str) -> list[str]:
    """The words of ``text`` as they are compared: NFKC, lower case, ё as е, underscores as separators."""
    folded = unicodedata.normalize("NFKC", text).lower().replace("ё", "е").replace("_", " ")
    return _WORD.findall(folded)


@lru_cache(maxsize=2)
def _stemmer(language: str) -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer(language)


def stem(word: str) -> str:
    """The stem of one already-folded word (see :func:`words_of`); digits stay as they are."""
    if word.isdigit():
        return word
    return _stemmer("russian" if _CYRILLIC.search(word) else "english").stemWord(word)


def terms_of(text: str) -> list[str]:
    """The stems of every word of ``text``, in order (repeats kept: phrase matching needs positions)."""
    return [stem(word) for word in words_of(text)]

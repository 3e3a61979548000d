"""Prompt templates and language detection (pure, no model)."""
from __future__ import annotations

import pytest

from apps.search.prompts import (
    EN_TEMPLATES,
    RU_TEMPLATES,
    SHORT_QUERY_MAX_WORDS,
    detect_language,
    expand_query,
)


@pytest.mark.parametrize(("text", "lang"), [
    ("кошка", "ru"), ("a cat", "en"), ("Кот и dog", "ru"), ("dog и кот sleeping", "en"),
    ("12345", "en"), ("東京", "en"), ("ёжик в тумане", "ru"),
])
def test_detect_language(text: str, lang: str) -> None:
    assert detect_language(text) == lang


def test_short_queries_get_language_templates() -> None:
    assert expand_query("кошка") == [t.format("кошка") for t in RU_TEMPLATES]
    assert expand_query("a cat") == [t.format("a cat") for t in EN_TEMPLATES]
    assert expand_query("a cat", lang="ru") == [t.format("a cat") for t in RU_TEMPLATES]
    assert expand_query("  red \n car  ")[0] == "red car"  # whitespace collapsed before templating


def test_long_queries_are_kept_as_is() -> None:
    words = ["word"] * (SHORT_QUERY_MAX_WORDS + 1)
    assert expand_query(" ".join(words)) == [" ".join(words)]
    assert len(expand_query(" ".join(words[:SHORT_QUERY_MAX_WORDS]))) == len(EN_TEMPLATES)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_query_is_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        expand_query(text)

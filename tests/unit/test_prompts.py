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


# Literal expectations: the tests above build theirs from the same constants as the code, so a
# template list swapped for another language would pass them.


def test_russian_query_gets_the_russian_templates_literally() -> None:
    assert expand_query("кошка") == ["кошка", "фото: кошка", "изображение: кошка", "кадр из видео: кошка"]
    assert expand_query("ёжик  в\nтумане") == [
        "ёжик в тумане", "фото: ёжик в тумане", "изображение: ёжик в тумане", "кадр из видео: ёжик в тумане"]


def test_english_query_gets_the_english_templates_literally() -> None:
    assert expand_query("a cat") == ["a cat", "a photo of a cat", "a picture of a cat", "a video frame showing a cat"]


def test_language_can_be_forced_literally() -> None:
    assert expand_query("a cat", lang="ru") == ["a cat", "фото: a cat", "изображение: a cat", "кадр из видео: a cat"]
    assert expand_query("кошка", lang="en") == [
        "кошка", "a photo of кошка", "a picture of кошка", "a video frame showing кошка"]

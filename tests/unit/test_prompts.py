"""Prompt templates and language detection (pure, no model)."""
from __future__ import annotations

import pytest

from apps.search.prompts import (
    EN_TEMPLATES,
    RU_TEMPLATES,
    SHORT_QUERY_MAX_WORDS,
    detect_language,
    expand_query,
    language_warning,
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


def test_any_other_language_gets_the_english_templates_and_ru_is_read_by_value() -> None:
    english = ["a cat", "a photo of a cat", "a picture of a cat", "a video frame showing a cat"]
    assert expand_query("a cat", lang="uk") == expand_query("a cat", lang="zh") == english  # "uk" sorts after "ru"
    from_request = "".join(["r", "u"])  # a language read from a request: equal to "ru", not the same object
    assert expand_query("a cat", lang=from_request) == ["a cat", "фото: a cat", "изображение: a cat", "кадр из видео: a cat"]


def test_six_words_are_templated_and_seven_are_kept_as_written() -> None:
    """The boundary itself, in literals: a six-word query still reads like keywords, a seven-word one like a caption."""
    six = "red car on a wet road"
    seven = "a red car on a wet road"
    assert expand_query(six) == [six, f"a photo of {six}", f"a picture of {six}", f"a video frame showing {six}"]
    assert expand_query(seven) == [seven]


@pytest.mark.parametrize(("text", "warned"), [
    ("東京タワー tokyo", False),  # exactly half the letters (5 of 10) Latin: enough
    ("東京タワー toky", True),  # 4 of 9: under half
    ("東京タワーです tokyo", True),  # 5 of 12
    ("東京 tower", False),  # 5 of 7
    ("кот", False),
    ("123 !?", True),  # no letters at all: its own note
])
def test_language_warning_when_under_half_the_letters_are_latin_or_cyrillic(text: str, warned: bool) -> None:
    assert (language_warning(text) is not None) == warned

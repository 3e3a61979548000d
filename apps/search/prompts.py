"""Prompt templates for short text queries.

CLIP was trained on captions, not keywords: the CLIP paper averages the text embeddings of a few
templates ("a photo of {}") to turn a bare query into caption-like text. The bundled test model is
trained with the same templates so that the service's query path is the one it was trained for.
"""
from __future__ import annotations

import re

EN_TEMPLATES: tuple[str, ...] = ("{}", "a photo of {}", "a picture of {}", "a video frame showing {}")
RU_TEMPLATES: tuple[str, ...] = ("{}", "фото: {}", "изображение: {}", "кадр из видео: {}")

#: Queries with at most this many words get templates; longer ones already read like captions.
SHORT_QUERY_MAX_WORDS = 6

_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z]")


def detect_language(text: str) -> str:
    """Return "ru" when the text is mostly Cyrillic, else "en" (the fallback for any other script)."""
    cyr = len(_CYRILLIC.findall(text))
    lat = len(_LATIN.findall(text))
    return "ru" if cyr > lat else "en"


def expand_query(text: str, lang: str | None = None) -> list[str]:
    """Return the texts to embed for a query: templated when short, the query itself when long."""
    text = " ".join(text.split())
    if not text:
        raise ValueError("empty query")
    lang = lang or detect_language(text)
    if len(text.split()) > SHORT_QUERY_MAX_WORDS:
        return [text]
    templates = RU_TEMPLATES if lang == "ru" else EN_TEMPLATES
    return [t.format(text) for t in templates]


def language_warning(text: str) -> str | None:
    """A note for the user when a query is mostly in a script other than Latin or Cyrillic.

    CLIP-family models still return a ranking for such text, but a poor one; saying so beats
    silently showing unrelated moments.
    """
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "the query has no letters; results are ranked by the model's reading of symbols only"
    known = len(_CYRILLIC.findall(text)) + len(_LATIN.findall(text))
    if known / len(letters) < 0.5:
        return "the query is not in Russian or English: the models here understand those two languages, results may be poor"
    return None

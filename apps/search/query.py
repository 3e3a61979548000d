"""Turn a user's text or example image into one query vector.

Short text queries are expanded with the CLIP prompt templates (``prompts.expand_query``) and the
template embeddings are averaged, then renormalised: the prompt ensembling of the CLIP paper. The
result keeps the texts that were embedded so the API/UI can show what the model actually saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from apps.search.embedders.base import Embedder
from apps.search.embedders.common import l2_normalize
from apps.search.prompts import detect_language, expand_query


@dataclass(frozen=True)
class TextQuery:
    """A text query's vector and what produced it."""

    vector: np.ndarray  #: float32 (dim,), unit length
    texts: list[str] = field(default_factory=list)  #: the texts that were embedded and averaged
    lang: str = "en"  #: "ru" or "en" (given or detected)


def embed_text_query(embedder: Embedder, text: str, lang: str | None = None) -> TextQuery:
    """Embed a text query with prompt ensembling; ValueError for an empty query."""
    if text is None or not str(text).strip():
        raise ValueError("empty query")
    text = " ".join(str(text).split())
    lang = lang or detect_language(text)
    texts = expand_query(text, lang)
    vectors = embedder.encode_texts(texts)
    vector = l2_normalize(vectors.mean(axis=0, keepdims=True))[0]
    return TextQuery(vector=vector, texts=texts, lang=lang)


def embed_image_query(embedder: Embedder, image: Image.Image) -> np.ndarray:
    """Embed an example image (converted to RGB) as a float32 unit vector (dim,)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    return embedder.encode_images([image])[0]

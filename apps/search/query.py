"""Turn a user's query (texts, example images, stored items, each weighted) into one query vector.

Each term becomes a unit vector; the query is their weighted sum, renormalised (rclip's way of
adding and subtracting queries). A query of one positive term is that term's vector unchanged, so
plain queries rank exactly as they did before terms existed.

Short text queries are expanded with the CLIP prompt templates (``prompts.expand_query``) and the
template embeddings are averaged, then renormalised: the prompt ensembling of the CLIP paper. The
result keeps the texts that were embedded so the API/UI can show what the model actually saw.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from apps.search.embedders.base import Embedder
from apps.search.embedders.common import l2_normalize
from apps.search.prompts import detect_language, expand_query
from apps.search.query_cache import TEXT_QUERIES, EmbeddingCache, embedder_key
from apps.search.query_spec import ImageTerm, KeyframeTerm, PhotoTerm, QueryError, QuerySpec, TextTerm

#: A weighted sum shorter than this fraction of the weights' total is noise: the terms cancel out.
CANCELLED_FRACTION = 1e-3


@dataclass(frozen=True)
class TextQuery:
    """A text query's vector and what produced it."""

    vector: np.ndarray  #: float32 (dim,), unit length
    texts: list[str] = field(default_factory=list)  #: the texts that were embedded and averaged
    lang: str = "en"  #: "ru" or "en" (given or detected)


def embed_text_query(embedder: Embedder, text: str, lang: str | None = None) -> TextQuery:
    """Embed a text query with prompt ensembling; ValueError for an empty query."""
    return embed_text_queries(embedder, [text], lang)[0]


def embed_text_queries(embedder: Embedder, texts: Sequence[str], lang: str | None = None, *,
                       cache: EmbeddingCache | None = TEXT_QUERIES) -> list[TextQuery]:
    """Embed several text queries, each with prompt ensembling, in one model call (a query of many
    terms pays one call's overhead, not one per term); ValueError for an empty one.

    Queries found in ``cache`` (see query_cache.py; None: no cache) are not embedded again; the others
    are, together, and stored there.
    """
    if not texts:
        return []
    expanded: list[tuple[str, list[str]]] = []
    for text in texts:
        if text is None or not str(text).strip():
            raise ValueError("empty query")
        text = " ".join(str(text).split())
        text_lang = lang or detect_language(text)
        expanded.append((text_lang, expand_query(text, text_lang)))
    who = embedder_key(embedder)
    keys = [(*who, text_lang, tuple(prompts)) for text_lang, prompts in expanded]
    found = [cache.get(key) if cache is not None else None for key in keys]
    missing = [i for i, vector in enumerate(found) if vector is None]
    if missing:
        vectors = embedder.encode_texts([t for i in missing for t in expanded[i][1]])
        at = 0
        for i in missing:
            count = len(expanded[i][1])
            found[i] = l2_normalize(vectors[at : at + count].mean(axis=0, keepdims=True))[0]
            at += count
            if cache is not None:
                cache.put(keys[i], found[i])
    return [TextQuery(vector=vector, texts=prompts, lang=text_lang)
            for vector, (text_lang, prompts) in zip(found, expanded, strict=True)]


def embed_image_query(embedder: Embedder, image: Image.Image) -> np.ndarray:
    """Embed an example image (converted to RGB) as a float32 unit vector (dim,)."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    return embedder.encode_images([image])[0]


@dataclass(frozen=True)
class EmbeddedQuery:
    """A whole query's vector and the texts the model saw for it."""

    vector: np.ndarray  #: float32 (dim,), unit length
    texts: list[str] = field(default_factory=list)
    lang: str | None = None  #: of the text terms together; None without text


#: The stored vector of a keyframe or photo of the collection being searched (SearchError-like when absent).
StoredVector = Callable[[KeyframeTerm | PhotoTerm], np.ndarray]


def embed_query(embedder: Embedder, query: QuerySpec, stored: StoredVector) -> EmbeddedQuery:
    """Embed every term and combine them; QueryError when the weighted terms cancel out."""
    embedded_texts = iter(embed_text_queries(embedder, query.texts))  # in term order
    vectors: list[np.ndarray] = []
    texts: list[str] = []
    for term in query.terms:
        if isinstance(term, TextTerm):
            embedded = next(embedded_texts)
            vectors.append(embedded.vector)
            texts.extend(embedded.texts)
        elif isinstance(term, ImageTerm):
            vectors.append(embed_image_query(embedder, term.image))
        else:
            vectors.append(stored(term))
    lang = detect_language(" ".join(query.texts)) if query.texts else None
    return EmbeddedQuery(combine_vectors(vectors, [t.weight for t in query.terms]), texts, lang)


def combine_vectors(vectors: Sequence[np.ndarray], weights: Sequence[float]) -> np.ndarray:
    """The unit-length weighted sum of unit vectors; one positive term comes back as it is (bit for bit)."""
    if len(vectors) == 1 and weights[0] > 0:
        return np.asarray(vectors[0], dtype=np.float32)
    units = l2_normalize(np.stack([np.asarray(v, dtype=np.float32).reshape(-1) for v in vectors])).astype(np.float64)
    total = np.asarray(weights, dtype=np.float64) @ units
    if float(np.linalg.norm(total)) < CANCELLED_FRACTION * float(np.sum(np.abs(weights))):
        raise QueryError("the terms cancel out (the same thing added and subtracted): nothing is left to look for")
    return l2_normalize(total[None, :])[0]

"""Zero-shot classification accuracy with CLIP-style prompt ensembling."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from apps.search.embedders.base import Embedder
from apps.search.evaluation.datasets import ClassDataset
from apps.search.evaluation.metrics import topk_accuracy
from apps.search.evaluation.retrieval import load_images


def class_embeddings(embedder: Embedder, class_names: Sequence[str], lang: str) -> np.ndarray:
    """One vector per class: the prompt-ensembled text query vector (same path as a user's query)."""
    from apps.search.query import embed_text_query

    return np.stack([embed_text_query(embedder, name, lang).vector for name in class_names])


def evaluate_zeroshot(embedder: Embedder, data: ClassDataset, ks: Sequence[int] = (1, 5)) -> dict:
    """Zero-shot classification accuracy with CLIP-style prompt ensembling."""
    weights = class_embeddings(embedder, data.class_names, data.lang)
    image_emb = embedder.encode_images(load_images(data.image_paths))
    scores = image_emb @ weights.T
    ks = [k for k in ks if k <= len(data.class_names)] or [1]
    return {"model_id": embedder.model_id, "lang": data.lang, "images": len(data.image_paths),
            "classes": len(data.class_names), **topk_accuracy(scores, data.labels, ks)}

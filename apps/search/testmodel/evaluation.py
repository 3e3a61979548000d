"""Held-out text-to-image retrieval metrics for any Embedder on generated scenes.

Every caption in the gallery is distinct, so each query has exactly one right image and R@1 is an
honest number. Images are rendered at several sizes and aspect ratios, as frames and photos would be.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from apps.search.embedders.base import Embedder
from apps.search.testmodel.scenes import SceneSpec, caption_en, caption_ru, distinct_specs, render

#: Seed of the held-out scenes; training draws from other seed sequences (see tools/train_testmodel.py).
HELDOUT_SEED = 917_000_001
EVAL_SIZES: tuple[tuple[int, int], ...] = ((128, 128), (224, 224), (320, 180), (256, 192), (96, 96))
KS = (1, 5, 10)


def heldout_scenes(n: int, seed: int = HELDOUT_SEED) -> tuple[list[SceneSpec], list[Image.Image]]:
    """Return ``n`` scenes with pairwise distinct captions and their rendered images."""
    specs = distinct_specs(np.random.default_rng([seed, 0]), n)
    images = [render(s, EVAL_SIZES[i % len(EVAL_SIZES)], np.random.default_rng([seed, 1, i]))
              for i, s in enumerate(specs)]
    return specs, images


def recall_at_k(text_emb: np.ndarray, image_emb: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """R@k where query i's only correct image is image i."""
    sims = text_emb @ image_emb.T
    correct = np.diag(sims)[:, None]
    rank = (sims > correct).sum(axis=1)  # ties count in the query's favour only if exactly equal
    return {f"R@{k}": float((rank < k).mean()) for k in ks}


def evaluate_testmodel(embedder: Embedder, *, n_queries: int = 200, seed: int = HELDOUT_SEED) -> dict:
    """Text-to-image retrieval on held-out scenes, separately for English and Russian captions."""
    specs, images = heldout_scenes(n_queries, seed)
    image_emb = np.asarray(embedder.encode_images(images), dtype=np.float32)
    result: dict = {"n_queries": n_queries, "gallery": len(images)}
    for lang, caption in (("en", caption_en), ("ru", caption_ru)):
        text_emb = np.asarray(embedder.encode_texts([caption(s) for s in specs]), dtype=np.float32)
        result[lang] = recall_at_k(text_emb, image_emb)
    return result

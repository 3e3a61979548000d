"""Speed: images/s and single-query text latency, torch and ONNX side by side."""
from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np
from PIL import Image

from apps.search.embedders.base import Embedder
from apps.search.evaluation.metrics import median_ms


def measure_speed(embedder: Embedder, images: Sequence[Image.Image], *, queries: Sequence[str],
                  repeats: int = 3) -> dict:
    """Images/s for ``encode_images`` (best of ``repeats``, after a warm-up) and single-query text latency."""
    embedder.encode_images(list(images[:2]))  # warm-up: lazy init, allocator, thread pools
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        embedder.encode_images(images)
        best = min(best, time.perf_counter() - start)
    embedder.encode_texts([queries[0]])
    latencies = []
    for q in queries:
        start = time.perf_counter()
        embedder.encode_texts([q])
        latencies.append(time.perf_counter() - start)
    return {"model_id": embedder.model_id, "images": len(images), "images_per_s": len(images) / best,
            "text_latency_ms_median": median_ms(latencies), "text_queries": len(latencies)}


def speed_images(n: int, size: tuple[int, int] = (640, 360), seed: int = 0) -> list[Image.Image]:
    """Deterministic frame-sized test images (content does not change speed)."""
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)) for _ in range(n)]


SPEED_QUERIES = ("a dog", "кошка на диване", "a red car at night", "человек на велосипеде", "sunset over the sea",
                 "дети играют в парке", "a man riding a horse", "снег в горах", "people at a concert", "поезд")


def compare_torch_onnx(torch_emb: Embedder, onnx_emb: Embedder | None, *, n_images: int = 32,
                       n_queries: int = 20, repeats: int = 3) -> dict:
    """torch and ONNX side by side on the same images/queries, with the speed ratio and agreement."""
    images = speed_images(n_images)
    queries = [SPEED_QUERIES[i % len(SPEED_QUERIES)] for i in range(n_queries)]
    result: dict = {"torch": measure_speed(torch_emb, images, queries=queries, repeats=repeats)}
    if onnx_emb is not None:
        result["onnx"] = measure_speed(onnx_emb, images, queries=queries, repeats=repeats)
        result["onnx_vs_torch_images_per_s_ratio"] = result["onnx"]["images_per_s"] / result["torch"]["images_per_s"]
        result["onnx_vs_torch_text_latency_ratio"] = (result["onnx"]["text_latency_ms_median"]
                                                     / result["torch"]["text_latency_ms_median"])
        sample = images[:8]
        result["cosine_min_images"] = float((torch_emb.encode_images(sample) * onnx_emb.encode_images(sample))
                                            .sum(axis=1).min())
        result["cosine_min_texts"] = float((torch_emb.encode_texts(queries[:10]) * onnx_emb.encode_texts(queries[:10]))
                                           .sum(axis=1).min())
    return result

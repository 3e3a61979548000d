"""Pure metric functions (numpy only), unit-tested without any model."""
from __future__ import annotations

from collections.abc import Collection, Sequence

import numpy as np


def ranks_of_first_relevant(sims: np.ndarray, relevant: Sequence[Collection[int]]) -> np.ndarray:
    """For each query row, how many gallery items score strictly higher than its best relevant item.

    ``sims`` is (queries, gallery); ``relevant[i]`` the gallery indices that are correct for query i.
    Rank 0 means a correct item is first. Ties with the best relevant item do not push it down.
    """
    sims = np.asarray(sims, dtype=np.float64)
    if sims.ndim != 2 or sims.shape[0] != len(relevant):
        raise ValueError(f"sims shape {sims.shape} does not match {len(relevant)} queries")
    ranks = np.empty(sims.shape[0], dtype=np.int64)
    for i, rel in enumerate(relevant):
        idx = np.fromiter(rel, dtype=np.int64)
        if idx.size == 0:
            raise ValueError(f"query {i} has no relevant gallery item")
        best = sims[i, idx].max()
        ranks[i] = int((sims[i] > best).sum())
    return ranks


def recall_at_k(sims: np.ndarray, relevant: Sequence[Collection[int]], ks: Sequence[int] = (1, 5, 10)) -> dict[str, float]:
    """Recall@K: share of queries with at least one relevant item in the top K."""
    ranks = ranks_of_first_relevant(sims, relevant)
    return {f"R@{k}": float((ranks < k).mean()) if len(ranks) else 0.0 for k in ks}


def topk_accuracy(scores: np.ndarray, labels: Sequence[int], ks: Sequence[int] = (1, 5)) -> dict[str, float]:
    """Top-K classification accuracy from (samples, classes) scores and true class indices."""
    return {f"top{k}": v for k, v in
            zip(ks, recall_at_k(scores, [[int(y)] for y in labels], ks).values(), strict=True)}


def median_ms(durations_s: Sequence[float]) -> float:
    """Median of durations given in seconds, in milliseconds."""
    return float(np.median(np.asarray(durations_s, dtype=np.float64)) * 1000.0) if len(durations_s) else float("nan")

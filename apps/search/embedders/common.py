"""Small helpers shared by every backend: normalisation, batching, content hashes.

Kept free of torch and Django so the ONNX backend can use them in a torch-free request path.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: A backend's batch size when its constructor is not given one (the product passes settings.EMBED_BATCH_SIZE).
DEFAULT_BATCH_SIZE = 32


def l2_normalize(x: np.ndarray) -> np.ndarray:
    """Return float32 rows of unit length (zero rows stay zero instead of becoming NaN)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return (x / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def as_sequence(items: Iterable[T]) -> Sequence[T]:
    """``items`` itself when it can be sliced, so a lazy sequence (images read from disk per batch)
    is never loaded whole; anything else (a generator) as a list."""
    return items if isinstance(items, Sequence) else list(items)


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Yield consecutive slices of at most ``size`` items."""
    size = max(1, int(size))
    for start in range(0, len(items), size):
        yield items[start : start + size]


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Full hex SHA-256 of a file's content (model ids must change when weights change)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def empty_embeddings(dim: int) -> np.ndarray:
    """A (0, dim) float32 array: encoding nothing is valid and returns nothing."""
    return np.zeros((0, dim), dtype=np.float32)


def encode_in_batches(items: Sequence[T], batch_size: int, dim: int, to_tensor, encode, device) -> np.ndarray:
    """The batching loop the torch backends share: items -> tensors -> model -> L2-normalised float32 rows.

    ``to_tensor`` turns a batch of items into the model's input, ``encode`` runs the tower.
    """
    import torch

    if len(items) == 0:
        return empty_embeddings(dim)
    out = []
    with torch.inference_mode():
        for chunk in batched(as_sequence(items), batch_size):
            out.append(encode(to_tensor(list(chunk)).to(device)).float().cpu().numpy())
    return l2_normalize(np.concatenate(out))

"""The one interface every CLIP-family backend implements.

The rest of the product (ingestion, index, search, evaluation) only talks to this protocol, so a
model can be swapped by configuration. Backends know nothing of Django.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from apps.core.errors import ModelUnavailableError

__all__ = ["Embedder", "ModelUnavailableError"]


@runtime_checkable
class Embedder(Protocol):
    """Maps images and texts into one L2-normalised embedding space."""

    #: Stable identifier stored with every index built by this model, e.g. "open_clip:ViT-B-32/openai".
    model_id: str
    #: Embedding dimension.
    dim: int

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Return float32 array (len(images), dim), rows L2-normalised. Batches internally."""
        ...

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Return float32 array (len(texts), dim), rows L2-normalised."""
        ...

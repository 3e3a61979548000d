"""CLIP-family embedders behind one protocol; ask ``get_embedder(spec)`` for one."""
from .base import Embedder, ModelUnavailableError
from .registry import get_embedder, list_known_models

__all__ = ["Embedder", "ModelUnavailableError", "get_embedder", "list_known_models"]

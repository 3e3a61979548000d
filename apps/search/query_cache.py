"""A bounded, thread-safe LRU cache of text-query embeddings.

Why: the same queries come back (paging through an answer, the "by video" view of the same search, the
timeline strip of the video page, popular searches), and each costs a text-tower pass of its prompt
templates, the largest part of a search's time. A cached vector is the one the model gave the first time,
so an answer from the cache is the answer without it.

The key names the embedder (its model id and its backend class: the torch and the ONNX tower of one model
agree only to about 1e-6, and a test comparing them must compare two real passes) and the exact texts
embedded, which spell the query, its language and its template set.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np

#: Distinct queries kept per process (a 512-d vector is 2 KiB: 1024 of them are 2 MiB).
DEFAULT_SIZE = 1024


class EmbeddingCache:
    """LRU map key -> float32 vector; ``get`` returns a private copy, so no caller can change a cached vector."""

    def __init__(self, maxsize: int = DEFAULT_SIZE) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> np.ndarray | None:
        with self._lock:
            vector = self._items.get(key)
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
        return vector.copy()

    def put(self, key: Hashable, vector: np.ndarray) -> None:
        if self.maxsize <= 0:
            return
        stored = np.array(vector, dtype=np.float32, copy=True)
        stored.setflags(write=False)
        with self._lock:
            self._items[key] = stored
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._items


def embedder_key(embedder: object) -> tuple[str, str]:
    """Which embedder a cached vector came from: (model id, backend class)."""
    return str(getattr(embedder, "model_id", "")), f"{type(embedder).__module__}.{type(embedder).__qualname__}"


#: The process's cache of text-query vectors (``query.embed_text_queries``).
TEXT_QUERIES = EmbeddingCache()

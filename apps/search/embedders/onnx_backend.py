"""ONNX backend: serves an ``export_onnx`` folder with onnxruntime, no torch model in the request path.

Preprocessing is PIL + numpy (``pil_preprocess``, pixel-identical to open_clip's transform). The
tokenizer is rebuilt from open_clip's tokenizer classes; importing ``open_clip.tokenizer`` imports torch
(open_clip's package __init__ does, and the tokenizers return torch tensors), so torch is still loaded
in the process, but only to hold token ids: no torch module runs. The ``model_id`` is the source
model's, so an index built with torch is searched with ONNX and vice versa.
"""
from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .base import ModelUnavailableError
from .common import DEFAULT_BATCH_SIZE, as_sequence, batched, empty_embeddings, l2_normalize
from .pil_preprocess import PreprocessParams, preprocess_batch


def _build_tokenizer(meta: dict[str, Any], folder: Path) -> Any:
    """The same tokenizer open_clip's get_tokenizer would build, from files inside the export."""
    from open_clip.tokenizer import HFTokenizer, SimpleTokenizer

    kwargs = dict(meta.get("tokenizer_kwargs") or {})
    if meta["type"] == "hf":
        return HFTokenizer(str(folder / meta.get("path", "tokenizer")), context_length=meta["context_length"],
                           tokenizer_mode=meta.get("tokenizer_mode"), **kwargs)
    if meta["type"] == "simple":
        return SimpleTokenizer(context_length=meta["context_length"], **kwargs)
    raise ModelUnavailableError(f"unsupported tokenizer type {meta['type']!r} in {folder / 'meta.json'}")


class OnnxEmbedder:
    """Embedder over ``image.onnx`` + ``text.onnx`` + ``meta.json`` written by ``export_onnx``."""

    def __init__(self, folder: str | os.PathLike[str], *, batch_size: int = DEFAULT_BATCH_SIZE,
                 threads: int | None = None) -> None:
        import onnxruntime as ort

        self.folder = Path(folder)
        meta_path = self.folder / "meta.json"
        missing = [n for n in ("meta.json", "image.onnx", "text.onnx") if not (self.folder / n).is_file()]
        if missing:
            raise ModelUnavailableError(
                f"ONNX export folder {self.folder.resolve()} lacks {', '.join(missing)}; create it with "
                f"`python manage.py export_onnx --model SPEC --out {self.folder}`"
            )
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        self.model_id: str = self.meta["model_id"]
        self.dim: int = int(self.meta["dim"])
        self.batch_size = batch_size
        self.params = PreprocessParams.from_dict(self.meta["image"])
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            opts.intra_op_num_threads = threads
        providers = ["CPUExecutionProvider"]
        self._image = ort.InferenceSession(str(self.folder / "image.onnx"), opts, providers=providers)
        self._text = ort.InferenceSession(str(self.folder / "text.onnx"), opts, providers=providers)
        self.tokenizer = _build_tokenizer(self.meta["tokenizer"], self.folder)

    def tokenize(self, texts: Sequence[str]) -> np.ndarray:
        """Token ids int64 (N, context_length) as numpy."""
        return np.asarray(self.tokenizer(list(texts)), dtype=np.int64)

    def encode_pixels(self, pixels: np.ndarray) -> np.ndarray:
        """Already-preprocessed float32 (N,3,H,W) -> normalised embeddings (used by benchmarks, explain)."""
        return l2_normalize(self._image.run(None, {"pixels": np.ascontiguousarray(pixels, np.float32)})[0])

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        if len(images) == 0:
            return empty_embeddings(self.dim)
        chunks = batched(as_sequence(images), self.batch_size)
        out = [self.encode_pixels(preprocess_batch(chunk, self.params)) for chunk in chunks]
        return l2_normalize(np.concatenate(out))

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) == 0:
            return empty_embeddings(self.dim)
        chunks = batched(list(texts), self.batch_size)
        out = [self._text.run(None, {"tokens": self.tokenize(chunk)})[0] for chunk in chunks]
        return l2_normalize(np.concatenate(out))

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.model_id!r}, dim={self.dim}, folder={str(self.folder)!r})"

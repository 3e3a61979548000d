"""ONNX backend: serves an ``export_onnx`` folder with onnxruntime, no torch model in the request path.

Preprocessing is PIL + numpy (``pil_preprocess``, pixel-identical to open_clip's transform). The CLIP BPE
tokenizer is ``clip_tokenizer`` (open_clip's algorithm without torch), so serving an export of an open_clip
model with its own text tower never imports torch. A transformers tokenizer (XLM-R) is still open_clip's
``HFTokenizer``, and transformers imports torch: that process loads torch, but only to hold token ids.
The ``model_id`` is the source model's, so an index built with torch is searched with ONNX and vice versa.

An export made with a dynamic sequence axis (``meta["text"]["trim"]``, see ``text_trim.py``) gets token ids
cut to the batch's real length, as the torch backend does: same vectors, a fraction of the 77-token cost.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from . import clip_tokenizer
from .base import ModelUnavailableError
from .common import DEFAULT_BATCH_SIZE, as_sequence, batched, empty_embeddings, l2_normalize
from .pil_preprocess import PreprocessParams, preprocess_batch


def _build_tokenizer(meta: dict[str, Any], folder: Path) -> Any:
    """The same tokenizer open_clip's get_tokenizer would build, from files inside the export (torch-free
    for the CLIP BPE in its default mode)."""
    kwargs = dict(meta.get("tokenizer_kwargs") or {})
    if meta["type"] == "simple" and clip_tokenizer.supports(kwargs):
        return clip_tokenizer.SimpleTokenizer(context_length=meta["context_length"], **kwargs)
    from open_clip.tokenizer import HFTokenizer, SimpleTokenizer

    if meta["type"] == "hf":
        return HFTokenizer(str(folder / meta.get("path", "tokenizer")), context_length=meta["context_length"],
                           tokenizer_mode=meta.get("tokenizer_mode"), **kwargs)
    if meta["type"] == "simple":
        return SimpleTokenizer(context_length=meta["context_length"], **kwargs)
    raise ModelUnavailableError(f"unsupported tokenizer type {meta['type']!r} in {folder / 'meta.json'}")


def trimmed_tokens(tokens: np.ndarray, text_meta: dict[str, Any]) -> np.ndarray:
    """Token ids cut to the columns the exported text tower needs (``text_trim.py``'s rule, in numpy)."""
    trim = text_meta.get("trim")
    if trim == "causal":
        eos = text_meta.get("eos_id")
        read = (tokens == eos).argmax(axis=-1) if eos is not None else tokens.argmax(axis=-1)
        return tokens[:, : int(read.max()) + 1]
    if trim == "masked":
        real = np.flatnonzero((tokens != text_meta["pad_id"]).any(axis=0))
        return tokens[:, : int(real.max()) + 1 if len(real) else 1]
    return tokens


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
        self._options = ort.SessionOptions()
        self._options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            self._options.intra_op_num_threads = threads
        self._sessions: dict[str, Any] = {}
        self._sessions_lock = threading.Lock()
        self.tokenizer = _build_tokenizer(self.meta["tokenizer"], self.folder)
        self.text_meta: dict[str, Any] = dict(self.meta.get("text") or {})

    def _session(self, tower: str) -> Any:
        """The tower's onnxruntime session, created on first use: a text search never loads the image graph
        (a quarter to a half of a CLI search's start-up), an ingest of photos pays for the text graph only
        when it embeds text."""
        with self._sessions_lock:
            if tower not in self._sessions:
                import onnxruntime as ort

                self._sessions[tower] = ort.InferenceSession(str(self.folder / f"{tower}.onnx"), self._options,
                                                             providers=["CPUExecutionProvider"])
            return self._sessions[tower]

    @property
    def _image(self) -> Any:
        return self._session("image")

    @property
    def _text(self) -> Any:
        return self._session("text")

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
        out = [self._text.run(None, {"tokens": trimmed_tokens(self.tokenize(chunk), self.text_meta)})[0]
               for chunk in chunks]
        return l2_normalize(np.concatenate(out))

    def __repr__(self) -> str:
        return f"OnnxEmbedder({self.model_id!r}, dim={self.dim}, folder={str(self.folder)!r})"

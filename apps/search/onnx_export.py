"""Export an open_clip model's image and text towers to ONNX for torch-free serving.

Writes ``image.onnx`` (pixels float32 [N,3,H,W] -> embedding [N,D]), ``text.onnx`` (tokens int64
[N,L] -> embedding [N,D]) and ``meta.json`` (source model id, tokenizer, preprocessing), plus a
``tokenizer/`` folder for transformers tokenizers so serving needs no hub access. Both graphs have a
dynamic batch axis and output L2-normalised rows.

torch 2.14's ``torch.onnx.export`` defaults to the dynamo exporter, which needs ``onnxscript`` (not a
dependency here); the TorchScript exporter (``dynamo=False``) still works for CLIP towers and is used.
The export is verified against torch before it is published (atomically: temp folder, then rename).
"""
from __future__ import annotations

import contextlib
import copy
import json
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from apps.search.embedders.openclip_backend import OpenClipEmbedder
from apps.search.embedders.text_trim import CAUSAL, MASKED, encode_text_causal, trim_mode, trimmed_length

OPSET = 17
META_VERSION = 1


class _ImageTower(torch.nn.Module):
    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.model.encode_image(pixels), dim=-1)


class _ExportAttention(torch.nn.Module):
    """``nn.MultiheadAttention`` (self-attention, batch first) written with shapes the tracer keeps symbolic.

    torch's own attention bakes the traced sequence length into its reshapes, so a graph traced at one
    length fails at any other; here every reshape takes the length as -1. Same weights, same arithmetic.
    """

    def __init__(self, mha: torch.nn.MultiheadAttention) -> None:
        super().__init__()
        self.heads = mha.num_heads
        self.in_proj_weight, self.in_proj_bias, self.out_proj = mha.in_proj_weight, mha.in_proj_bias, mha.out_proj

    def forward(self, q_x: torch.Tensor, k_x: torch.Tensor, v_x: torch.Tensor, need_weights: bool = False,
                attn_mask: torch.Tensor | None = None) -> tuple[torch.Tensor, None]:
        batch, width = q_x.shape[0], q_x.shape[2]
        q, k, v = torch.nn.functional.linear(q_x, self.in_proj_weight, self.in_proj_bias).chunk(3, dim=-1)
        q, k, v = (t.reshape(batch, -1, self.heads, width // self.heads).transpose(1, 2) for t in (q, k, v))
        scores = (q * (width // self.heads) ** -0.5) @ k.transpose(-2, -1)
        if attn_mask is not None:
            scores = scores + attn_mask
        out = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(batch, -1, width)
        return self.out_proj(out), None


def _exportable_transformer(model: torch.nn.Module) -> torch.nn.Module | None:
    """A copy of the causal text transformer with :class:`_ExportAttention`, or None when its blocks are
    not the plain self-attention this knows (the export then keeps the fixed context length)."""
    blocks = getattr(model.transformer, "resblocks", [])
    if not blocks or getattr(model.transformer, "batch_first", False) is not True:
        return None
    for block in blocks:
        attn = getattr(block, "attn", None)
        if (type(attn) is not torch.nn.MultiheadAttention or not attn.batch_first or not attn._qkv_same_embed_dim
                or attn.in_proj_bias is None or hasattr(block, "ln_1_kv")):
            return None
    transformer = copy.deepcopy(model.transformer)
    for block in transformer.resblocks:
        block.attn = _ExportAttention(block.attn)
    return transformer.eval()


class _TextTower(torch.nn.Module):
    """The text tower; for a causal open_clip tower it slices the positional embedding and mask to the
    input's length, so the graph takes tokens of any length (the backend cuts them to the real length)."""

    def __init__(self, model: torch.nn.Module, transformer: torch.nn.Module | None) -> None:
        super().__init__()
        self.model = model
        self.transformer = transformer

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.transformer is None:
            x = self.model.encode_text(tokens)
        else:
            x = encode_text_causal(self.model, tokens, transformer=self.transformer)
        return torch.nn.functional.normalize(x, dim=-1)


def _text_trim_meta(model: torch.nn.Module, trim: str | None) -> dict[str, Any]:
    """How the ONNX backend cuts token ids to their real length (``text_trim.py``), numpy-side."""
    if trim == CAUSAL:
        eos = getattr(model, "text_eos_id", None) if getattr(model, "text_pool_type", "argmax") == "eos" else None
        return {"trim": CAUSAL, "eos_id": eos}
    if trim == MASKED:
        return {"trim": MASKED, "pad_id": int(model.text.config.pad_token_id)}
    return {"trim": None}


def _tokenizer_meta(embedder: OpenClipEmbedder, out: Path) -> dict[str, Any]:
    """Describe the tokenizer so the ONNX backend can rebuild it offline (copying HF tokenizer files)."""
    import open_clip
    from open_clip.tokenizer import HFTokenizer, SimpleTokenizer

    tok = embedder.tokenizer
    text_cfg = dict((open_clip.get_model_config(embedder.arch) or {}).get("text_cfg", {}))
    common = {"context_length": int(tok.context_length), "tokenizer_kwargs": text_cfg.get("tokenizer_kwargs", {})}
    if isinstance(tok, HFTokenizer):
        tok.tokenizer.save_pretrained(str(out / "tokenizer"))
        return {"type": "hf", "name": text_cfg.get("hf_tokenizer_name", ""), "path": "tokenizer",
                "tokenizer_mode": text_cfg.get("tokenizer_mode"), **common}
    if type(tok) is SimpleTokenizer:
        return {"type": "simple", "name": "open_clip.SimpleTokenizer (bpe_simple_vocab_16e6)", **common}
    raise NotImplementedError(f"ONNX export does not support the {type(tok).__name__} tokenizer yet")


def export_onnx(embedder: OpenClipEmbedder, out_dir: str | Path, *, opset: int = OPSET,
                verify_images: list | None = None, min_cosine: float = 0.999) -> Path:
    """Export ``embedder`` into ``out_dir`` (replaced atomically); return the folder.

    Verifies both graphs against torch on a few inputs (``verify_images`` or random pixels) and refuses
    to publish an export whose cosine similarity to torch falls below ``min_cosine``.
    """
    import onnxruntime as ort

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    model = embedder.model.eval()
    size = embedder.preprocess_cfg.get("size", 224)
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        pixels = torch.randn(2, 3, h, w, generator=torch.Generator().manual_seed(0))
        tokens = embedder.tokenizer(["a photo of a cat", "кадр из видео: собака"])
        trim = trim_mode(model)
        transformer = _exportable_transformer(model) if trim == CAUSAL else None
        if trim == CAUSAL and transformer is None:
            trim = None
        # A dynamic sequence axis when the tower may run on trimmed tokens: traced at the real length, so no
        # shape of the trace is the context length by accident.
        text_axes = {0: "batch", 1: "sequence"} if trim else {0: "batch"}
        with torch.inference_mode(False), _no_mha_fastpath(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings about python control flow on constant shapes
            # Wrappers in eval mode: the exporter restores the *wrapper's* mode afterwards, recursively, and a
            # fresh nn.Module is in training mode, which would leave the served model with dropout on.
            torch.onnx.export(_ImageTower(model).eval(), (pixels,), str(tmp / "image.onnx"), dynamo=False,
                              input_names=["pixels"], output_names=["embedding"], opset_version=opset,
                              dynamic_axes={"pixels": {0: "batch"}, "embedding": {0: "batch"}})
            traced = tokens[:, : trimmed_length(model, tokens, trim)] if trim else tokens
            torch.onnx.export(_TextTower(model, transformer).eval(), (traced,), str(tmp / "text.onnx"), dynamo=False,
                              input_names=["tokens"], output_names=["embedding"], opset_version=opset,
                              dynamic_axes={"tokens": text_axes, "embedding": {0: "batch"}})
        model.eval()
        meta = {
            "meta_version": META_VERSION,
            "model_id": embedder.model_id,
            "arch": embedder.arch,
            "dim": embedder.dim,
            "opset": opset,
            "image": {"input": "pixels", **_image_meta(embedder.preprocess_cfg)},
            "text": {"input": "tokens", **_text_trim_meta(model, trim)},
            "tokenizer": _tokenizer_meta(embedder, tmp),
            "exported_with": {"torch": torch.__version__, "onnxruntime": ort.__version__},
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False))
        _verify(embedder, tmp, verify_images, min_cosine)
        tmp.chmod(0o755)  # mkdtemp creates 0700; the web server and workers may run as other users
        _publish(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


@contextlib.contextmanager
def _no_mha_fastpath() -> Iterator[None]:
    """Trace nn.MultiheadAttention's plain path: its eval/no-grad fast path
    (``aten::_native_multi_head_attention``) has no ONNX symbolic."""
    mha = torch.backends.mha
    previous = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad():
            yield
    finally:
        mha.set_fastpath_enabled(previous)


def _image_meta(cfg: dict[str, Any]) -> dict[str, Any]:
    from apps.search.embedders.pil_preprocess import PreprocessParams

    return PreprocessParams.from_dict(cfg).to_dict()


def _verify(embedder: OpenClipEmbedder, folder: Path, images: list | None, min_cosine: float) -> None:
    """Compare the fresh export with torch end to end (preprocessing and tokenizer included); texts against
    torch's full-context encode, so a trimmed graph is checked against the untrimmed model."""
    from PIL import Image

    from apps.search.embedders.common import l2_normalize
    from apps.search.embedders.onnx_backend import OnnxEmbedder

    if not images:
        rng = np.random.default_rng(0)
        images = [Image.fromarray(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) for _ in range(2)]
    texts = ["a photo of a dog", "кошка на диване", "a video frame showing a red car driving on a wet road at night"]
    onnx = OnnxEmbedder(folder)
    with torch.inference_mode():
        full = l2_normalize(embedder.model.encode_text(embedder.tokenizer(texts).to(embedder.device)).float().cpu().numpy())
    cos_img = (onnx.encode_images(images) * embedder.encode_images(images)).sum(axis=1).min()
    cos_txt = (onnx.encode_texts(texts) * full).sum(axis=1).min()
    if min(cos_img, cos_txt) < min_cosine:
        raise RuntimeError(f"ONNX export disagrees with torch: cosine image {cos_img:.5f}, text {cos_txt:.5f}")


def _publish(tmp: Path, out_dir: Path) -> None:
    """Swap the finished export into place; a reader never sees a half-written folder."""
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        out_dir.rename(old)
    tmp.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)

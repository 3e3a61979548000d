"""Queries of a collection are encoded by its model's ONNX export whenever ``MODEL_DIR/onnx/`` holds one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from apps.search.embedders.onnx_backend import OnnxEmbedder
from apps.search.embedders.registry import get_embedder, onnx_export_for, query_embedder
from apps.search.onnx_export import export_onnx
from apps.search.query import embed_text_queries
from tests.support.random_models import tiny_checkpoint


def test_the_export_of_the_same_model_serves_its_queries(tmp_path: Path, settings) -> None:
    settings.MODEL_DIR = tmp_path / "models"
    spec = tiny_checkpoint(tmp_path / "tiny.pt", seed=11)
    torch_emb = get_embedder(spec)
    assert query_embedder(spec) is torch_emb  # no export yet
    export_onnx(get_embedder(tiny_checkpoint(tmp_path / "other.pt", seed=12)), settings.MODEL_DIR / "onnx" / "other")
    assert query_embedder(spec) is torch_emb  # an export of another model does not count
    folder = export_onnx(torch_emb, settings.MODEL_DIR / "onnx" / "tiny")
    assert onnx_export_for(torch_emb.model_id) == folder  # found although the folder was scanned before
    served = query_embedder(spec)
    assert isinstance(served, OnnxEmbedder) and served.model_id == torch_emb.model_id
    texts = ["a red car", "кошка на диване", "a man riding a bicycle down a busy street at night"]
    ours = np.stack([q.vector for q in embed_text_queries(served, texts, cache=None)])
    theirs = np.stack([q.vector for q in embed_text_queries(torch_emb, texts, cache=None)])
    assert (ours * theirs).sum(axis=1).min() >= 0.9999
    settings.ONNX_QUERIES = False
    assert query_embedder(spec) is torch_emb

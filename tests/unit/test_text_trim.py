"""Text at its real token length gives the full-context vector (text_trim.py), at a fraction of the cost.

Parity is checked on what search uses, unit vectors: each trimmed row of unit length, and its cosine with the
full 77-token encode of the same text. A test also checks that trimming really happens (a short batch runs on
fewer positions), so a broken trim rule cannot pass as "parity" by silently encoding at full length.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from apps.search.embedders.common import l2_normalize
from apps.search.embedders.text_trim import CAUSAL, MASKED, encode_text_trimmed, trim_mode, trimmed_length

TEXTS = ["a red car", "a photo of a red car", "кадр из видео: красная машина", "x",
         "a video frame showing a man riding a red bicycle down a busy street at night in the rain " * 3]


def full_context(model, tokens: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return l2_normalize(model.encode_text(tokens).float().numpy())


def trimmed(model, tokens: torch.Tensor) -> np.ndarray:
    with torch.inference_mode():
        return l2_normalize(encode_text_trimmed(model, tokens, trim_mode(model)).float().numpy())


def assert_same_vectors(got: np.ndarray, ref: np.ndarray) -> None:
    assert got.shape == ref.shape
    assert np.abs(np.linalg.norm(got, axis=1) - 1).max() < 1e-4
    cosine = (got * ref).sum(axis=1) / np.linalg.norm(got, axis=1) / np.linalg.norm(ref, axis=1)
    assert cosine.min() >= 0.9999, cosine


def check_model(model, tokenizer, mode: str) -> None:
    assert trim_mode(model) == mode
    for batch in ([TEXTS[0]], TEXTS[:4], TEXTS, [TEXTS[3], TEXTS[4]]):
        tokens = tokenizer(batch)
        assert_same_vectors(trimmed(model, tokens), full_context(model, tokens))
    short = tokenizer([TEXTS[0], TEXTS[1], TEXTS[3]])
    assert trimmed_length(model, short, mode) < 24 < short.shape[1]  # the short batch does run trimmed
    # each text alone, as a query is encoded, against its row of a full-length batch
    alone = np.concatenate([trimmed(model, tokenizer([t])) for t in TEXTS])
    assert_same_vectors(alone, full_context(model, tokenizer(TEXTS)))


def test_testmodel_trimmed_equals_full_context():
    from apps.search.testmodel import load_testmodel

    embedder = load_testmodel()
    check_model(embedder.model, embedder.tokenizer, CAUSAL)
    # and through the embedder itself, as queries are encoded
    assert_same_vectors(embedder.encode_texts(TEXTS), full_context(embedder.model, embedder.tokenizer(TEXTS)))


def test_random_vit_b_32_trimmed_equals_full_context():
    import open_clip

    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None).eval()
    check_model(model, open_clip.get_tokenizer("ViT-B-32"), CAUSAL)


def test_hf_text_tower_trimmed_equals_full_context(tmp_path):
    """The xlm-roberta type (multilingual models): padding is masked, so tokens are cut after the last real one."""
    from apps.search.embedders.registry import get_embedder
    from tests.support.random_models import random_checkpoint, register_tiny_hf_config, tiny_hf_text_folder

    arch = register_tiny_hf_config(tiny_hf_text_folder(tmp_path / "hf"))
    checkpoint = random_checkpoint(arch, tmp_path / "tiny-hf.pt", seed=2, pretrained_text=False)
    embedder = get_embedder(f"open_clip:{arch}@{checkpoint}")
    check_model(embedder.model, embedder.tokenizer, MASKED)


def test_towers_that_read_padding_are_not_trimmed():
    """A bidirectional tower (no causal mask) or one that reads the last position sees the padding: full length."""
    import open_clip

    model = open_clip.create_model("ViT-B-32", pretrained=None)
    model.attn_mask = None
    assert trim_mode(model) is None
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    model.text_pool_type = "last"
    assert trim_mode(model) is None
    tokens = open_clip.get_tokenizer("ViT-B-32")(["a red car"])
    with torch.inference_mode():
        torch.testing.assert_close(encode_text_trimmed(model, tokens, None), model.encode_text(tokens))


@pytest.mark.parametrize("pool", ["argmax", "eos"])
def test_trimmed_length_ends_at_the_last_read_position(pool):
    class Model:
        text_pool_type = pool
        text_eos_id = 7

    tokens = torch.tensor([[5, 9, 7, 0, 0, 0], [5, 3, 4, 9, 7, 0]]) if pool == "eos" else \
        torch.tensor([[5, 9, 49407, 0, 0, 0], [5, 3, 4, 9, 49407, 0]])
    assert trimmed_length(Model(), tokens, CAUSAL) == 5

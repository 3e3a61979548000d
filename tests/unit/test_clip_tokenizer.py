"""The torch-free CLIP tokenizer gives open_clip's token ids, exactly (the ONNX backend relies on it)."""
from __future__ import annotations

import numpy as np
import pytest

from apps.search.embedders import clip_tokenizer

TEXTS = [
    "a red car", "A Photo of a RED car!!", "кадр из видео: красная машина", "фото: ёжик в тумане", "12:30 t-shirt C++",
    "  lots   of   spaces  ", "don't we'll it's", "emoji 🚗🚦 and ünïcödé", "&amp; html &lt;b&gt;", "", "x " * 100,
    "日本語のテキスト", "a_b_c under_score", "supercalifragilisticexpialidocious antidisestablishmentarianism",
]


@pytest.mark.parametrize("clean", ["lower", "whitespace", "canonicalize"])
def test_ids_equal_open_clip(clean):
    from open_clip.tokenizer import SimpleTokenizer

    ours = clip_tokenizer.SimpleTokenizer(clean=clean)(TEXTS)
    theirs = SimpleTokenizer(clean=clean)(TEXTS).numpy()
    assert ours.dtype == np.int64 and ours.shape == (len(TEXTS), 77)
    np.testing.assert_array_equal(ours, theirs)


def test_context_length_truncates_with_end_token():
    ids = clip_tokenizer.SimpleTokenizer(context_length=8)(["one two three four five six seven eight nine"])
    assert ids.shape == (1, 8) and ids[0, -1] == 49407 and ids[0, 0] == 49406


def test_supports_only_the_default_algorithm():
    assert clip_tokenizer.supports({}) and clip_tokenizer.supports({"clean": "canonicalize"})
    assert not clip_tokenizer.supports({"reduction_mask": "simple"})
    assert not clip_tokenizer.supports({"additional_special_tokens": ["<x>"]})

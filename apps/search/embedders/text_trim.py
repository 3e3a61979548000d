"""Encode text at the batch's real token length instead of the full 77-token context.

Why: a query is a handful of tokens, yet open_clip pads every text to the context length and the text
transformer pays for all 77 positions (attention is quadratic in them). The padding changes nothing:

- open_clip's own CLIP text tower is *causal* and reads one position (the EOT token, argmax of the ids,
  or the tokenizer's EOS), so positions after the last EOT of the batch can never reach what is read.
  Dropping them needs the positional embedding and the causal mask sliced to the kept length, which
  ``model.encode_text`` does not do, hence :func:`encode_text_causal`.
- A transformers text tower (XLM-R in the multilingual models) masks padding with its attention mask,
  and its mean or CLS pooler ignores masked positions, so the tokens are cut after the last real one.

Any other tower (bidirectional without a mask, "last" pooling, a max pooler) is encoded at full length.
:func:`trim_mode` decides; the parity tests compare trimmed and full-length vectors.
"""
from __future__ import annotations

from typing import Any

import torch

#: How a model's text tokens may be shortened: "causal" (open_clip CLIP), "masked" (HF), or None.
CAUSAL = "causal"
MASKED = "masked"
_MASK_SAFE_POOLERS = ("MeanPooler", "ClsPooler", "ClsLastHiddenStatePooler")


def trim_mode(model: Any) -> str | None:
    """Whether (and how) ``model``'s text tower may be run on trimmed tokens."""
    if all(hasattr(model, name) for name in ("token_embedding", "positional_embedding", "transformer", "ln_final")):
        causal = getattr(model, "attn_mask", None) is not None
        return CAUSAL if causal and getattr(model, "text_pool_type", "argmax") in ("argmax", "eos") else None
    text = getattr(model, "text", None)
    if type(text).__name__ == "HFTextEncoder" and type(getattr(text, "pooler", None)).__name__ in _MASK_SAFE_POOLERS:
        return MASKED
    return None


def read_positions(model: Any, tokens: torch.Tensor) -> torch.Tensor:
    """Per row, the position a causal tower reads (its EOT/EOS)."""
    if getattr(model, "text_pool_type", "argmax") == "eos":
        return (tokens == model.text_eos_id).int().argmax(dim=-1)
    return tokens.argmax(dim=-1)


def trimmed_length(model: Any, tokens: torch.Tensor, mode: str) -> int:
    """How many leading columns of ``tokens`` the tower needs to give the full-length result."""
    width = int(tokens.shape[1])
    if mode == CAUSAL:
        return min(width, int(read_positions(model, tokens).max()) + 1)
    pad = model.text.config.pad_token_id
    real = (tokens != pad).any(dim=0).nonzero()
    return min(width, int(real.max()) + 1) if len(real) else 1


def encode_text_causal(model: Any, tokens: torch.Tensor, *, transformer: Any = None) -> torch.Tensor:
    """open_clip ``CLIP.encode_text`` for tokens of any length up to the context: the positional embedding
    and the causal mask are sliced to ``tokens.shape[1]`` (traced as a shape, so an ONNX export of it keeps
    the sequence axis dynamic). ``transformer``: a stand-in for ``model.transformer`` (the ONNX export's)."""
    from open_clip.transformer import text_global_pool

    length = tokens.shape[1]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = (transformer or model.transformer)(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type, eos_token_id=getattr(model, "text_eos_id", None))
    if model.text_projection is not None:
        x = model.text_projection(x) if isinstance(model.text_projection, torch.nn.Linear) else x @ model.text_projection
    return x


def encode_text_trimmed(model: Any, tokens: torch.Tensor, mode: str | None) -> torch.Tensor:
    """``model.encode_text(tokens)`` (unnormalised) computed on the batch's real length when ``mode`` allows."""
    if mode is None:
        return model.encode_text(tokens)
    tokens = tokens[:, : trimmed_length(model, tokens, mode)]
    return encode_text_causal(model, tokens) if mode == CAUSAL else model.encode_text(tokens)

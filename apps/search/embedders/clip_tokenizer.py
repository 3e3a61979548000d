"""open_clip's ``SimpleTokenizer`` (the OpenAI CLIP BPE) without torch: token ids as a numpy array.

Why: ``open_clip.tokenizer`` imports torch at module level (its tokenizers return torch tensors), and
so does the ``open_clip`` package; a process that serves an ONNX export would load torch (about 1 s and
300-400 MB) only to hold token ids. This is the same algorithm on the same vocabulary file, read from the
installed open_clip package without importing it; ``tests/unit/test_clip_tokenizer.py`` checks the ids
against open_clip's own tokenizer. Only the default mode is covered (no extra special tokens, no
reduction mask): :func:`supports` says when the ONNX backend must use open_clip's tokenizer instead.
"""
from __future__ import annotations

import gzip
import html
import importlib.util
import string
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_CONTEXT_LENGTH = 77
_CLEAN_MODES = ("lower", "whitespace", "canonicalize")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def supports(kwargs: Mapping[str, Any]) -> bool:
    """Whether tokenizer kwargs (an export's ``tokenizer_kwargs``) ask for nothing but the default algorithm."""
    return set(kwargs) <= {"clean"} and kwargs.get("clean", "lower") in _CLEAN_MODES


@lru_cache(maxsize=1)
def default_bpe() -> Path:
    """open_clip's vocabulary file, located without importing open_clip (which imports torch)."""
    spec = importlib.util.find_spec("open_clip")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("open_clip is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "bpe_simple_vocab_16e6.txt.gz"


@lru_cache(maxsize=1)
def bytes_to_unicode() -> dict[int, str]:
    """The reversible byte -> printable character table of CLIP's BPE."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b)
            cs.append(2**8 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs], strict=True))


def _pairs(word: tuple[str, ...]) -> set[tuple[str, str]]:
    return set(zip(word, word[1:], strict=False))


def _clean(text: str, mode: str) -> str:
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    if mode == "canonicalize":
        text = text.replace("_", " ").translate(_PUNCTUATION).lower()
    text = " ".join(text.split()).strip()
    return text.lower() if mode == "lower" else text


class SimpleTokenizer:
    """CLIP BPE tokenizer; ``__call__`` returns int64 (N, context_length) like open_clip's, zero-padded."""

    def __init__(self, context_length: int = DEFAULT_CONTEXT_LENGTH, clean: str = "lower",
                 bpe_path: str | Path | None = None) -> None:
        import regex

        if clean not in _CLEAN_MODES:
            raise ValueError(f"unsupported clean mode {clean!r}")
        byte_encoder = bytes_to_unicode()
        # Each merge line is "first second"; ranks are keyed by the line itself (no tuple per merge: the
        # tables are built at every process start, and this halves their cost).
        merges = gzip.open(bpe_path or default_bpe()).read().decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
        vocab = list(byte_encoder.values())
        vocab += [v + "</w>" for v in vocab]
        vocab += [m.replace(" ", "") for m in merges]
        special = ["<start_of_text>", "<end_of_text>"]
        vocab += special
        self.byte_encoder = byte_encoder
        self.encoder = dict(zip(vocab, range(len(vocab)), strict=True))
        self.bpe_ranks = dict(zip(merges, range(len(merges)), strict=True))
        self.cache = {t: t for t in special}
        self.pat = regex.compile("|".join(special) + r"""|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
                                 regex.IGNORECASE)
        self.sot_token_id, self.eot_token_id = self.encoder[special[0]], self.encoder[special[1]]
        self.context_length = context_length
        self.clean = clean

    def bpe(self, token: str) -> str:
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        pairs = _pairs(word)
        if not pairs:
            return token + "</w>"
        while True:
            bigram = min(pairs, key=lambda pair: self.bpe_ranks.get(" ".join(pair), float("inf")))
            if " ".join(bigram) not in self.bpe_ranks:
                break
            first, second = bigram
            merged: list[str] = []
            i = 0
            while i < len(word):
                try:
                    j = word.index(first, i)
                except ValueError:
                    merged.extend(word[i:])
                    break
                merged.extend(word[i:j])
                i = j
                if word[i] == first and i < len(word) - 1 and word[i + 1] == second:
                    merged.append(first + second)
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
            if len(word) == 1:
                break
            pairs = _pairs(word)
        out = " ".join(word)
        self.cache[token] = out
        return out

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for token in self.pat.findall(_clean(text, self.clean)):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            ids.extend(self.encoder[piece] for piece in self.bpe(token).split(" "))
        return ids

    def __call__(self, texts: str | Sequence[str], context_length: int | None = None) -> np.ndarray:
        texts = [texts] if isinstance(texts, str) else list(texts)
        length = context_length or self.context_length
        result = np.zeros((len(texts), length), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot_token_id, *self.encode(text), self.eot_token_id]
            if len(ids) > length:
                ids = ids[:length]
                ids[-1] = self.eot_token_id
            result[row, : len(ids)] = ids
        return result

"""Random-weight models for tests and benchmarks: real code paths, no download.

``tiny_checkpoint`` registers a very small open_clip architecture (``TINY_ARCH``) and writes a
randomly initialised checkpoint, so ``open_clip:videosearch-tiny-random@/path.pt`` exercises the same
loading, preprocessing and tokenizer path as a real model in about a second.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

TINY_ARCH = "videosearch-tiny-random"
TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 64, "head_width": 32, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def register_tiny_config() -> str:
    """Make ``TINY_ARCH`` known to open_clip (idempotent); return its name."""
    import open_clip

    if open_clip.get_model_config(TINY_ARCH) is None:
        folder = Path(tempfile.mkdtemp(prefix="vs-tiny-cfg-"))
        path = folder / f"{TINY_ARCH}.json"
        path.write_text(json.dumps(TINY_CONFIG))
        open_clip.add_model_config(path)
    return TINY_ARCH


def random_checkpoint(arch: str, path: str | Path, seed: int = 0, **model_kwargs) -> Path:
    """Write a seeded random-init state dict for an open_clip ``arch``; return the path."""
    import open_clip
    import torch

    torch.manual_seed(seed)
    model = open_clip.create_model(arch, **model_kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def tiny_checkpoint(path: str | Path, seed: int = 0) -> str:
    """Random tiny checkpoint at ``path``; return its embedder spec."""
    register_tiny_config()
    random_checkpoint(TINY_ARCH, path, seed)
    return f"open_clip:{TINY_ARCH}@{Path(path).resolve()}"

"""ruCLIP backend (ai-forever, formerly sberbank-ai): Russian text and images, via ``ruclip_compat``.

Weights: ``<model_dir>/ruclip/<name>/`` with ``bpe.model``, ``config.json``, ``pytorch_model.bin``;
when missing and the hub answers, they are downloaded there with ``hf_hub_download`` from
``ai-forever/<name>``. ``ruclip:/abs/folder`` loads any folder with those three files (model id with a
content hash). Preprocessing and tokenisation are ruclip's own processor, so embeddings match ruclip.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .base import ModelUnavailableError
from .common import DEFAULT_BATCH_SIZE, encode_in_batches, file_sha256
from .hub import hub_offline_forced, hub_reachable

RUCLIP_FILES = ("bpe.model", "config.json", "pytorch_model.bin")
RUCLIP_MODELS = (
    "ruclip-vit-base-patch32-224", "ruclip-vit-base-patch16-224", "ruclip-vit-large-patch14-224",
    "ruclip-vit-large-patch14-336", "ruclip-vit-base-patch32-384", "ruclip-vit-base-patch16-384",
)
HUB_ORGS = ("ai-forever", "sberbank-ai")  # the org was renamed; the hub redirects the old one


def _missing(folder: Path) -> list[str]:
    return [f for f in RUCLIP_FILES if not (folder / f).is_file()]


def _download(name: str, folder: Path) -> bool:
    """Fetch the three files into ``folder`` when the hub is reachable; True when complete."""
    if not hub_reachable():
        return False
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    folder.mkdir(parents=True, exist_ok=True)
    for org in HUB_ORGS:
        try:
            for filename in _missing(folder):
                hf_hub_download(repo_id=f"{org}/{name}", filename=filename, local_dir=str(folder))
            return True
        except (OSError, ValueError, EntryNotFoundError):
            continue
    return not _missing(folder)


class RuClipEmbedder:
    """Embedder over ruclip's CLIP model and RuCLIPProcessor."""

    def __init__(self, model: torch.nn.Module, processor: Any, model_id: str, *, device: str = "cpu",
                 batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.model = model.to(device).eval()
        self.processor = processor
        self.model_id = model_id
        self.device = torch.device(device)
        self.batch_size = batch_size
        self.dim = int(self.model.text_projection.shape[1])

    @classmethod
    def from_folder(cls, folder: str | os.PathLike[str], *, model_id: str | None = None, device: str = "cpu",
                    batch_size: int = DEFAULT_BATCH_SIZE) -> RuClipEmbedder:
        """Load from a folder with bpe.model, config.json and pytorch_model.bin."""
        from .ruclip_compat import ruclip_model_module, ruclip_processor_module

        folder = Path(folder)
        missing = _missing(folder)
        if missing:
            raise ModelUnavailableError(f"ruclip folder {folder.resolve()} lacks {', '.join(missing)}")
        model = ruclip_model_module().CLIP.from_pretrained(str(folder))
        processor = ruclip_processor_module().RuCLIPProcessor.from_pretrained(str(folder))
        model_id = model_id or f"ruclip:sha256:{file_sha256(folder / 'pytorch_model.bin')[:12]}"
        return cls(model, processor, model_id, device=device, batch_size=batch_size)

    @classmethod
    def from_name(cls, name: str, *, model_dir: Path, device: str = "cpu",
                  batch_size: int = DEFAULT_BATCH_SIZE) -> RuClipEmbedder:
        """``ruclip:NAME`` (local folder, then hub download) or ``ruclip:/abs/folder``."""
        if os.path.isabs(name):
            return cls.from_folder(name, device=device, batch_size=batch_size)
        folder = Path(model_dir) / "ruclip" / name
        if _missing(folder) and not _download(name, folder):
            reason = "HF_HUB_OFFLINE is set" if hub_offline_forced() else "the Hugging Face hub is unreachable"
            known = "" if name in RUCLIP_MODELS else f" ({name!r} is not a published ruclip model: {RUCLIP_MODELS})"
            raise ModelUnavailableError(
                f"ruclip model {name} is not available: {reason} and {folder.resolve()} lacks "
                f"{', '.join(_missing(folder))}{known}.\n"
                f"Download {', '.join(RUCLIP_FILES)} from https://huggingface.co/ai-forever/{name} "
                f"(e.g. `huggingface-cli download ai-forever/{name} {' '.join(RUCLIP_FILES)} "
                f"--local-dir {folder.resolve()}`) into {folder.resolve()}/ and select it with "
                f"VIDEOSEARCH_EMBEDDER=ruclip:{name}."
            )
        return cls.from_folder(folder, model_id=f"ruclip:{name}", device=device, batch_size=batch_size)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return encode_in_batches(images, self.batch_size, self.dim,
                                 lambda chunk: self.processor(images=chunk)["pixel_values"],
                                 self.model.encode_image, self.device)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return encode_in_batches(texts, self.batch_size, self.dim,
                                 lambda chunk: self.processor(text=chunk)["input_ids"],
                                 self.model.encode_text, self.device)

    def __repr__(self) -> str:
        return f"RuClipEmbedder({self.model_id!r}, dim={self.dim}, device={self.device})"

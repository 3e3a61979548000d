"""open_clip backend: any open_clip architecture with a pretrained tag or a local checkpoint.

Weights are resolved in this order, so a machine without network never waits on the hub:
1. ``<model_dir>/open_clip/<arch>/<tag>/`` (a checkpoint file, plus the Hugging Face text-model folder
   for architectures whose text tower is a transformers model such as xlm-roberta);
2. the local Hugging Face cache;
3. a hub download, only when the hub answers a 2 s probe (see ``hub.py``).
If none works, ``ModelUnavailableError`` says which files to fetch and where to put them.
"""
from __future__ import annotations

import copy
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .base import ModelUnavailableError
from .common import (
    DEFAULT_BATCH_SIZE,
    encode_in_batches,
    file_sha256,
)
from .hub import cached_file, fetch_file, hub_offline_forced, hub_reachable
from .text_trim import encode_text_trimmed, trim_mode

log = logging.getLogger(__name__)

#: File names open_clip publishes on the hub, best first.
HUB_WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")
#: Checkpoint names we accept in a local folder, best first (then any *.safetensors/*.bin/*.pt/*.pth).
LOCAL_WEIGHT_FILES = HUB_WEIGHT_FILES + ("model.safetensors", "pytorch_model.bin", "model.pt", "model.pth")
#: Files a transformers text tower and its tokenizer need (config for the architecture, tokenizer files).
HF_TEXT_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "sentencepiece.bpe.model")
HF_TEXT_REQUIRED = ("config.json",)


def _find_local_checkpoint(folder: Path) -> Path | None:
    """The checkpoint file in a local weights folder, preferring open_clip's own names."""
    if not folder.is_dir():
        return None
    for name in LOCAL_WEIGHT_FILES:
        if (folder / name).is_file():
            return folder / name
    for pattern in ("*.safetensors", "*.bin", "*.pt", "*.pth"):
        found = sorted(folder.glob(pattern))
        if found:
            return found[0]
    return None


def _hub_repo_and_file(tag_cfg: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """(repo id, candidate file names) from an open_clip pretrained entry such as 'org/repo/' or 'org/repo/f.bin'."""
    hf_hub = tag_cfg.get("hf_hub", "")
    if not hf_hub:
        return None
    repo_id, filename = os.path.split(hf_hub)
    if filename:
        stem, ext = os.path.splitext(filename)
        names = ((stem + ".safetensors",) if ext in (".bin", ".pth") else ()) + (filename,)
        return repo_id, names
    return repo_id, HUB_WEIGHT_FILES


def _hf_text_name(model_cfg: dict[str, Any]) -> str | None:
    """Name of the transformers model behind the text tower (e.g. 'xlm-roberta-base'), if any."""
    text_cfg = model_cfg.get("text_cfg", {})
    return text_cfg.get("hf_model_name") or text_cfg.get("hf_tokenizer_name") or None


def _hf_local_folder(name: str, weights_folder: Path) -> Path | None:
    """A folder with the transformers config/tokenizer: the name itself when it is a local folder, next to
    the weights, else in the HF cache."""
    if Path(name).is_absolute() and (Path(name) / "config.json").is_file():
        return Path(name)
    local = weights_folder / name.split("/")[-1]
    if all((local / f).is_file() for f in HF_TEXT_REQUIRED):
        return local
    for repo in (name, f"FacebookAI/{name}") if "/" not in name else (name,):
        config = cached_file(repo, "config.json")
        if config and (cached_file(repo, "tokenizer.json") or cached_file(repo, "sentencepiece.bpe.model")):
            return Path(config).parent
    return None


def _unavailable_message(arch: str, tag: str, folder: Path, hub: tuple[str, tuple[str, ...]] | None,
                         url: str, hf_name: str | None, reason: str) -> str:
    """Spell out exactly what to download, where to put it and how to select the model."""
    lines = [f"open_clip model {arch}/{tag} is not available: {reason}."]
    if hub:
        repo, names = hub
        lines.append(
            f"Download ONE of {', '.join(names)} from https://huggingface.co/{repo} "
            f"(e.g. `huggingface-cli download {repo} {names[-1]} --local-dir {folder.resolve()}`)"
        )
    elif url:
        lines.append(f"Download {url}")
    lines.append(f"and put it in {folder.resolve()}/")
    if hf_name:
        sub = folder.resolve() / hf_name.split("/")[-1]
        repo = hf_name if "/" in hf_name else f"FacebookAI/{hf_name}"
        lines.append(
            f"The text tower is the transformers model '{hf_name}': also download {', '.join(HF_TEXT_FILES)} "
            f"from https://huggingface.co/{repo} into {sub}/"
        )
    lines.append(
        f"Then select it with VIDEOSEARCH_EMBEDDER=open_clip:{arch}/{tag} (the folder root is VIDEOSEARCH_MODEL_DIR), "
        f"or point at any checkpoint with VIDEOSEARCH_EMBEDDER=open_clip:{arch}@/abs/path/checkpoint.pt."
    )
    return "\n".join(lines)


class OpenClipEmbedder:
    """Embedder over an open_clip model; the same preprocess/tokenizer open_clip itself uses."""

    def __init__(self, model: torch.nn.Module, preprocess: Any, tokenizer: Any, model_id: str, *,
                 arch: str, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE,
                 hf_text_path: str | None = None) -> None:
        self.model = model.to(device).eval()
        self.preprocess = preprocess
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.arch = arch
        self.device = torch.device(device)
        self.batch_size = batch_size
        #: Local folder of the transformers text model/tokenizer when it came from disk (ONNX export copies it).
        self.hf_text_path = hf_text_path
        #: How texts are cut to their real token length (text_trim.py); None: always the full context.
        self.text_trim = trim_mode(self.model)
        with torch.inference_mode():
            probe = self.model.encode_text(self.tokenizer(["probe"]).to(self.device))
        self.dim = int(probe.shape[-1])

    # -- construction -------------------------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, arch: str, tag: str, *, model_dir: Path, device: str = "cpu",
                        batch_size: int = DEFAULT_BATCH_SIZE) -> OpenClipEmbedder:
        """Load ``arch`` with the weights open_clip publishes under ``tag`` (local folder first, then hub)."""
        import open_clip
        from open_clip.pretrained import get_pretrained_cfg

        model_cfg = open_clip.get_model_config(arch)
        if model_cfg is None:
            raise ValueError(f"unknown open_clip architecture {arch!r}; known: {', '.join(open_clip.list_models())}")
        tag_cfg = get_pretrained_cfg(arch, tag)
        folder = Path(model_dir) / "open_clip" / arch / tag
        hub = _hub_repo_and_file(tag_cfg) if tag_cfg else None
        hf_name = _hf_text_name(model_cfg)

        checkpoint = _find_local_checkpoint(folder)
        if checkpoint is None and hub:
            repo, names = hub
            checkpoint = next((Path(p) for n in names if (p := cached_file(repo, n))), None)
            if checkpoint is None and hub_reachable():
                checkpoint = next((Path(p) for n in names if (p := fetch_file(repo, n))), None)
        if checkpoint is None and not tag_cfg:
            raise ValueError(
                f"{tag!r} is not a pretrained tag of {arch} (known: "
                f"{', '.join(open_clip.list_pretrained_tags_by_model(arch)) or 'none'}) and no checkpoint is in {folder}"
            )

        hf_path: Path | None = None
        if hf_name:
            hf_path = _hf_local_folder(hf_name, folder)
            if hf_path is None and not hub_reachable():
                checkpoint = None  # the text tower cannot be built offline either
        if checkpoint is None:
            reason = "HF_HUB_OFFLINE is set" if hub_offline_forced() else (
                "the Hugging Face hub is unreachable" if not hub_reachable() else "the download failed")
            raise ModelUnavailableError(
                _unavailable_message(arch, tag, folder, hub, tag_cfg.get("url", ""), hf_name,
                                     reason + " and no local copy was found"))
        return cls._build(arch, str(checkpoint), model_id=f"open_clip:{arch}/{tag}", tag_cfg=tag_cfg,
                          hf_path=hf_path, device=device, batch_size=batch_size)

    @classmethod
    def from_checkpoint(cls, arch: str, checkpoint: str | os.PathLike[str], *, device: str = "cpu",
                        batch_size: int = DEFAULT_BATCH_SIZE, model_id: str | None = None,
                        model_dir: Path | None = None) -> OpenClipEmbedder:
        """Load ``arch`` from a local checkpoint; the model id carries the file's content hash."""
        path = Path(checkpoint)
        if not path.is_file():
            raise ModelUnavailableError(f"checkpoint {path} does not exist (spec open_clip:{arch}@{path})")
        import open_clip

        model_cfg = open_clip.get_model_config(arch)
        if model_cfg is None:
            raise ValueError(f"unknown open_clip architecture {arch!r}; known: {', '.join(open_clip.list_models())}")
        hf_path = None
        hf_name = _hf_text_name(model_cfg)
        if hf_name:
            hf_path = _hf_local_folder(hf_name, path.parent)
            if hf_path is None and not hub_reachable():
                raise ModelUnavailableError(
                    f"{arch}'s text tower is the transformers model '{hf_name}': put {', '.join(HF_TEXT_FILES)} "
                    f"from https://huggingface.co/{hf_name} into {path.parent / hf_name.split('/')[-1]}/"
                )
        model_id = model_id or f"open_clip:{arch}@sha256:{file_sha256(path)[:12]}"
        return cls._build(arch, str(path), model_id=model_id, tag_cfg={}, hf_path=hf_path,
                          device=device, batch_size=batch_size)

    @classmethod
    def _build(cls, arch: str, checkpoint: str, *, model_id: str, tag_cfg: dict[str, Any],
               hf_path: Path | None, device: str, batch_size: int) -> OpenClipEmbedder:
        import open_clip
        from open_clip.tokenizer import DEFAULT_CONTEXT_LENGTH, HFTokenizer
        from open_clip.transform import PreprocessCfg, image_transform_v2

        kwargs: dict[str, Any] = {}
        model_cfg = copy.deepcopy(open_clip.get_model_config(arch))
        text_cfg = model_cfg["text_cfg"]
        if hf_path is not None:
            # Point the transformers text tower at the local folder so nothing is fetched from the hub.
            text_cfg["hf_model_name"] = str(hf_path)
            text_cfg["hf_tokenizer_name"] = str(hf_path)
            # A text_cfg override replaces open_clip's own, including the flag that stops the text tower
            # from loading its separate pretrained weights: the full checkpoint provides them.
            text_cfg["hf_model_pretrained"] = False
            kwargs["text_cfg"] = text_cfg
        for key, arg in (("mean", "image_mean"), ("std", "image_std"),
                         ("interpolation", "image_interpolation"), ("resize_mode", "image_resize_mode")):
            if key in tag_cfg:
                kwargs[arg] = tag_cfg[key]
        try:
            model = open_clip.create_model(
                arch, pretrained=checkpoint, device=device,
                force_quick_gelu=bool(tag_cfg.get("quick_gelu", False)),
                force_preprocess_cfg={k.replace("image_", ""): v for k, v in kwargs.items() if k.startswith("image_")},
                **{k: v for k, v in kwargs.items() if not k.startswith("image_")},
            )
        except (OSError, RuntimeError) as exc:
            raise ModelUnavailableError(f"could not load {model_id} from {checkpoint}: {exc}") from exc
        preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
        if hf_path is not None:
            tokenizer = HFTokenizer(
                str(hf_path), context_length=text_cfg.get("context_length", DEFAULT_CONTEXT_LENGTH),
                tokenizer_mode=text_cfg.get("tokenizer_mode"), **text_cfg.get("tokenizer_kwargs", {}),
            )
        else:
            tokenizer = open_clip.get_tokenizer(arch)
        return cls(model, preprocess, tokenizer, model_id, arch=arch, device=device, batch_size=batch_size,
                   hf_text_path=str(hf_path) if hf_path else None)

    # -- the Embedder protocol ----------------------------------------------------------------------
    @property
    def preprocess_cfg(self) -> dict[str, Any]:
        """open_clip's image preprocessing parameters (size, mean, std, interpolation, resize_mode, ...)."""
        return dict(self.model.visual.preprocess_cfg)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """Preprocess exactly as open_clip does, encode in batches of ``batch_size``."""
        return encode_in_batches(images, self.batch_size, self.dim,
                                 lambda chunk: torch.stack([self.preprocess(img) for img in chunk]),
                                 self.model.encode_image, self.device)

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Tokenize with the model's own tokenizer and encode in batches, each at its real token length."""
        return encode_in_batches(texts, self.batch_size, self.dim, self.tokenizer,
                                 lambda tokens: encode_text_trimmed(self.model, tokens, self.text_trim), self.device)

    def __repr__(self) -> str:
        return f"OpenClipEmbedder({self.model_id!r}, dim={self.dim}, device={self.device})"

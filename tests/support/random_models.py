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


def tiny_hf_text_folder(folder: str | Path) -> Path:
    """A tiny xlm-roberta-style transformers text model folder (config.json + fast tokenizer files).

    Stands in for ``FacebookAI/xlm-roberta-base`` offline: same model type and tokenizer class, so the
    HF-text-tower code paths (open_clip's HFTextEncoder/HFTokenizer, ONNX export) run for real.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers
    from transformers import XLMRobertaConfig, XLMRobertaTokenizerFast

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    corpus = ["a photo of a cat", "кошка на диване", "a red car at night", "собака бежит по траве",
              "a video frame showing people", "кадр из видео: город ночью"]
    tok.train_from_iterator(corpus * 30, trainers.UnigramTrainer(vocab_size=200, special_tokens=specials,
                                                                 unk_token="<unk>"))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    fast = XLMRobertaTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>")
    fast.save_pretrained(str(folder))
    XLMRobertaConfig(vocab_size=len(fast), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=64, max_position_embeddings=80, pad_token_id=1, bos_token_id=0,
                     eos_token_id=2).save_pretrained(str(folder))
    return folder


def hf_text_checkpoint(arch: str, hf_folder: Path, path: str | Path, seed: int = 0) -> Path:
    """Random checkpoint for an open_clip ``arch`` whose text tower is the transformers model in ``hf_folder``."""
    import copy

    import open_clip

    text_cfg = copy.deepcopy(open_clip.get_model_config(arch)["text_cfg"])
    text_cfg.update(hf_model_name=str(hf_folder), hf_tokenizer_name=str(hf_folder), hf_model_pretrained=False)
    return random_checkpoint(arch, path, seed, text_cfg=text_cfg)


TINY_HF_ARCH = "videosearch-tiny-hf-random"


def register_tiny_hf_config(hf_folder: Path) -> str:
    """A tiny vision tower + the transformers text model in ``hf_folder`` (mean pooling, like xlm-roberta CLIP)."""
    import open_clip

    cfg = {"embed_dim": 32, "vision_cfg": TINY_CONFIG["vision_cfg"],
           "text_cfg": {"hf_model_name": str(hf_folder), "hf_tokenizer_name": str(hf_folder),
                        "hf_pooler_type": "mean_pooler"}}
    path = Path(tempfile.mkdtemp(prefix="vs-tiny-hf-cfg-")) / f"{TINY_HF_ARCH}.json"
    path.write_text(json.dumps(cfg))
    open_clip.add_model_config(path)  # re-registering replaces the entry (new folder each call is fine)
    return TINY_HF_ARCH

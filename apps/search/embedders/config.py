"""The embedders' settings: ``EMBEDDER``, ``MODEL_DIR``, ``TORCH_DEVICE``, ``EMBED_BATCH_SIZE``.

videosearch/settings.py reads them from the environment with :func:`model_settings`, and the embedders take
them from ``django.conf.settings`` (:func:`current`). The one exception is a process without Django settings
(the ``bench/`` scripts, plain Python that builds an embedder from a spec): there :func:`current` computes
them with the same :func:`model_settings`, so both ways give the same values, and the product's default
model and the default model folder (``DATA_DIR/models``) are written here only.

Free of Django and of the backends (torch, onnxruntime): settings.py imports it before Django is set up.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .common import DEFAULT_BATCH_SIZE

#: The repository (settings.py's ``BASE_DIR``).
BASE_DIR = Path(__file__).resolve().parents[3]
#: The model collections use unless the operator says otherwise: multilingual (Russian and English).
DEFAULT_EMBEDDER = "open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k"


def data_dir(environ: Mapping[str, str]) -> Path:
    """Storage shared by the web server and the workers: ``$VIDEOSEARCH_DATA_DIR``, else ``var/`` in the repository."""
    return Path(environ.get("VIDEOSEARCH_DATA_DIR", BASE_DIR / "var")).resolve()


@dataclass(frozen=True)
class ModelSettings:
    """The embedders' settings, named as in django.conf.settings so that either one serves them."""

    EMBEDDER: str
    MODEL_DIR: Path
    TORCH_DEVICE: str
    EMBED_BATCH_SIZE: int


def model_settings(environ: Mapping[str, str], data: Path | None = None) -> ModelSettings:
    """The embedders' settings as ``environ`` gives them; weights default to ``<data>/models``
    (``data``: the data folder, default :func:`data_dir`)."""
    data = data_dir(environ) if data is None else data
    return ModelSettings(
        EMBEDDER=environ.get("VIDEOSEARCH_EMBEDDER", DEFAULT_EMBEDDER),
        MODEL_DIR=Path(environ.get("VIDEOSEARCH_MODEL_DIR", data / "models")),
        TORCH_DEVICE=environ.get("VIDEOSEARCH_DEVICE", "cpu"),
        EMBED_BATCH_SIZE=int(environ.get("VIDEOSEARCH_EMBED_BATCH", DEFAULT_BATCH_SIZE)),
    )


def current():
    """``django.conf.settings`` once the process has configured Django, else :func:`model_settings` of the
    environment (the one fallback). Django is never imported here: a plain script stays free of it."""
    conf = sys.modules.get("django.conf")
    if conf is not None and conf.settings.configured:
        return conf.settings
    return model_settings(os.environ)

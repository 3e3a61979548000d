"""Import ruclip 0.0.2's model and processor without running its package ``__init__``.

Why: ``import ruclip`` fails today for two reasons that have nothing to do with the parts we need.
Its ``__init__`` does ``from huggingface_hub import cached_download`` (removed in huggingface-hub 0.26)
and imports ``ruclip.predictor``, which needs ``more_itertools`` (not a dependency here). The two
modules we use, ``ruclip/model.py`` (the CLIP torch module) and ``ruclip/processor.py`` (youtokentome
BPE + image transform), are self-contained: no relative imports, only torch/numpy/torchvision/yttm.

How: find the installed package with ``importlib.util.find_spec`` (which locates it without executing
it) and load those two files as private modules. Nothing in ``huggingface_hub`` or ``sys.modules['ruclip']``
is patched, so other code importing either sees the libraries unchanged. Downloading, which ruclip's
``load()`` did with ``cached_download``, is done by the backend with ``hf_hub_download`` instead.
"""
from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()
_modules: dict[str, ModuleType] = {}


class RuClipNotInstalledError(ImportError):
    """The ruclip package (or youtokentome) is not installed."""


def ruclip_package_dir() -> Path:
    """Folder of the installed ruclip package, found without importing it."""
    spec = importlib.util.find_spec("ruclip")
    if spec is None or not spec.submodule_search_locations:
        raise RuClipNotInstalledError(
            "ruclip is not installed: `pip install --no-deps ruclip==0.0.2 youtokentome` (see README)")
    return Path(next(iter(spec.submodule_search_locations)))


def _load(name: str) -> ModuleType:
    with _lock:
        if name not in _modules:
            path = ruclip_package_dir() / f"{name}.py"
            mod_name = f"_videosearch_ruclip_{name}"
            spec = importlib.util.spec_from_file_location(mod_name, path)
            if spec is None or spec.loader is None:
                raise RuClipNotInstalledError(f"cannot load {path}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[mod_name] = module  # pickling/inspect need the module registered
            try:
                spec.loader.exec_module(module)
            except ImportError as exc:
                sys.modules.pop(mod_name, None)
                raise RuClipNotInstalledError(f"ruclip's {name}.py cannot be imported: {exc}") from exc
            _modules[name] = module
        return _modules[name]


def ruclip_model_module() -> ModuleType:
    """``ruclip.model`` (provides ``CLIP`` with ``from_pretrained(folder)``)."""
    return _load("model")


def ruclip_processor_module() -> ModuleType:
    """``ruclip.processor`` (provides ``RuCLIPProcessor`` with ``from_pretrained(folder)``)."""
    return _load("processor")

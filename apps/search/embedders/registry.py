"""One place that maps an embedder spec string to a constructed, cached embedder.

Like open_clip's factory: the rest of the product asks ``get_embedder(spec)`` and never imports a
backend. Specs:

- ``open_clip:ARCH/PRETRAINED``    e.g. ``open_clip:ViT-B-32/openai``
- ``open_clip:ARCH@/abs/path.pt``  a local checkpoint for an open_clip architecture
- ``ruclip:NAME``                  e.g. ``ruclip:ruclip-vit-base-patch32-384``
- ``onnx:/path/to/export_dir``     an ``export_onnx`` output folder
- ``testmodel``                    the bundled test model (open_clip backend)
- ``onnx:testmodel``               the test model exported to ONNX (exported on first use)

Only ``default_spec`` / ``default_options`` touch Django settings, lazily, so every backend works in
plain Python when a spec is given.
"""
from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .base import Embedder, ModelUnavailableError
from .common import DEFAULT_BATCH_SIZE, env_model_dir

SPEC_FORMS = (
    "open_clip:ARCH/PRETRAINED (e.g. open_clip:ViT-B-32/openai)",
    "open_clip:ARCH@/abs/path/checkpoint.pt",
    "ruclip:NAME (e.g. ruclip:ruclip-vit-base-patch32-384)",
    "onnx:/path/to/export_dir",
    "testmodel",
    "onnx:testmodel",
)

KNOWN_MODELS: dict[str, str] = {
    "open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k": "multilingual (ru+en) ViT-B/32, LAION-5B; the default",
    "open_clip:ViT-B-32/openai": "OpenAI CLIP ViT-B/32, English only",
    "ruclip:ruclip-vit-base-patch32-384": "ai-forever ruCLIP ViT-B/32 384px, Russian only",
    "ruclip:ruclip-vit-base-patch16-384": "ai-forever ruCLIP ViT-B/16 384px, Russian only",
    "testmodel": "tiny bundled test model (tests, demos)",
    "onnx:testmodel": "the test model through onnxruntime",
    "onnx:/path/to/export_dir": "any open_clip model exported by `manage.py export_onnx`",
}

_cache: dict[tuple[str, str, str, int], Embedder] = {}
_cache_lock = threading.Lock()
_spec_locks: dict[tuple[str, str, str, int], threading.Lock] = {}


def _django_settings():
    """Django settings when configured, else None (backends must work without Django).

    Django is not even imported unless the process already uses it or names a settings module.
    """
    if "django" not in sys.modules and not os.environ.get("DJANGO_SETTINGS_MODULE"):
        return None
    try:
        from django.conf import settings

        if settings.configured:
            return settings
    except ImportError:
        pass
    return None


def default_spec() -> str:
    """settings.EMBEDDER, or $VIDEOSEARCH_EMBEDDER, or the product default."""
    s = _django_settings()
    if s is not None and getattr(s, "EMBEDDER", None):
        return s.EMBEDDER
    return os.environ.get("VIDEOSEARCH_EMBEDDER", "open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k")


def default_options() -> tuple[Path, str, int]:
    """(model dir, torch device, batch size) from Django settings, else from the environment."""
    s = _django_settings()
    if s is not None:
        return (Path(getattr(s, "MODEL_DIR", env_model_dir())), getattr(s, "TORCH_DEVICE", "cpu"),
                int(getattr(s, "EMBED_BATCH_SIZE", DEFAULT_BATCH_SIZE)))
    return (env_model_dir(), os.environ.get("VIDEOSEARCH_DEVICE", "cpu"),
            int(os.environ.get("VIDEOSEARCH_EMBED_BATCH", DEFAULT_BATCH_SIZE)))


class UnknownEmbedderError(ValueError, ModelUnavailableError):
    """The spec names no model this server can build (malformed, or an unknown architecture).

    A ValueError to whoever checks a spec; a ModelUnavailableError (503, not 500) to whoever serves a
    collection that was configured with it: every search of it fails until its model is changed.
    """


def _unknown(spec: str) -> UnknownEmbedderError:
    return UnknownEmbedderError(f"unknown embedder spec {spec!r}; valid forms: " + "; ".join(SPEC_FORMS))


def check_spec(spec: str) -> None:
    """UnknownEmbedderError when ``spec`` is not of a valid form; nothing is loaded (a collection's form checks it)."""
    _builder(spec.strip(), *default_options())


def _builder(spec: str, model_dir: Path, device: str, batch_size: int) -> Callable[[], Embedder]:
    """Parse a spec into a zero-argument constructor (parsing errors surface before any loading)."""
    if spec == "testmodel":
        return lambda: build_testmodel(device=device, batch_size=batch_size)
    if spec == "onnx:testmodel":
        return lambda: build_onnx_testmodel(model_dir=model_dir, batch_size=batch_size)
    kind, sep, rest = spec.partition(":")
    if not sep or not rest:
        raise _unknown(spec)
    if kind == "open_clip":
        from .openclip_backend import OpenClipEmbedder

        if "@" in rest:
            arch, _, path = rest.partition("@")
            if not arch or not path:
                raise _unknown(spec)
            return lambda: OpenClipEmbedder.from_checkpoint(arch, path, device=device, batch_size=batch_size)
        arch, _, tag = rest.partition("/")
        if not arch or not tag:
            raise _unknown(spec)
        return lambda: OpenClipEmbedder.from_pretrained(arch, tag, model_dir=model_dir, device=device,
                                                        batch_size=batch_size)
    if kind == "ruclip":
        from .ruclip_backend import RuClipEmbedder

        return lambda: RuClipEmbedder.from_name(rest, model_dir=model_dir, device=device, batch_size=batch_size)
    if kind == "onnx":
        from .onnx_backend import OnnxEmbedder

        return lambda: OnnxEmbedder(rest, batch_size=batch_size)
    raise _unknown(spec)


def get_embedder(spec: str | None = None) -> Embedder:
    """The embedder for ``spec`` (default: settings.EMBEDDER), built once per process and thread-safe.

    Raises UnknownEmbedderError (a ValueError) for a spec that names no model, ModelUnavailableError when
    weights are missing.
    """
    spec = (spec or default_spec()).strip()
    model_dir, device, batch_size = default_options()
    key = (spec, str(model_dir), device, batch_size)
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        spec_lock = _spec_locks.setdefault(key, threading.Lock())
    build = _builder(spec, model_dir, device, batch_size)
    with spec_lock:  # one load per spec; other specs load concurrently
        with _cache_lock:
            if key in _cache:
                return _cache[key]
        try:
            embedder = build()
        except UnknownEmbedderError:
            raise
        except ValueError as exc:  # a well-formed spec naming no model, e.g. an unknown architecture
            raise UnknownEmbedderError(f"embedder spec {spec!r}: {exc}") from exc
        with _cache_lock:
            _cache[key] = embedder
        return embedder


def clear_cache() -> None:
    """Drop cached embedders (tests, reloading after weights were added)."""
    with _cache_lock:
        _cache.clear()


def list_known_models() -> dict[str, str]:
    """Spec -> one-line description, for docs and the CLI."""
    return dict(KNOWN_MODELS)


# -- the bundled test model ----------------------------------------------------------------------------
def build_testmodel(*, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder:
    """The test model through the open_clip backend; model id ``testmodel:<sha256[:12]>``."""
    from .common import file_sha256
    from .openclip_backend import OpenClipEmbedder

    try:
        from apps.search.testmodel import (
            TESTMODEL_CHECKPOINT,
            TESTMODEL_NAME,
            register_testmodel_config,
        )
    except ImportError as exc:
        raise ModelUnavailableError(f"the bundled test model package is not available: {exc}") from exc
    checkpoint = Path(TESTMODEL_CHECKPOINT)
    if not checkpoint.is_file():
        raise ModelUnavailableError(f"test model checkpoint {checkpoint} is missing")
    register_testmodel_config()
    return OpenClipEmbedder.from_checkpoint(
        TESTMODEL_NAME, checkpoint, device=device, batch_size=batch_size,
        model_id=f"testmodel:{file_sha256(checkpoint)[:12]}",
    )


_export_lock = threading.Lock()


def build_onnx_testmodel(*, model_dir: Path, batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder:
    """The test model through onnxruntime, exported into ``<model_dir>/onnx/testmodel`` on first use.

    Re-exported when the checkpoint changed (the export's model id no longer matches).
    """
    import json

    from .common import file_sha256
    from .onnx_backend import OnnxEmbedder

    out = Path(model_dir) / "onnx" / "testmodel"
    try:
        from apps.search.testmodel import TESTMODEL_CHECKPOINT
    except ImportError as exc:
        raise ModelUnavailableError(f"the bundled test model package is not available: {exc}") from exc
    if not Path(TESTMODEL_CHECKPOINT).is_file():
        raise ModelUnavailableError(f"test model checkpoint {TESTMODEL_CHECKPOINT} is missing")
    wanted = f"testmodel:{file_sha256(TESTMODEL_CHECKPOINT)[:12]}"
    with _export_lock:
        meta = out / "meta.json"
        current = json.loads(meta.read_text()).get("model_id") if meta.is_file() else None
        if current != wanted:  # only then is the torch model loaded
            from apps.search.onnx_export import export_onnx

            export_onnx(build_testmodel(device="cpu", batch_size=batch_size), out)
    return OnnxEmbedder(out, batch_size=batch_size)

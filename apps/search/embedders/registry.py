"""One place that maps an embedder spec string to a constructed, cached embedder.

Like open_clip's factory: the rest of the product asks ``get_embedder(spec)`` and never imports a
backend. The kinds of spec are data, :data:`EMBEDDERS`: a spec prefix (or a whole spec) -> its
:class:`Registration` (how to build one, the spec forms it accepts, the models it knows of). Backends
are imported by the builders, only when a model of theirs is built. Specs:

- ``open_clip:ARCH/PRETRAINED``    e.g. ``open_clip:ViT-B-32/openai``
- ``open_clip:ARCH@/abs/path.pt``  a local checkpoint for an open_clip architecture
- ``ruclip:NAME``                  e.g. ``ruclip:ruclip-vit-base-patch32-384``
- ``onnx:/path/to/export_dir``     an ``export_onnx`` output folder
- ``testmodel``                    the bundled test model (open_clip backend)
- ``onnx:testmodel``               the test model exported to ONNX (exported on first use)

The model folder, device and batch size come from ``django.conf.settings`` (see ``config.py``, which
also serves them in a process without Django), so every backend works in plain Python when a spec is given.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .base import Embedder, ModelUnavailableError


@dataclass(frozen=True)
class Options:
    """What every builder may use besides the spec (from settings)."""

    model_dir: Path
    device: str
    batch_size: int


#: A builder turns the rest of a spec (after its prefix; "" for a whole-spec entry) into a zero-argument
#: constructor, raising ValueError for a rest of the wrong form: parsing fails before anything is loaded.
Builder = Callable[[str, Options], Callable[[], Embedder]]


@dataclass(frozen=True)
class Registration:
    build: Builder
    #: The spec forms it accepts, as shown in the error for an unknown spec.
    forms: tuple[str, ...]
    #: Specs of models it knows of -> one-line description (``manage.py list_models --known``).
    known: Mapping[str, str] = field(default_factory=dict)


class UnknownEmbedderError(ValueError, ModelUnavailableError):
    """The spec names no model this server can build (malformed, or an unknown architecture).

    A ValueError to whoever checks a spec; a ModelUnavailableError (503, not 500) to whoever serves a
    collection that was configured with it: every search of it fails until its model is changed.
    """


# -- builders: each imports its backend when the model is built ------------------------------------------
def _open_clip(rest: str, o: Options) -> Callable[[], Embedder]:
    if "@" in rest:
        arch, _, path = rest.partition("@")
        if not arch or not path:
            raise ValueError(rest)

        def from_checkpoint() -> Embedder:
            from .openclip_backend import OpenClipEmbedder

            return OpenClipEmbedder.from_checkpoint(arch, path, device=o.device, batch_size=o.batch_size)

        return from_checkpoint
    arch, _, tag = rest.partition("/")
    if not arch or not tag:
        raise ValueError(rest)

    def from_pretrained() -> Embedder:
        from .openclip_backend import OpenClipEmbedder

        return OpenClipEmbedder.from_pretrained(arch, tag, model_dir=o.model_dir, device=o.device,
                                                batch_size=o.batch_size)

    return from_pretrained


def _ruclip(rest: str, o: Options) -> Callable[[], Embedder]:
    def from_name() -> Embedder:
        from .ruclip_backend import RuClipEmbedder

        return RuClipEmbedder.from_name(rest, model_dir=o.model_dir, device=o.device, batch_size=o.batch_size)

    return from_name


def _onnx(rest: str, o: Options) -> Callable[[], Embedder]:
    def from_folder() -> Embedder:
        from .onnx_backend import OnnxEmbedder

        return OnnxEmbedder(rest, batch_size=o.batch_size)

    return from_folder


def _testmodel(rest: str, o: Options) -> Callable[[], Embedder]:
    def load() -> Embedder:
        from apps.search.testmodel import load_testmodel

        return load_testmodel(device=o.device, batch_size=o.batch_size)

    return load


def _onnx_testmodel(rest: str, o: Options) -> Callable[[], Embedder]:
    def load() -> Embedder:
        from apps.search.testmodel import load_onnx_testmodel

        return load_onnx_testmodel(model_dir=o.model_dir, batch_size=o.batch_size)

    return load


#: Spec prefix ("kind:") or whole spec -> its registration. A whole spec is matched first ("onnx:testmodel"
#: before "onnx:"); the order is the order of the forms in the unknown-spec error and of the known models.
EMBEDDERS: dict[str, Registration] = {
    "open_clip:": Registration(
        _open_clip,
        forms=("open_clip:ARCH/PRETRAINED (e.g. open_clip:ViT-B-32/openai)", "open_clip:ARCH@/abs/path/checkpoint.pt"),
        known={
            config.DEFAULT_EMBEDDER: "multilingual (ru+en) ViT-B/32, LAION-5B",
            "open_clip:ViT-B-32/openai": "OpenAI CLIP ViT-B/32, English only",
        }),
    "ruclip:": Registration(
        _ruclip,
        forms=("ruclip:NAME (e.g. ruclip:ruclip-vit-base-patch32-384)",),
        known={
            "ruclip:ruclip-vit-base-patch32-384": "ai-forever ruCLIP ViT-B/32 384px, Russian only",
            "ruclip:ruclip-vit-base-patch16-384": "ai-forever ruCLIP ViT-B/16 384px, Russian only",
        }),
    "onnx:": Registration(
        _onnx,
        forms=("onnx:/path/to/export_dir",),
        known={"onnx:/path/to/export_dir": "any open_clip model exported by `manage.py export_onnx`"}),
    "testmodel": Registration(
        _testmodel, forms=("testmodel",), known={"testmodel": "tiny bundled test model (tests, demos)"}),
    "onnx:testmodel": Registration(
        _onnx_testmodel, forms=("onnx:testmodel",), known={"onnx:testmodel": "the test model through onnxruntime"}),
}

SPEC_FORMS: tuple[str, ...] = tuple(form for entry in EMBEDDERS.values() for form in entry.forms)


def list_known_models() -> dict[str, str]:
    """Spec -> one-line description, for docs and the CLI."""
    return {spec: about for entry in EMBEDDERS.values() for spec, about in entry.known.items()}


def default_spec() -> str:
    """settings.EMBEDDER."""
    return config.current().EMBEDDER


def default_options() -> tuple[Path, str, int]:
    """(model dir, torch device, batch size) from settings."""
    s = config.current()
    return Path(s.MODEL_DIR), s.TORCH_DEVICE, int(s.EMBED_BATCH_SIZE)


def _unknown(spec: str) -> UnknownEmbedderError:
    return UnknownEmbedderError(f"unknown embedder spec {spec!r}; valid forms: " + "; ".join(SPEC_FORMS))


def _builder(spec: str, options: Options) -> Callable[[], Embedder]:
    """Parse a spec into a zero-argument constructor (parsing errors surface before any loading)."""
    if spec in EMBEDDERS and not spec.endswith(":"):
        entry, rest = EMBEDDERS[spec], ""
    else:
        kind, sep, rest = spec.partition(":")
        entry = EMBEDDERS.get(kind + sep)
        if entry is None or not rest:
            raise _unknown(spec)
    try:
        return entry.build(rest, options)
    except ValueError:
        raise _unknown(spec) from None


def check_spec(spec: str) -> None:
    """UnknownEmbedderError when ``spec`` is not of a valid form; nothing is loaded (a collection's form checks it)."""
    _builder(spec.strip(), Options(*default_options()))


_cache: dict[tuple[str, str, str, int], Embedder] = {}
_cache_lock = threading.Lock()
_spec_locks: dict[tuple[str, str, str, int], threading.Lock] = {}


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
    build = _builder(spec, Options(model_dir, device, batch_size))
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
        _exports.clear()


#: (onnx folder, its mtime) -> {model id: export folder}: the exports found there, read again when one is added.
_exports: dict[tuple[str, int], dict[str, Path]] = {}


def onnx_export_for(model_id: str) -> Path | None:
    """An ``export_onnx`` folder under ``MODEL_DIR/onnx/`` made from the model ``model_id``, or None."""
    root = Path(config.current().MODEL_DIR) / "onnx"
    try:
        key = (str(root), root.stat().st_mtime_ns)
    except OSError:
        return None
    with _cache_lock:
        found = _exports.get(key)
    if found is None:
        import json

        found = {}
        for meta in sorted(root.glob("*/meta.json")):
            if all((meta.parent / name).is_file() for name in ("image.onnx", "text.onnx")):
                try:
                    found.setdefault(json.loads(meta.read_text())["model_id"], meta.parent)
                except (OSError, ValueError, KeyError):
                    continue
        with _cache_lock:
            _exports[key] = found
    return found.get(model_id)


def query_embedder(spec: str | None = None) -> Embedder:
    """The embedder that encodes queries for ``spec``: its model's ONNX export when one is in
    ``MODEL_DIR/onnx/`` (same model id, so the same index; onnxruntime encodes a query several times faster
    than torch on a CPU), else the spec's own. ``settings.ONNX_QUERIES = False`` keeps the spec's own."""
    embedder = get_embedder(spec)
    if type(embedder).__name__ == "OnnxEmbedder" or not getattr(config.current(), "ONNX_QUERIES", True):
        return embedder
    folder = onnx_export_for(embedder.model_id)
    return get_embedder(f"onnx:{folder}") if folder is not None else embedder

"""Which model a collection may use: a name from the operator's list (settings.EMBEDDERS), never a client's spec.

A spec may name a server file, so a client-supplied one would probe the server's disk and build a model per
request. Everything here reads settings at call time: nothing is frozen into migrations or class attributes.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from apps.core.errors import ModelUnavailableError

DEFAULT_NAME = "default"


class UnknownModelError(ValueError):
    """A name (or, on the command line, a spec) that is not in the operator's list."""


class UnconfiguredModelError(ModelUnavailableError):
    """A collection names a model the operator has since taken off the list."""


def allowed_models() -> dict[str, str]:
    """Name -> spec, "default" first; "default" is settings.EMBEDDER as it is now."""
    listed = getattr(settings, "EMBEDDERS", {})
    return {DEFAULT_NAME: settings.EMBEDDER, **{name: spec for name, spec in listed.items() if name != DEFAULT_NAME}}


def model_names() -> list[str]:
    return list(allowed_models())


def unknown_model_message() -> str:
    """The one refusal for any unlisted value; it never repeats the value (it may be a path)."""
    return gettext("unknown model; choose one of: %(names)s (blank: default)") % {"names": ", ".join(model_names())}


def validate_model_name(value: str) -> None:
    """Model field validator: blank (the server default) or a listed name."""
    if value and value not in allowed_models():
        raise ValidationError(unknown_model_message(), code="unknown_model")


def spec_for(name: str) -> str:
    """The spec behind a stored name; blank is the server default."""
    try:
        return allowed_models()[name or DEFAULT_NAME]
    except KeyError:
        raise UnconfiguredModelError(
            f"this collection's model {name!r} is no longer configured (VIDEOSEARCH_EMBEDDERS); "
            f"an operator can add it back or choose another: {', '.join(model_names())}") from None


def spec_is_public(spec: str) -> bool:
    """False when the spec names a server file or folder (a checkpoint, an ONNX export, a ruclip folder)."""
    kind, _, rest = spec.partition(":")
    if "@" in spec or rest.startswith(("/", ".", "~")) or "\\" in spec:
        return False
    if kind == "onnx":
        return rest == "testmodel"
    return not (kind == "ruclip" and "/" in rest)


def model_label(name: str) -> str:
    """What clients see of a collection's model: its spec when that names no server path, else its name."""
    effective = name or DEFAULT_NAME
    spec = allowed_models().get(effective)
    if spec is None:
        return f"{effective} (not configured)"
    return spec if spec_is_public(spec) else effective


def name_for_spec(spec: str) -> str | None:
    """The listed name of a spec, a name other than "default" first (it keeps the model if the default changes)."""
    names = [name for name, listed in allowed_models().items() if listed == spec]
    named = [name for name in names if name != DEFAULT_NAME]
    return (named or names or [None])[0]


def resolve_operator_choice(value: str) -> str:
    """A name for ``manage.py ingest --model``: a listed name, or the spec of a listed model (old scripts).

    An unlisted spec is refused even on the trusted command line: web processes and workers resolve the stored
    name through their own list, so a model missing there could not be used by them.
    """
    if not value or value in allowed_models():
        return value
    name = name_for_spec(value)
    if name is None:
        raise UnknownModelError(unknown_model_message() + "; an operator adds models with VIDEOSEARCH_EMBEDDERS")
    return "" if name == DEFAULT_NAME else name

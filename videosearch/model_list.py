"""The operator's list of models a collection may use (setting ``EMBEDDERS``), read from the environment.

Clients choose a model by name from this list; only the list (settings, environment) holds specs, so only the
operator can point a spec at a server path (``open_clip:ARCH@/path``, ``onnx:/dir``).
"""
from __future__ import annotations

import json
import re

from django.core.exceptions import ImproperlyConfigured

DEFAULT_NAME = "default"
TESTMODEL_NAME = "testmodel"
ENV_NAME = "VIDEOSEARCH_EMBEDDERS"
#: Short and plain: a name travels in URLs, JSON and form selects.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def _entries(raw: str) -> list[tuple[str, str]]:
    """``name=spec,name=spec`` or a JSON object, as (name, spec) pairs in the given order."""
    raw = raw.strip()
    if not raw:
        return []
    if raw.startswith("{"):
        try:
            parsed = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImproperlyConfigured(f"{ENV_NAME} is not valid JSON: {exc}") from exc
        if not all(isinstance(v, str) for v in parsed.values()):
            raise ImproperlyConfigured(f"{ENV_NAME}: every value must be a spec string")
        return [(name, spec.strip()) for name, spec in parsed.items()]
    pairs = []
    for item in (part.strip() for part in raw.split(",")):
        name, sep, spec = item.partition("=")
        if item and not sep:
            raise ImproperlyConfigured(f"{ENV_NAME}: {item!r} is not name=spec")
        if item:
            pairs.append((name.strip(), spec.strip()))
    return pairs


def parse_embedders(raw: str, default_spec: str) -> dict[str, str]:
    """Name -> spec: "default" (``default_spec``, i.e. EMBEDDER) and "testmodel" first, then the operator's entries.

    The two built-in names cannot be given another spec (the default is changed through VIDEOSEARCH_EMBEDDER).
    """
    models = {DEFAULT_NAME: default_spec, TESTMODEL_NAME: "testmodel"}
    for name, spec in _entries(raw):
        if not NAME_PATTERN.fullmatch(name):
            raise ImproperlyConfigured(f"{ENV_NAME}: model name {name!r} must be letters, digits, '.', '_' or '-' "
                                       "(at most 64, starting with a letter or digit)")
        if not spec:
            raise ImproperlyConfigured(f"{ENV_NAME}: the spec of {name!r} is empty")
        if name in (DEFAULT_NAME, TESTMODEL_NAME) and spec != models[name]:
            raise ImproperlyConfigured(f"{ENV_NAME}: {name!r} is built in ({models[name]}); "
                                       "set VIDEOSEARCH_EMBEDDER to change the default")
        models[name] = spec
    return models

"""Hugging Face Hub access that fails fast when the machine is offline.

``hf_hub_download`` retries a failed connection five times with back-off (about 25 s on a machine
without network). A service that starts offline should instead go straight to the local folders and
say what to download, so we probe the endpoint once per process (2 s TCP connect) and, when it is
unreachable or ``HF_HUB_OFFLINE`` is set, only look in the local Hugging Face cache.

The variables read here (``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE``, ``HF_ENDPOINT``, ``HTTPS_PROXY``) are not
videosearch settings: they belong to huggingface_hub and the HTTP client, which read them from the environment
themselves. The probe reads them from the same place, at the same moment, so that it always agrees with the
download it stands in for (a copy frozen into Django settings could disagree with what huggingface_hub does).
"""
from __future__ import annotations

import os
import socket
import threading
from urllib.parse import urlparse

_lock = threading.Lock()
_online: bool | None = None

PROBE_TIMEOUT_S = 2.0


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_offline_forced() -> bool:
    """True when the operator switched the hub off (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE)."""
    return _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE"))


def _probe_target() -> tuple[str, int]:
    """Host and port a download would connect to first (the proxy when one is configured)."""
    proxy = os.environ.get("HTTPS_PROXY") or os.environ.get("https_proxy")
    url = urlparse(proxy or os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    return url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)


def hub_reachable() -> bool:
    """Whether a hub download can be attempted; probed once per process and cached."""
    global _online
    if hub_offline_forced():
        return False
    with _lock:
        if _online is None:
            host, port = _probe_target()
            try:
                with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
                    _online = True
            except OSError:
                _online = False
        return _online


def reset_probe() -> None:
    """Forget the cached probe result (tests; a machine that came online)."""
    global _online
    with _lock:
        _online = None


def cached_file(repo_id: str, filename: str) -> str | None:
    """Path of a file already in the local Hugging Face cache, or None. Never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id=repo_id, filename=filename)
    except ValueError:  # HFValidationError for malformed repo ids: treat as not cached
        return None
    return found if isinstance(found, str) and os.path.isfile(found) else None


def fetch_file(repo_id: str, filename: str) -> str | None:
    """Cached file, else a download when the hub is reachable, else None (never a long hang)."""
    found = cached_file(repo_id, filename)
    if found or not hub_reachable():
        return found
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError

    try:
        return hf_hub_download(repo_id=repo_id, filename=filename)
    except (OSError, ValueError, EntryNotFoundError):  # HTTP errors, missing file/repo, bad id
        return None

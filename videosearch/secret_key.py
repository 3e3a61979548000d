"""A per-installation SECRET_KEY, generated on first run, so that no secret lives in the repository.

Several processes (gunicorn workers, Celery workers, a management command) may start at the same
moment on a fresh data directory; they must all end up with the same key. The key is written to a
private temporary file and then hard-linked into place: the link either succeeds (this process's key
wins) or fails because another process's complete file is already there, which is then read. A
reader never sees a half-written file.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

KEY_FILE_NAME = "secret_key"
_KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!@#%^&*(-_=+)"


def new_secret_key(length: int = 64) -> str:
    """A random key long and varied enough for `manage.py check --deploy` (>= 50 chars, >= 5 distinct)."""
    return "".join(secrets.choice(_KEY_CHARS) for _ in range(length))


def _read_key(path: Path) -> str:
    key = path.read_text(encoding="ascii").strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to generate a new secret key")
    return key


def _write_private(path: Path, text: str) -> None:
    """Create `path` readable by its owner only (0600 whatever the umask) and write `text` to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, text.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def load_or_create_secret_key(data_dir: Path) -> str:
    """The key stored in `data_dir`, created there (mode 0600) if this is the installation's first run."""
    path = Path(data_dir) / KEY_FILE_NAME
    if path.exists():
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = path.with_name(f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_private(candidate, new_secret_key() + "\n")
    try:
        os.link(candidate, path)
    except FileExistsError:
        pass  # another process got there first: its key is the installation's key
    finally:
        candidate.unlink(missing_ok=True)
    return _read_key(path)

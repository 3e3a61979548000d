"""Advisory file locks (``fcntl.flock``) shared by every process and machine using MEDIA_ROOT.

Why files: workers, the web server and ``manage.py`` commands are separate processes (often on
separate machines), so only the file system is common to all of them. The OS releases a lock when
its holder dies, so a killed worker never leaves a lock held.
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def hold(path: Path) -> Iterator[None]:
    """Hold the lock on ``path`` (created if missing), waiting for it when another process has it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the flock


@contextmanager
def try_hold(path: Path, create: bool = False) -> Iterator[bool]:
    """Take the lock on ``path`` if it is free, without waiting; yields whether it was taken.

    Without ``create`` a missing file is no one's lock: yields True, holding nothing and creating
    nothing (a checker must leave no file behind). With it, the file is created and really held.
    """
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644) if create else os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        yield True
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def is_held(path: Path) -> bool:
    """Whether some process holds the lock on ``path`` right now (e.g. an ingest run of that item)."""
    with try_hold(path) as free:
        return not free

"""Named points in long jobs where a test can stop a process, or act, at a known moment.

Why: the crash-safety tests SIGKILL ``manage.py rebuild_index`` right after it started,
mid-embedding and just before the swap, and search while a re-ingest sits between its analysis
and its final write; timing that with sleeps is flaky on a loaded machine.

- In another process: ``VIDEOSEARCH_HOLD_AT=name[,name...]`` and ``VIDEOSEARCH_HOLD_DIR=folder``.
  Reaching a listed point writes ``folder/name`` (holding the pid) and waits until
  ``folder/name.go`` exists, so the test can look, kill the process, or let it go on.
- ``VIDEOSEARCH_DIE_AT=name[,name...]``: reaching a listed point SIGKILLs the process (a job
  that kills its worker every time, for the sweeper's give-up test).
- In this process: ``with listening(name, callback):`` calls ``callback()`` at that point.

Points: ``ingest.probing``, ``ingest.keyframe_saved`` (each keyframe), ``ingest.analysed`` (the frames
counted, before embedding), ``ingest.before_swap``,
``ingest.before_commit`` (vectors added, rows not committed), ``ingest.photo_batch_embedded`` (apps/search/indexing.py);
``index.before_replace`` (each atomic index file write, apps/search/index.py); ``rebuild.started``,
``rebuild.batch``, ``rebuild.swap`` (apps/search/reindex.py).

Unset (production), a point costs a dictionary lookup and an environment lookup.

These variables are read from ``os.environ`` on purpose, not through Django settings like the rest of the
configuration: they are a test hook, set by a test for the one process it starts, and read at the point
itself, so a test may also change them in its own process; they configure nothing of the product.
"""
from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

HOLD_AT_ENV = "VIDEOSEARCH_HOLD_AT"
HOLD_DIR_ENV = "VIDEOSEARCH_HOLD_DIR"
DIE_AT_ENV = "VIDEOSEARCH_DIE_AT"
#: A held process goes on by itself after this long (a test that died must not leave it forever).
HOLD_TIMEOUT_S = 600.0

_listeners: dict[str, list[Callable[[], None]]] = {}


def reached(name: str) -> None:
    """Mark that the job is at point ``name``."""
    for callback in list(_listeners.get(name, ())):
        callback()
    die = os.environ.get(DIE_AT_ENV)
    if die and name in die.split(","):
        os.kill(os.getpid(), signal.SIGKILL)
    held = os.environ.get(HOLD_AT_ENV)
    if held and name in held.split(","):
        _hold(name, Path(os.environ.get(HOLD_DIR_ENV) or "."))


@contextmanager
def listening(name: str, callback: Callable[[], None]) -> Iterator[None]:
    """Call ``callback`` each time this process reaches ``name`` within the block."""
    _listeners.setdefault(name, []).append(callback)
    try:
        yield
    finally:
        _listeners[name].remove(callback)


def _hold(name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.tmp"
    tmp.write_text(str(os.getpid()))
    os.replace(tmp, folder / name)
    deadline = time.monotonic() + HOLD_TIMEOUT_S
    go = folder / f"{name}.go"
    while not go.exists() and time.monotonic() < deadline:
        time.sleep(0.02)

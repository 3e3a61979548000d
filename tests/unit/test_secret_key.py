"""The per-installation secret key: private, stable, and the same for processes that start together."""
from __future__ import annotations

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from videosearch.secret_key import KEY_FILE_NAME, load_or_create_secret_key


def test_first_run_creates_a_private_key_file_later_runs_reuse_it(tmp_path: Path):
    old_umask = os.umask(0)  # the file must be private whatever the umask
    try:
        key = load_or_create_secret_key(tmp_path / "data")
    finally:
        os.umask(old_umask)
    path = tmp_path / "data" / KEY_FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) >= 50 and len(set(key)) >= 5
    assert load_or_create_secret_key(tmp_path / "data") == key
    assert [p.name for p in path.parent.iterdir()] == [KEY_FILE_NAME]


def test_each_installation_gets_its_own_key(tmp_path: Path):
    assert load_or_create_secret_key(tmp_path / "a") != load_or_create_secret_key(tmp_path / "b")


def _start_together(data_dir: str, barrier, keys) -> None:
    barrier.wait()
    keys.put(load_or_create_secret_key(Path(data_dir)))


def test_processes_starting_together_agree_on_one_key(tmp_path: Path):
    ctx = multiprocessing.get_context("fork")
    count = 8
    barrier, keys = ctx.Barrier(count), ctx.Queue()
    procs = [ctx.Process(target=_start_together, args=(str(tmp_path), barrier, keys)) for _ in range(count)]
    for proc in procs:
        proc.start()
    seen = {keys.get(timeout=30) for _ in procs}
    for proc in procs:
        proc.join(10)
    assert seen == {(tmp_path / KEY_FILE_NAME).read_text().strip()}
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE_NAME]  # no temporary files left behind


def test_an_empty_key_file_is_an_error_not_an_empty_key(tmp_path: Path):
    (tmp_path / KEY_FILE_NAME).write_text("")
    with pytest.raises(RuntimeError, match="empty"):
        load_or_create_secret_key(tmp_path)

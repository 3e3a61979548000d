"""A throwaway redis-server for the tests and benchmarks: the command line, and "is it answering?".

One place for what the session's Redis (tests/conftest.py), the outage test's own Redis
(test_job_recovery.py) and bench/serve_under_load.py all start.
"""
from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

INSTALL_HINT = "redis-server is not installed: run scripts/setup.sh (apt-get install redis-server)"


def redis_command(port: int, workdir: Path) -> list[str] | None:
    """argv of a loopback-only redis-server that keeps nothing on disk; None when it is not installed."""
    exe = shutil.which("redis-server")
    if exe is None:
        return None
    return [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(workdir)]


def answers(port: int) -> bool:
    """Whether a Redis on this loopback port answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_until_answering(port: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers(port):
            return True
        time.sleep(0.1)
    return False

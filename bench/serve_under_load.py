"""HTTP searches against the production server while the index is rebuilt and every video re-ingested;
prints ONE JSON object.

What ``bench/rebuild_under_load.py`` measures in one process, here as deployed: ``scripts/serve.sh``
(gunicorn, its default workers and threads unless ``--web-workers``/``--web-threads``), a real Celery
worker and a Redis server this bench starts, all on a throwaway data dir. One public collection (the
bundled test model) holds V generated demo videos (the same known scenes, each at its own frame rate)
and P photos. ``--clients`` threads (default 8) POST ``/api/search/`` over HTTP without pause, each
query a demo caption that must find its video, for ``--duration`` seconds of each phase:

``idle``      nothing else runs: the reference latencies;
``rebuild``   ``POST /api/collections/<id>/rebuild/``, the worker rebuilds; once the new generation is
              live (the index's ``CURRENT`` file names it), again, until the phase ends (at least once);
``reingest``  ``POST /api/videos/<id>/reingest/`` for every video, the worker re-ingests them; once all
              their jobs are done, again, until the phase ends (at least once).

Per phase: searches, errors (an answer other than 200, or no answer), empty answers, answers missing
the video their query is about, p50/p95/p99 latency in ms (the whole request, as a client sees it),
and the rebuilds or rounds of re-ingests completed (``runs``, ``run_seconds``). Tracebacks in the
server's and the worker's logs are counted too. The database is the data dir's SQLite file, or
``DATABASE_URL`` (e.g. PostgreSQL; the bench's collection and user are deleted from it at the end).
The machine is shared and noisy: compare the phases of one run, not runs.

Usage: ``.venv/bin/python bench/serve_under_load.py [--clients 8] [--duration 20] [--videos 2] [--photos 6]``
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.rebuild_under_load import _fill, _phase, _setup  # noqa: E402 - after the path is set
from bench.search_load import Probe, SearchLoad  # noqa: E402
from tests.support.redis_server import INSTALL_HINT, redis_command, wait_until_answering  # noqa: E402

#: Seconds one rebuild or one round of re-ingests may take before the bench gives up.
RUN_TIMEOUT = 600
#: The server answers one client address: the anonymous search limit (30/min by default) is lifted.
UNTHROTTLED = "1000000/min"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path: Path, chars: int = 3000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


class Api:
    """JSON requests to the server, one connection each."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port, self.token = port, token

    def request(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> tuple[int, bytes]:
        headers = {"Connection": "close", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, json.dumps(body).encode() if body is not None else None, headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: dict | None = None, expect: int = 200) -> dict:
        status, data = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path}: HTTP {status} (expected {expect}): {data[:500]!r}")
        return json.loads(data)


class HttpSearchLoad(SearchLoad):
    """SearchLoad's threads, each search a ``POST /api/search/`` to the server (anonymous: the collection is public)."""

    def __init__(self, port: int, collection_id: int, probes: Sequence[Probe], threads: int = 8, top_k: int = 10) -> None:
        super().__init__(collection_id, probes, threads=threads, top_k=top_k)
        self.api = Api(port)

    def _run(self, n: int) -> None:
        i = n
        while not self._stop.is_set():
            probe = self.probes[i % len(self.probes)]
            i += 1
            body = {"collection": self.collection_id, "text": probe.text, "top_k": self.top_k}
            started = time.perf_counter()
            try:
                status, data = self.api.request("POST", "/api/search/", body)
                elapsed = (time.perf_counter() - started) * 1000
                if status != 200:
                    self._record_error(f"HTTP {status}: {data[:300]!r}")
                    continue
                results = json.loads(data)["results"]
            except (OSError, http.client.HTTPException, ValueError, KeyError) as exc:
                self._record_error(f"{type(exc).__name__}: {exc}")
                continue
            videos = {r["video"]["id"] for r in results if r.get("type") == "clip"}
            self._record(probe, len(results), videos, elapsed)


class Processes:
    """Redis, a Celery worker and scripts/serve.sh (gunicorn), started in that order and stopped in reverse."""

    def __init__(self, workdir: Path, env: dict[str, str], web_workers: int | None, web_threads: int | None) -> None:
        self.workdir, self.env = workdir, env
        self.web = {"VIDEOSEARCH_WEB_WORKERS": web_workers, "VIDEOSEARCH_WEB_THREADS": web_threads}
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.port = free_port()
        self.server_log, self.worker_log = workdir / "server.log", workdir / "worker.log"

    def _start(self, name: str, cmd: list[str], env: dict[str, str], log: Path | None) -> subprocess.Popen:
        out = open(log, "ab") if log else subprocess.DEVNULL
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # a Ctrl-C of the bench does not hit them mid-phase
        self.procs.append((name, proc))
        return proc

    def start(self) -> None:
        redis_url = self._start_redis()
        env = {**self.env, "REDIS_URL": redis_url}
        self._start_worker(env)
        self._start_server(env)

    def _start_redis(self) -> str:
        port = free_port()
        (self.workdir / "redis").mkdir()
        command = redis_command(port, self.workdir / "redis")
        if command is None:
            raise RuntimeError(INSTALL_HINT)
        self._start("redis", command, self.env, None)
        if not wait_until_answering(port):
            raise RuntimeError("redis-server did not start")
        return f"redis://127.0.0.1:{port}/0"

    def _start_worker(self, env: dict[str, str]) -> None:
        proc = self._start("worker", [sys.executable, "-m", "celery", "-A", "videosearch", "worker", "--pool", "prefork",
                                      "--concurrency", "1", "--loglevel", "INFO", "--hostname", "bench@%h",
                                      "--without-gossip", "--without-mingle"], env, self.worker_log)
        self._wait(proc, self.worker_log, lambda: " ready." in self.worker_log.read_text(errors="replace"),
                   "celery worker")

    def _start_server(self, env: dict[str, str]) -> None:
        server_env = {**env, "VIDEOSEARCH_BIND": f"127.0.0.1:{self.port}", "PYTHON": sys.executable,
                      **{k: str(v) for k, v in self.web.items() if v}}
        proc = self._start("server", ["bash", str(ROOT / "scripts" / "serve.sh")], server_env, self.server_log)

        def answering() -> bool:
            try:
                return Api(self.port).request("GET", "/api/", timeout=5)[0] == 200
            except OSError:
                return False

        self._wait(proc, self.server_log, answering, "scripts/serve.sh")

    def _wait(self, proc: subprocess.Popen, log: Path, ready: Callable[[], bool], what: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited {proc.returncode}:\n{log_tail(log)}")
            if ready():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{what} not ready in {timeout}s:\n{log_tail(log)}")

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.poll() is not None:
                log = {"server": self.server_log, "worker": self.worker_log}.get(name)
                raise RuntimeError(f"{name} exited {proc.returncode}:\n{log_tail(log) if log else ''}")

    def stop(self) -> None:
        for _, proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)  # gunicorn and celery stop gracefully on it
            try:
                proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)


def _wait_until(done: Callable[[], bool], processes: Processes, what: str) -> None:
    deadline = time.monotonic() + RUN_TIMEOUT
    while not done():
        processes.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not done in {RUN_TIMEOUT}s:\n{log_tail(processes.worker_log)}")
        time.sleep(0.1)


def run(workdir: Path, database_url: str | None, clients: int, duration: float, videos: int, photos: int,
        web_workers: int | None = None, web_threads: int | None = None) -> dict:
    """Fill a collection, start the processes, search under load in each phase; the JSON-ready report."""
    _setup(workdir / "data", database_url)
    from django.contrib.auth import get_user_model
    from django.db import connections
    from rest_framework.authtoken.models import Token

    from apps.search.index import read_current
    from apps.search.vectors import collection_index

    suffix = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    collection, items, probes = _fill(workdir / "source", videos, photos, name=f"bench-serve-{suffix}")
    fill_s = time.perf_counter() - started
    collection.public = True
    collection.save(update_fields=["public"])
    user = get_user_model().objects.create_superuser(f"bench-{suffix}", f"bench-{suffix}@example.org", uuid.uuid4().hex)
    token = Token.objects.create(user=user).key
    count = collection_index(collection).info().count
    index_dir = collection.index_dir
    video_ids = [video.pk for video in items]
    connections.close_all()  # the server and the worker have the database to themselves

    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIDEOSEARCH_THROTTLE_", "REDIS_URL"))}
    env.update({f"VIDEOSEARCH_THROTTLE_{scope}": UNTHROTTLED for scope in ("SEARCH_ANON", "SEARCH_USER")})
    env["PYTHONUNBUFFERED"] = "1"
    processes = Processes(workdir, env, web_workers, web_threads)
    try:
        processes.start()
        api = Api(processes.port, token)

        def rebuild() -> None:
            before = read_current(index_dir)
            api.json("POST", f"/api/collections/{collection.pk}/rebuild/", expect=202)
            _wait_until(lambda: read_current(index_dir) != before, processes, "a rebuild")

        def reingest() -> None:
            jobs = [api.json("POST", f"/api/videos/{pk}/reingest/", expect=202)["id"] for pk in video_ids]

            def all_done() -> bool:
                states = [api.json("GET", f"/api/jobs/{job}/")["status"] for job in jobs]
                if "failed" in states:
                    raise RuntimeError(f"a re-ingest failed: jobs {jobs} are {states}:\n{log_tail(processes.worker_log)}")
                return all(state == "indexed" for state in states)

            _wait_until(all_done, processes, "the re-ingest of every video")

        def new_load() -> SearchLoad:
            return HttpSearchLoad(processes.port, collection.pk, probes, threads=clients)

        with new_load() as warm_up:  # every gunicorn worker loads the model before the idle phase's figures
            warm_up.wait_for(4 * clients)
        if warm_up.report.errors:
            raise RuntimeError(f"searches fail before any phase: {warm_up.report.first_errors[:3]}")
        phases = {
            "idle": _phase(new_load, clients, duration, None),
            "rebuild": _phase(new_load, clients, duration, rebuild),
            "reingest": _phase(new_load, clients, duration, reingest),
        }
        after = api.json("GET", f"/api/collections/{collection.pk}/")["index"]["vectors"]
        if database_url:  # someone else's database: leave nothing of the bench in it
            status, body = api.request("DELETE", f"/api/collections/{collection.pk}/")
            if status != 204:
                raise RuntimeError(f"deleting the bench's collection: HTTP {status}: {body[:300]!r}")
    finally:
        processes.stop()
    if database_url:
        user.delete()
    return {
        "clients": clients,
        "videos": videos,
        "photos": photos,
        "database": "postgresql" if (database_url or "").startswith(("postgres", "pgsql")) else "sqlite",
        "web_workers": web_workers or "serve.sh default",
        "web_threads": web_threads or "serve.sh default",
        "vectors": count,
        "vectors_after": after,
        "fill_seconds": round(fill_s, 1),
        "phases": phases,
        "server_log_tracebacks": processes.server_log.read_text(errors="replace").count("Traceback"),
        "worker_log_tracebacks": processes.worker_log.read_text(errors="replace").count("Traceback"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8, help="threads searching over HTTP")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase (at least one run)")
    parser.add_argument("--videos", type=int, default=2)
    parser.add_argument("--photos", type=int, default=6)
    parser.add_argument("--web-workers", type=int, help="gunicorn worker processes (default: serve.sh's)")
    parser.add_argument("--web-threads", type=int, help="threads per gunicorn worker (default: serve.sh's)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run(Path(tmp), os.environ.get("DATABASE_URL") or None, args.clients, args.duration, args.videos,
                     args.photos, args.web_workers, args.web_threads)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Shared fixtures: isolated storage per test, the shared real media, a real Redis and a real Celery worker."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support import postgres
from tests.support import shared_media as shared
from tests.support.redis_server import INSTALL_HINT, redis_command, wait_until_answering
from tests.support.skips import SkipGuard

REPO = Path(__file__).resolve().parents[1]
#: ../shared/media (or $VIDEOSEARCH_SHARED_MEDIA): tests/support/shared_media.py says where and what it holds.
SHARED_MEDIA = shared.root()


#: Rate limits for the test session: tests run hundreds of searches and uploads as one client.
#: tests/integration/test_throttling.py sets low ones where it needs them.
TEST_THROTTLE_RATE = "100000/min"


def pytest_addoption(parser) -> None:
    parser.addoption("--postgres", action="store_true",
                     help=f"run the tests that use the database against a throwaway PostgreSQL cluster instead of "
                          f"SQLite (also {postgres.ENV_FLAG}=1)")


def pytest_configure(config) -> None:
    os.environ.setdefault("VIDEOSEARCH_EMBEDDER", "testmodel")
    if shared.in_ci():  # no silent skips in CI: any skip not allowed in tests/support/skips.py fails the run
        config.pluginmanager.register(SkipGuard(), "videosearch-skip-guard")
    from django.conf import settings

    if postgres.wanted(config.getoption("--postgres")):
        use_postgres(config)

    # pytest-django has loaded the settings already: set the rates there, and in the environment for the
    # servers and workers tests start.
    for scope in settings.THROTTLE_RATES:
        os.environ.setdefault(f"VIDEOSEARCH_THROTTLE_{scope.upper()}", TEST_THROTTLE_RATE)
    settings.THROTTLE_RATES = {scope: os.environ[f"VIDEOSEARCH_THROTTLE_{scope.upper()}"] for scope in settings.THROTTLE_RATES}


def pytest_collection_modifyitems(config, items) -> None:
    """On PostgreSQL run only the tests the database makes a difference to: the others ran on SQLite already."""
    if not postgres.wanted(config.getoption("--postgres")):
        return
    others = [item for item in items if not postgres.worth_a_postgres_run(item)]
    if others:
        config.hook.pytest_deselected(items=others)
        items[:] = [item for item in items if postgres.worth_a_postgres_run(item)]


def use_postgres(config) -> None:
    """Start this session's PostgreSQL cluster and point Django at it, before anything connects; the test
    database pytest-django creates is then ``test_videosearch`` on it."""
    from django.conf import settings
    from django.db import connections

    from videosearch.database import database_settings

    cluster = postgres.start_cluster()
    config.add_cleanup(cluster.stop)
    url = cluster.url("videosearch")
    postgres.create_database(url)
    os.environ["DATABASE_URL"] = url  # processes the tests start without a URL of their own use it too
    default = settings.DATABASES["default"]  # the dict Django's connection handler holds: change it in place
    default.clear()
    default.update(database_settings(url, sqlite_test_name=""))
    connections.configure_settings(settings.DATABASES)  # Django's defaults for the keys the new dict lacks
    if hasattr(connections._connections, "default"):  # a connection object for the old engine: drop it
        del connections["default"]


def session_database_url() -> str:
    """DATABASE_URL of this session's test database (SQLite file or PostgreSQL) for the worker and
    ``manage.py`` processes a test starts: they must see the rows the test made."""
    from django.db import connection

    return postgres.subprocess_database_url(connection.settings_dict)


@pytest.fixture(autouse=True)
def fresh_query_cache() -> None:
    """Each test starts with an empty cache of query embeddings (apps/search/query_cache.py): it lives as long as
    the process, so a test that counts encoder calls, or compares two backends' vectors, would otherwise depend on
    which tests ran before it."""
    from apps.search.query_cache import TEXT_QUERIES

    TEXT_QUERIES.clear()


@pytest.fixture
def storage_dirs(settings, tmp_path: Path) -> Path:
    """Fresh MEDIA_ROOT and INDEX_ROOT for one test (the code reads them from settings at call time)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.INDEX_ROOT = tmp_path / "indexes"
    settings.EMBEDDER = "testmodel"
    return tmp_path


@pytest.fixture
def client(admin_user):
    """A client signed in as a superuser: the tests of features act with every right. Access rules are
    tested with ``anon_client`` and ordinary users (tests/integration/test_access.py)."""
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(admin_user)
    return signed_in


@pytest.fixture
def anon_client():
    from django.test import Client

    return Client()


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """The real test media folder, complete; else the test skips with the reason (fails in CI)."""
    return shared.require()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A real redis-server on a free loopback port for this test session."""
    port, workdir = free_port(), tmp_path_factory.mktemp("redis")
    command = redis_command(port, workdir)
    if command is None:
        pytest.fail(INSTALL_HINT)
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if not wait_until_answering(port):
        proc.kill()
        pytest.fail("redis-server did not start")
    yield f"redis://127.0.0.1:{port}/0"
    proc.terminate()
    proc.wait(10)


class WorkerProcess:
    """A real `celery worker` process sharing the test database, media and index folders."""

    def __init__(self, env: dict[str, str], log: Path, name: str, args: tuple[str, ...] = ()) -> None:
        self.env, self.log, self.name, self.args = env, log, name, args
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        cmd = [
            sys.executable, "-m", "celery", "-A", "videosearch", "worker", "--pool", "prefork", "--concurrency", "1",
            "--loglevel", "INFO", "--hostname", f"{self.name}@%h", "--without-gossip", "--without-mingle", *self.args,
        ]
        self.proc = subprocess.Popen(cmd, cwd=REPO, env=self.env, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"celery worker exited:\n{self.log.read_text()[-3000:]}")
            if " ready." in self.log.read_text(errors="replace"):
                return
            time.sleep(0.2)
        raise RuntimeError(f"celery worker not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def children(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes: no chance to ack or clean up."""
        for pid in [*self.children(), self.proc.pid]:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def celery_worker(redis_url, transactional_db, storage_dirs, settings, tmp_path):
    """Start a real worker and send this test's tasks through Redis (not in-process)."""

    from videosearch.celery import app

    env = {
        **os.environ,
        "REDIS_URL": redis_url,
        "DATABASE_URL": session_database_url(),
        "VIDEOSEARCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VIDEOSEARCH_INDEX_ROOT": str(settings.INDEX_ROOT),
        "VIDEOSEARCH_EMBEDDER": settings.EMBEDDER,
        "VIDEOSEARCH_TASK_VISIBILITY_S": "5",
        "VIDEOSEARCH_TASK_RESTORE_SWEEP_S": "1",
        "PYTHONUNBUFFERED": "1",
    }
    old_url = app.conf.broker_url
    app.conf.broker_url = redis_url
    app.conf.task_always_eager = False
    app.conf.broker_transport_options = {"visibility_timeout": 5}
    reset_connections(app)
    workers: list[WorkerProcess] = []

    def start(name: str = "w1", args: tuple[str, ...] = (), **extra_env: str) -> WorkerProcess:
        """Start a worker; ``args`` go to `celery worker`, ``extra_env`` into its environment."""
        worker = WorkerProcess({**env, **extra_env}, tmp_path / f"worker-{name}.log", name, args)
        worker.start()
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()
    app.conf.task_always_eager = True
    app.conf.broker_url = old_url
    reset_connections(app)


def reset_connections(app) -> None:
    """Drop the app's connection and producer pools so the next task uses the current broker URL."""
    from kombu import pools

    pools.reset()  # kombu's global pools outlive the app's, keyed by broker URL
    app._pool = None
    app.amqp._producer_pool = None


def wait_for(predicate, timeout: float = 120, interval: float = 0.3, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture(scope="session")
def demo_media(tmp_path_factory):
    """The generated demo video (known segments) and photos, made once per test session."""
    from apps.search.testmodel.demo_video import make_demo_photos, make_demo_video

    folder = tmp_path_factory.mktemp("demo-media")
    segments = make_demo_video(folder / "clips" / "demo.mp4")
    photos = make_demo_photos(folder / "album", n=6)
    return folder / "clips" / "demo.mp4", segments, photos

"""scripts/serve.sh as deployed: a real gunicorn on a loopback port, real HTTP requests, DEBUG off.

One server (with two deliberately failing views added, tests/integration/failing_site) is started for
the module on a fresh data directory; the last test stops it with SIGTERM and starts it again.
"""
from __future__ import annotations

import gzip
import io
import json
import os
import re
import signal
import stat
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image

from tests.conftest import REPO, free_port
from tests.integration.failing_site.urls import FAILURE_TEXT

pytestmark = [pytest.mark.slow]

SERVE = REPO / "scripts" / "serve.sh"
ONE_YEAR = 365 * 24 * 3600


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict:
        return json.loads(self.body)


def fetch(url: str, headers: dict[str, str] | None = None, data: bytes | None = None) -> Answer:
    """One HTTP request; error statuses are answers too. No automatic decompression."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
    except urllib.error.HTTPError as err:
        return Answer(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


def post_multipart(url: str, fields: dict[str, str], file_field: str, filename: str, content: bytes,
                   headers: dict[str, str] | None = None) -> Answer:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return fetch(url, {"Content-Type": f"multipart/form-data; boundary={boundary}", **(headers or {})}, b"".join(parts))


def server_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIDEOSEARCH_", "REDIS_URL", "DATABASE_URL"))}
    env.update(VIDEOSEARCH_DATA_DIR=str(data_dir), VIDEOSEARCH_EMBEDDER="testmodel", PYTHONUNBUFFERED="1", **extra)
    return env


class Served:
    """scripts/serve.sh in the foreground (it execs gunicorn, so its pid is gunicorn's master)."""

    def __init__(self, data_dir: Path, log: Path) -> None:
        self.data_dir, self.log = data_dir, log
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 60) -> None:
        env = server_env(
            self.data_dir,
            DJANGO_SETTINGS_MODULE="tests.integration.failing_site.settings",
            VIDEOSEARCH_BIND=f"127.0.0.1:{self.port}",
            VIDEOSEARCH_WEB_WORKERS="1",
            VIDEOSEARCH_WEB_THREADS="2",
            VIDEOSEARCH_WEB_GRACEFUL_TIMEOUT="10",
            PYTHON=str(REPO / ".venv" / "bin" / "python"),
        )
        self.proc = subprocess.Popen(["bash", str(SERVE)], cwd=REPO, env=env,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve.sh exited {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                if fetch(self.url + "/").status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"server not answering in {timeout}s:\n{self.log_text()[-3000:]}")

    def terminate(self, timeout: float = 30) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Served:
    root = tmp_path_factory.mktemp("prod")
    served = Served(root / "data", root / "server.log")
    served.start()
    yield served
    if served.proc.poll() is None:
        served.proc.kill()
        served.proc.wait(10)


def test_page_and_its_static_files_are_served_compressed_and_cached_for_a_year(server):
    page = fetch(server.url + "/")
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page.body.decode())
    assert assets, page.body.decode()[:500]
    for asset in assets:
        assert re.search(r"\.[0-9a-f]{12}\.(css|js)$", asset), f"{asset}: no content hash in the name"
        answer = fetch(server.url + asset, {"Accept-Encoding": "gzip"})
        assert answer.status == 200
        max_age = int(re.search(r"max-age=(\d+)", answer.headers["cache-control"]).group(1))
        assert max_age >= ONE_YEAR and "immutable" in answer.headers["cache-control"]
        if asset.endswith(".css"):  # big enough for WhiteNoise to keep a compressed copy
            assert answer.headers.get("content-encoding") == "gzip"
            assert b"{" in gzip.decompress(answer.body)


def test_static_files_go_in_brotli_to_browsers_that_take_it_and_the_icon_is_a_long_cached_file(server):
    """What Chromium asks for (br first): the smaller Brotli copy collectstatic made; the tab icon is a hashed
    static file too (a missing /favicon.ico used to cost a console error on every page)."""
    import brotli

    page = fetch(server.url + "/").body.decode()
    css = re.search(r'href="(/static/css/app\.[0-9a-f]{12}\.css)"', page).group(1)
    plain = fetch(server.url + css)
    assert plain.headers.get("content-encoding") is None
    answer = fetch(server.url + css, {"Accept-Encoding": "gzip, deflate, br, zstd"})
    assert answer.status == 200 and answer.headers.get("content-encoding") == "br"
    assert "accept-encoding" in answer.headers["vary"].lower()
    assert brotli.decompress(answer.body) == plain.body and len(answer.body) < len(plain.body) / 2

    icon = re.search(r'<link rel="icon" href="(/static/img/favicon\.[0-9a-f]{12}\.svg)" type="image/svg\+xml">', page)
    assert icon, page[:600]
    favicon = fetch(server.url + icon.group(1))
    assert favicon.status == 200 and favicon.headers["content-type"].startswith("image/svg+xml")
    assert int(re.search(r"max-age=(\d+)", favicon.headers["cache-control"]).group(1)) >= ONE_YEAR
    root_icon = fetch(server.url + "/favicon.ico")  # what a browser asks for on a page that names none (the admin)
    assert root_icon.status == 200 and root_icon.body.startswith(b"\x00\x00\x01\x00")  # an ICO file


def test_api_answers_json(server):
    root = fetch(server.url + "/api/")
    assert root.status == 200 and root.headers["content-type"] == "application/json"
    assert "collections" in root.json()

    missing = fetch(server.url + "/api/no-such-endpoint/")
    assert missing.status == 404 and missing.headers["content-type"] == "application/json"
    assert missing.json()["status"] == 404

    bad_host = fetch(server.url + "/api/", {"Host": "not-an-allowed-host.example"})
    assert bad_host.status == 400 and bad_host.json() == {"error": "bad request", "status": 400}


def test_unhandled_api_error_is_json_500_without_traceback_and_logged_with_one(server):
    answer = fetch(server.url + "/api/test-failure/")
    assert answer.status == 500 and answer.headers["content-type"] == "application/json"
    assert answer.json() == {"error": "internal server error", "status": 500}
    time.sleep(0.5)  # the log line is written after the answer
    log = server.log_text()
    assert "Traceback" in log and FAILURE_TEXT in log

    page = fetch(server.url + "/test-failure/")
    assert page.status == 500 and page.headers["content-type"].startswith("text/html")
    for leak in (b"Traceback", FAILURE_TEXT.encode(), b"SECRET_KEY", b"INSTALLED_APPS"):
        assert leak not in page.body


def manage(server: Served, *args: str, **env: str) -> str:
    """Run manage.py against the server's data directory, as its operator would."""
    return subprocess.run([str(REPO / ".venv" / "bin" / "python"), "manage.py", *args], cwd=REPO, check=True,
                          capture_output=True, text=True, env=server_env(server.data_dir, **env), timeout=120).stdout


def api_token(server: Served, username: str) -> str:
    """A user made by `createsuperuser` and a token by `drf_create_token`, the documented operator commands."""
    manage(server, "createsuperuser", "--noinput", "--username", username, "--email", f"{username}@example.org",
           DJANGO_SUPERUSER_PASSWORD=uuid.uuid4().hex)
    return re.search(r"Generated token (\w+)", manage(server, "drf_create_token", username)).group(1)


def test_uploaded_media_is_served_in_byte_ranges_to_those_who_may_see_it(server):
    auth = {"Authorization": f"Token {api_token(server, 'ranges-owner')}"}
    created = fetch(server.url + "/api/collections/", {"Content-Type": "application/json", **auth},
                    json.dumps({"name": "ranges", "embedder": "testmodel"}).encode())
    assert created.status == 201, created.body
    png = io.BytesIO()
    Image.effect_noise((96, 96), 64).convert("RGB").save(png, "PNG")
    photo = post_multipart(server.url + "/api/photos/", {"collection": "ranges"}, "file", "noise.png", png.getvalue(),
                           auth)
    assert photo.status == 201, photo.body
    media_path = urlparse(photo.json()["url"]).path

    assert fetch(server.url + media_path).status == 404  # a private collection's file, to an anonymous client
    whole = fetch(server.url + media_path, auth)
    assert whole.status == 200 and whole.body == png.getvalue()
    part = fetch(server.url + media_path, {"Range": "bytes=100-199", **auth})
    assert part.status == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(png.getvalue())}"
    assert part.body == png.getvalue()[100:200]


def test_secret_is_private_and_kept_across_restarts_and_sigterm_stops_cleanly(server):
    key_file = server.data_dir / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_text()
    assert len(key.strip()) >= 50

    started = time.monotonic()
    assert server.terminate() == 0
    assert time.monotonic() - started < 15
    assert "Shutting down: Master" in server.log_text()
    with pytest.raises(OSError):
        fetch(server.url + "/")

    server.start()
    assert fetch(server.url + "/").status == 200
    assert key_file.read_text() == key
    assert [p.name for p in server.data_dir.iterdir() if "secret" in p.name] == ["secret_key"]
    assert server.terminate() == 0


def test_runserver_serves_static_files_with_debug_off_without_collectstatic(server, tmp_path):
    """The offline demo ends in runserver: its page must still get its CSS and JS (WhiteNoise, files in place)."""
    port = free_port()
    env = server_env(tmp_path / "data", DATABASE_URL=f"sqlite:///{server.data_dir / 'db.sqlite3'}")
    proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "python"), "manage.py", "runserver", "--noreload",
                             f"127.0.0.1:{port}"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 40
        while True:
            try:
                page = fetch(f"http://127.0.0.1:{port}/")
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.3)
        assert page.status == 200
        assert not any((tmp_path / "data" / "static").iterdir())  # nothing was collected
        assets = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page.body.decode())
        assert any(a.endswith(".css") for a in assets)
        for asset in assets:
            answer = fetch(f"http://127.0.0.1:{port}{asset}")
            assert answer.status == 200 and answer.body == (REPO / "static" / asset.removeprefix("/static/")).read_bytes()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(15)

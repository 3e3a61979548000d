"""The API keeps the contract of its own OpenAPI schema: schemathesis against a real gunicorn, and the
fixes of what it found (fast, in-process).

scripts/schemathesis.sh (every check, 30 cases per operation and phase, deterministic) runs twice against
scripts/serve.sh on the test database (SQLite, or PostgreSQL in the --postgres run), seeded with the
`demo` collection (the demo video and photos, ingested in-process): as an anonymous client, and with a
superuser's API token. Each run starts from the same seeded data (schemathesis deletes what it finds).
Any failure fails the test, with schemathesis's report of it.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections
from rest_framework.authtoken.models import Token

from apps.media.models import Collection, Photo, Status, Video
from tests.conftest import REPO, free_port, session_database_url
from tests.support import snapshots

from .helpers import upload

pytestmark = pytest.mark.django_db

SERVE = REPO / "scripts" / "serve.sh"
SCHEMATHESIS = REPO / "scripts" / "schemathesis.sh"


@dataclass
class Seeded:
    """The seeded database (SQLite or PostgreSQL), media and indexes, and a copy of them to start each run from."""

    database_url: str
    media: Path
    indexes: Path
    pristine: Path
    token: str

    def snapshot(self) -> None:
        connections.close_all()
        snapshots.save(connection.settings_dict, self.pristine)
        for path in (self.media, self.indexes):
            copy_tree(path, self.pristine / path.name)

    def restore(self) -> None:
        connections.close_all()
        snapshots.restore(connection.settings_dict, self.pristine)
        for path in (self.media, self.indexes):
            copy_tree(self.pristine / path.name, path)

    def discard(self) -> None:
        connections.close_all()
        snapshots.discard(connection.settings_dict, self.pristine)


def copy_tree(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


@pytest.fixture
def seeded(client, storage_dirs, settings, demo_media, tmp_path) -> Iterator[Seeded]:
    video, _, photos = demo_media
    # public, so the anonymous run reads it (and is refused every write); "hidden" is private to its owner
    created = client.post("/api/collections/", {"name": "demo", "embedder": "testmodel", "public": True},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    hidden = client.post("/api/collections/", {"name": "hidden", "embedder": "testmodel"}, content_type="application/json")
    assert hidden.status_code == 201, hidden.content
    for endpoint, path in [("/api/videos/", video), *(("/api/photos/", photo) for photo, _, _ in photos[:3])]:
        response = upload(client, endpoint, "demo", path)
        assert response.status_code == 201, response.content
    assert {v.status for v in Video.objects.all()} | {p.status for p in Photo.objects.all()} == {Status.INDEXED}
    user = get_user_model().objects.create_superuser("schema", "schema@example.org", "not-used")
    state = Seeded(session_database_url(), Path(settings.MEDIA_ROOT), Path(settings.INDEX_ROOT),
                   tmp_path / "pristine", Token.objects.create(user=user).key)
    state.pristine.mkdir()
    state.snapshot()
    yield state
    state.discard()


class Server:
    """scripts/serve.sh (gunicorn, DEBUG off) on a free loopback port, on the seeded data."""

    def __init__(self, seeded: Seeded, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir / "server.log"
        ours = ("DJANGO_", "VIDEOSEARCH_", "REDIS_URL", "DATABASE_URL")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(ours)}
        self.env.update(
            DATABASE_URL=seeded.database_url, VIDEOSEARCH_MEDIA_ROOT=str(seeded.media),
            VIDEOSEARCH_INDEX_ROOT=str(seeded.indexes), VIDEOSEARCH_DATA_DIR=str(data_dir),
            VIDEOSEARCH_EMBEDDER="testmodel", VIDEOSEARCH_BIND=f"127.0.0.1:{self.port}", VIDEOSEARCH_WEB_WORKERS="1",
            VIDEOSEARCH_WEB_THREADS="2", VIDEOSEARCH_THROTTLE_SEARCH_ANON="off", VIDEOSEARCH_THROTTLE_SEARCH_USER="off",
            VIDEOSEARCH_THROTTLE_UPLOAD_ANON="off", VIDEOSEARCH_THROTTLE_UPLOAD_USER="off",
            PYTHON=str(REPO / ".venv" / "bin" / "python"), PYTHONUNBUFFERED="1",
        )
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.proc = subprocess.Popen(["bash", str(SERVE)], cwd=REPO, env=self.env, stdout=open(self.log, "ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while not self.answers("/api/schema/"):
            assert self.proc.poll() is None, f"serve.sh exited:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, f"server not answering:\n{self.log.read_text()[-3000:]}"
            time.sleep(0.3)
        assert self.answers("/api/search/?collection=demo&text=red+car", timeout=120)  # loads the model once
        return self

    def __exit__(self, *exc) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)

    def answers(self, path: str, timeout: float = 5, token: str | None = None) -> bool:
        headers = {"Authorization": f"Token {token}"} if token else {}
        try:
            with urllib.request.urlopen(urllib.request.Request(self.url + path, headers=headers),
                                        timeout=timeout) as response:
                return response.status == 200
        except (OSError, urllib.error.HTTPError):
            return False


@dataclass
class Run:
    returncode: int
    output: str

    def figure(self, pattern: str) -> int:
        found = re.search(pattern, self.output)
        return int(found.group(1)) if found else 0

    @property
    def summary(self) -> str:
        operations = self.figure(r"Tested:\s+(\d+)")
        cases = self.figure(r"(\d+) generated")
        failures = self.figure(r"(\d+) (?:unique )?failures?\b")
        errors = self.figure(r"(\d+) errored")
        return f"{operations} operations, {cases} cases, {failures} failures, {errors} errors"


def schemathesis(url: str, workdir: Path, token: str | None = None) -> Run:
    env = {**os.environ, "API_TOKEN": token or "", "SEED": "", "NO_COLOR": "1"}
    done = subprocess.run(["bash", str(SCHEMATHESIS), url, "--no-color"], cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout + done.stderr)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_api_keeps_its_schema_for_anonymous_and_token_clients(seeded, tmp_path):
    summaries = []
    for who, token in (("anonymous", None), ("token", seeded.token)):
        seeded.restore()
        data_dir = tmp_path / f"server-{who}"
        data_dir.mkdir()
        with Server(seeded, data_dir) as server:
            assert server.answers("/api/collections/", token=token)  # a bad token would make every answer a 401
            run = schemathesis(server.url, data_dir, token)
        summaries.append(f"{who}: {run.summary}")
        print(f"schemathesis, {summaries[-1]}")
        assert run.returncode == 0, f"schemathesis ({who}) failed: {run.summary}\n{run.output[-12000:]}"
        assert run.figure(r"Tested:\s+(\d+)") >= 20, run.output[-3000:]
    print("\n".join(summaries))


# -- the schema itself ----------------------------------------------------------------------------------

@pytest.fixture
def schema(client) -> dict:
    return client.get("/api/schema/", {"format": "json"}).json()


def test_every_operation_declares_its_errors_in_one_shape(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            codes = set(operation["responses"])
            assert {"400", "401", "403"} <= codes, (method, path, codes)
            for code in codes - {"414"}:
                if code >= "400":
                    assert operation["responses"][code]["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/Error"}, (method, path, code)
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) == {"error", "status", "details"} and set(error["required"]) == {"error", "status"}


def test_operations_declare_their_own_answers(schema):
    paths = schema["paths"]
    assert set(paths["/api/videos/{id}/reingest/"]["post"]["responses"]) >= {"202", "404"}
    assert "200" not in paths["/api/videos/{id}/reingest/"]["post"]["responses"]
    assert set(paths["/api/collections/{id}/rebuild/"]["post"]["responses"]) >= {"202", "404"}
    upload = paths["/api/photos/"]["post"]["responses"]
    assert {"200", "201", "413", "415"} <= set(upload)
    assert upload["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/PhotoUpload")
    assert set(paths["/api/explain/"]["get"]["responses"]["200"]["content"]) == {"image/png"}
    for search in (paths["/api/search/"]["get"], paths["/api/search/"]["post"]):
        assert {"200", "404", "409", "503"} <= set(search["responses"])
        assert search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SearchResponse")
    result = schema["components"]["schemas"]["SearchResult"]
    assert result["discriminator"]["propertyName"] == "type"
    assert set(result["discriminator"]["mapping"]) == {"clip", "photo", "video"}


@pytest.mark.django_db(transaction=True)  # ingestion is queued on commit
def test_search_answers_match_their_schema_key_for_key(client, storage_dirs, demo_media, schema):
    """Every key response_to_dict writes is declared, required, and nullable exactly where it can be null."""
    video, _, photos = demo_media
    client.post("/api/collections/", {"name": "demo", "embedder": "testmodel"}, content_type="application/json")
    for endpoint, path in (("/api/videos/", video), ("/api/photos/", photos[0][0])):
        response = upload(client, endpoint, "demo", path)
        assert response.status_code == 201, response.content
    components = schema["components"]["schemas"]
    for group_by in ("clip", "video"):
        body = client.get("/api/search/", {"collection": "demo", "text": "red car", "group_by": group_by,
                                           "timeline": "true", "top_k": 20}).json()
        assert_keys(body, components["SearchResponse"], components)
        kinds = {result["type"] for result in body["results"]}
        assert kinds == ({"clip", "photo"} if group_by == "clip" else {"video", "photo"})
        for result in body["results"]:
            assert_keys(result, components[f"{result['type'].title()}Result"], components)
        for timeline in body["timelines"].values():
            assert_keys(timeline, components["Timeline"], components)


def assert_keys(value: dict, component: dict, components: dict) -> None:
    assert set(value) == set(component["properties"]) == set(component["required"]), (value, component)
    for key, item in value.items():
        declared = component["properties"][key]
        if item is None:
            assert declared.get("nullable"), key
        elif "$ref" in declared and isinstance(item, dict):
            referred = components[declared["$ref"].rsplit("/", 1)[1]]
            if "properties" in referred:
                assert_keys(item, referred, components)


# -- what schemathesis found: each a 500, or an answer the schema says is wrong ------------------------

def test_a_model_spec_that_names_no_model_is_refused_and_never_a_500(client, storage_dirs):
    bad = client.post("/api/collections/", {"name": "x", "embedder": "NULL"}, content_type="application/json")
    assert bad.status_code == 400 and "unknown model; choose one of" in bad.json()["error"]
    Collection.objects.create(name="old", embedder="open_clip:no-such-arch/none")  # made before the check
    search = client.get("/api/search/", {"collection": "old", "text": "car"})
    assert search.status_code == 503 and "no longer configured" in search.json()["error"]


@pytest.mark.parametrize("ref", ["\u00b34", "\u0661\u0662", "99999999999999999999"])
def test_a_collection_ref_that_only_looks_like_an_id_is_404(client, storage_dirs, ref):
    for url in ("/api/photos/", "/api/search/"):
        response = client.get(url, {"collection": ref, "text": "car"})
        assert response.status_code == 404, (url, ref, response.content)


@pytest.mark.parametrize("body", [{"name": 0}, {"name": " " * 150 + "x" * 60}, {"name": "x", "description": 5}])
def test_text_fields_take_json_strings_and_their_length_as_sent(client, storage_dirs, body):
    response = client.post("/api/collections/", body, content_type="application/json")
    assert response.status_code == 400, response.content


def test_collections_take_json_only(client, storage_dirs):
    assert client.post("/api/collections/", {"name": "form"}).status_code == 415  # multipart


@pytest.mark.parametrize(("query", "status"), [("page=", 404), ("page=last", 404), ("page=0", 404), ("page=1", 200),
                                               ("video=", 400), ("photo=", 400), ("collection=", 404)])
def test_list_parameters_mean_what_the_schema_says(client, storage_dirs, query, status):
    assert client.get(f"/api/jobs/?{query}").status_code == status

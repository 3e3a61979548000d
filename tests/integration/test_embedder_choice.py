"""Only the operator's list names models: clients pick a name, never a spec (a spec can name a server file)."""
from __future__ import annotations

import importlib
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from apps.media.models import Collection
from apps.search.embedders import registry
from apps.search.testmodel.demo_video import make_demo_photos

from .helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)

PATH_SPECS = ["open_clip:ViT-B-32@/etc/passwd", "open_clip:ViT-B-32@/no/such/file.pt", "onnx:/etc", "onnx:/no/such/dir"]


@pytest.fixture
def listed(settings, storage_dirs):
    """The operator lists a second name for the test model and a private checkpoint path."""
    settings.EMBEDDERS = {"default": settings.EMBEDDER, "testmodel": "testmodel", "alt": "testmodel",
                          "private": "open_clip:ViT-B-32@/srv/models/secret.pt"}
    return settings


def registry_state() -> tuple[set, set]:
    """What the embedder registry has built or started building (a lock is taken before any build)."""
    return set(registry._cache), set(registry._spec_locks)


def post_collection(client, **payload):
    return client.post("/api/collections/", payload, content_type="application/json")


def test_a_client_spec_with_a_server_path_is_refused_alike_and_builds_nothing(client, listed):
    before = registry_state()
    answers = [post_collection(client, name=f"probe{i}", embedder=spec) for i, spec in enumerate(PATH_SPECS)]
    assert {a.status_code for a in answers} == {400}
    bodies = {a.content.replace(f"probe{i}".encode(), b"") for i, a in enumerate(answers)}
    assert len(bodies) == 1  # the same answer whether the file exists or not: no oracle
    body = answers[0].json()
    assert body["error"] == "embedder: unknown model; choose one of: default, testmodel, alt, private (blank: default)"
    for word in ("passwd", "/etc", "exist", "No such", "pickle", "ViT"):
        assert word not in answers[0].content.decode()
    assert not Collection.objects.exists()
    # changing an existing collection the same way is refused too, and it keeps its model
    created = post_collection(client, name="trips", embedder="alt").json()
    for spec in PATH_SPECS:
        response = client.patch(f"/api/collections/{created['id']}/", {"embedder": spec}, content_type="application/json")
        assert response.status_code == 400 and "choose one of" in response.json()["error"]
    assert Collection.objects.get().embedder == "alt"
    assert registry_state() == before  # no model was built, or even looked up


@pytest.mark.parametrize("value", ["nope", "Default", "testmodel ", 5, ["alt"], {"name": "alt"}])
def test_an_unknown_name_is_a_400_listing_the_names(client, listed, value):
    response = post_collection(client, name="c", embedder=value)
    assert response.status_code == 400, response.content
    assert "choose one of: default, testmodel, alt, private" in response.json()["error"]
    assert response.json()["details"]["embedder"]


def test_a_listed_name_is_used_and_shown_without_server_paths(client, listed, tmp_path):
    listed.EMBEDDER = f"onnx:{tmp_path / 'no-export'}"  # the default would fail: only "alt" can make this work
    photo, caption_en, _ = make_demo_photos(tmp_path / "album", n=1)[0]
    picked = post_collection(client, name="picked", embedder="alt").json()
    assert (picked["embedder"], picked["model"]) == ("alt", "testmodel")
    photo_id = upload(client, "/api/photos/", "picked", photo).json()["id"]
    assert client.get(f"/api/photos/{photo_id}/").json()["status"] == "indexed"
    response = client.post("/api/search/", {"collection": "picked", "text": caption_en}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["model_id"].startswith("testmodel:")
    assert response.json()["results"][0]["type"] == "photo"
    # blank is the default, which here is a missing export: the name above was what made search work
    post_collection(client, name="plain")
    assert client.post("/api/search/", {"collection": "plain", "text": "car"},
                       content_type="application/json").status_code == 503
    # a listed model with a server path is usable by name, and shown by name only
    private = post_collection(client, name="mine", embedder="private")
    assert private.status_code == 201 and private.json()["model"] == "private"
    listing = client.get("/api/collections/").content.decode() + client.get("/collections/").content.decode()
    assert "/srv/models" not in listing and "secret.pt" not in listing


def test_a_name_taken_off_the_list_fails_readably(client, listed):
    post_collection(client, name="old", embedder="alt")
    listed.EMBEDDERS = {"default": listed.EMBEDDER, "testmodel": "testmodel"}
    response = client.post("/api/search/", {"collection": "old", "text": "car"}, content_type="application/json")
    assert response.status_code == 503 and "'alt' is no longer configured" in response.json()["error"]
    assert client.get("/collections/").status_code == 200  # the list page says so instead of failing
    assert "alt (not configured)" in client.get("/api/collections/").json()["results"][0]["model"]


def test_the_page_form_and_the_admin_offer_a_select_of_names(client, admin_client, listed):
    page = client.get("/collections/").content.decode()
    assert '<select name="embedder"' in page and '<option value="alt">alt: testmodel</option>' in page
    assert '<option value="private">private</option>' in page and "secret.pt" not in page
    refused = client.post("/collections/", {"name": "web", "embedder": PATH_SPECS[0]})
    assert refused.status_code == 200 and "choose one of" in refused.content.decode()
    assert client.post("/collections/", {"name": "web", "embedder": "alt"}).status_code == 302
    assert Collection.objects.get(name="web").embedder == "alt"
    add = admin_client.get("/admin/media/collection/add/").content.decode()
    assert '<select name="embedder"' in add and '<option value="private">' in add
    # the admin's inline of shares, and the text fields as the form comes filled in
    no_shares = {"shares-TOTAL_FORMS": "0", "shares-INITIAL_FORMS": "0", "text_languages": "eng+rus"}
    admin_client.post("/admin/media/collection/add/",
                      {"name": "adm", "description": "", "embedder": PATH_SPECS[1], **no_shares})
    assert not Collection.objects.filter(name="adm").exists()
    admin_client.post("/admin/media/collection/add/",
                      {"name": "adm", "description": "", "embedder": "private", **no_shares})
    assert Collection.objects.get(name="adm").embedder == "private"
    assert "private (open_clip:ViT-B-32@/srv/models/secret.pt)" in admin_client.get("/admin/media/collection/").content.decode()


def test_the_command_line_takes_names_or_listed_specs_only(listed, tmp_path):
    with pytest.raises(CommandError, match="unknown model; choose one of: default, testmodel, alt, private"):
        call_command("ingest", str(tmp_path), collection="cli", model="open_clip:ViT-B-32@/etc/passwd")
    from apps.media.services.models_allowed import resolve_operator_choice

    assert resolve_operator_choice("alt") == "alt"
    assert resolve_operator_choice("open_clip:ViT-B-32@/srv/models/secret.pt") == "private"
    assert resolve_operator_choice("testmodel") == "testmodel"
    listed.EMBEDDER = "open_clip:ViT-B-32/openai"
    assert resolve_operator_choice("open_clip:ViT-B-32/openai") == ""  # listed only as the default: blank
    out = io.StringIO()
    call_command("list_models", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[:2] == ["default", "open_clip:ViT-B-32/openai"] and "the default" in lines[0]
    assert [line.split()[0] for line in lines] == ["default", "testmodel", "alt", "private"]


def test_the_migration_maps_stored_specs_to_names(listed):
    executor = MigrationExecutor(connection)
    executor.migrate([("media", "0002_collection_name_not_digits")])
    old = executor.loader.project_state([("media", "0002_collection_name_not_digits")]).apps
    OldCollection = old.get_model("media", "Collection")
    stored = {"blank": "", "listed": "open_clip:ViT-B-32@/srv/models/secret.pt", "test": "testmodel",
              "probe": "open_clip:ViT-B-32@/etc/passwd", "default": listed.EMBEDDER}
    for name, spec in stored.items():
        OldCollection.objects.create(name=name, embedder=spec)
    executor = MigrationExecutor(connection)
    executor.migrate([("media", "0003_embedder_names")])
    got = dict(Collection.objects.values_list("name", "embedder"))
    assert got == {"blank": "", "listed": "private", "test": "testmodel", "probe": "", "default": "testmodel"}
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def test_the_mapping_rule():
    migration = importlib.import_module("apps.media.migrations.0003_embedder_names")
    configured = {"default": "open_clip:X/a", "testmodel": "testmodel", "also-x": "open_clip:X/a", "y": "onnx:/y"}
    to_name = migration.name_for_stored_spec
    assert to_name("", configured) == ""
    assert to_name("open_clip:X/a", configured) == "also-x"  # a name that keeps the model if the default changes
    assert to_name("onnx:/y", configured) == "y" and to_name("testmodel", configured) == "testmodel"
    assert to_name("open_clip:X/a", {"default": "open_clip:X/a"}) == ""  # only the default: blank, the same model
    assert to_name("open_clip:ViT-B-32@/etc/passwd", configured) == ""  # unlisted: the default
    to_spec = migration.spec_for_stored_name
    assert [to_spec(n, configured) for n in ("", "default", "y", "gone")] == ["", "", "onnx:/y", ""]

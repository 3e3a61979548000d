"""Who may see and change what, tried as the clients an attacker would use: anonymous, a stranger with an
account, a user a collection was shared with read-only or read-write, the owner; and the local CLI.

Every write operation of the API schema is sent by an anonymous client; none may change a row or a file.
"""
from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from rest_framework.authtoken.models import Token

from apps.media.models import Collection, CollectionShare, IngestJob, Keyframe, Photo, Video

from .helpers import upload

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

WRITE_METHODS = ("post", "put", "patch", "delete")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def token_client(user) -> Client:
    token, _ = Token.objects.get_or_create(user=user)
    return Client(HTTP_AUTHORIZATION=f"Token {token.key}")


@pytest.fixture
def world(storage_dirs, demo_media):
    """alice owns a private collection (a video and a photo, indexed) and a public one; bob may read the
    private one, carol may write to it, mallory is a stranger."""
    users = {name: get_user_model().objects.create_user(name, password=f"{name}-pw") for name in
             ("alice", "bob", "carol", "mallory")}
    video_path, _, photos = demo_media
    alice = signed_in(users["alice"])
    for name, public in (("private-trips", False), ("open-trips", True)):
        made = alice.post("/api/collections/", {"name": name, "embedder": "testmodel", "public": public},
                          content_type="application/json")
        assert made.status_code == 201, made.content
        assert made.json()["owner"] == "alice" and made.json()["public"] is public
    assert upload(alice, "/api/videos/", "private-trips", video_path).status_code == 201
    assert upload(alice, "/api/photos/", "private-trips", photos[0][0]).status_code == 201
    assert upload(alice, "/api/photos/", "open-trips", photos[1][0]).status_code == 201
    private = Collection.objects.get(name="private-trips")
    CollectionShare.objects.create(collection=private, user=users["bob"], can_write=False)
    CollectionShare.objects.create(collection=private, user=users["carol"], can_write=True)
    return users, private, Collection.objects.get(name="open-trips")


def private_urls(private: Collection) -> list[str]:
    """Every GET URL that reveals the private collection or its items, its files and thumbnails included."""
    video = Video.objects.get(collection=private)
    photo = Photo.objects.get(collection=private)
    keyframe = Keyframe.objects.filter(video=video).first()
    job = IngestJob.objects.filter(collection=private).first()
    return [
        f"/api/collections/{private.pk}/", f"/api/collections/{private.name}/shares/".replace(private.name, str(private.pk)),
        f"/api/videos/{video.pk}/", f"/api/photos/{photo.pk}/", f"/api/jobs/{job.pk}/",
        f"/api/search/?collection={private.pk}&text=car", f"/api/search/?collection={private.name}&text=car",
        f"/api/videos/?collection={private.pk}", f"/api/jobs/?collection={private.name}",
        f"/api/explain/?text=car&keyframe={keyframe.pk}", f"/api/explain/?text=car&photo={photo.pk}",
        "/media/" + video.file.name, "/media/" + photo.file.name, "/media/" + photo.thumbnail.name,
        "/media/" + keyframe.thumbnail.name,
        f"/collections/{private.pk}/", f"/videos/{video.pk}/",
    ]


def snapshot(storage: Path) -> tuple:
    rows = tuple(model.objects.count() for model in (Collection, CollectionShare, Video, Photo, IngestJob, Keyframe))
    # a search may cache its calibration and take the index's lock file: reads, not writes
    files = tuple(sorted((str(p), p.stat().st_size) for p in storage.rglob("*")
                         if p.is_file() and p.name != ".lock" and "calibration" not in p.parts))
    names = tuple(Collection.objects.order_by("pk").values_list("name", "public", "description", "embedder"))
    return rows, files, names


def write_operations() -> list[tuple[str, str]]:
    """(method, path template) of every write the API schema declares."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return [(method, path) for path, ops in schema["paths"].items() for method in ops if method in WRITE_METHODS]


def fill(template: str, collection: Collection) -> str:
    """A path template of the schema with the ids of ``collection``'s rows (any video when it has none)."""
    ids = {
        "collections": collection.pk,
        "videos": (Video.objects.filter(collection=collection).first() or Video.objects.first()).pk,
        "photos": Photo.objects.filter(collection=collection).first().pk,
        "jobs": IngestJob.objects.filter(collection=collection).first().pk,
    }
    return re.sub(r"\{[^}]+\}", str(ids.get(template.split("/")[2], 0)), template)


def test_anonymous_clients_make_no_successful_write_anywhere(world, storage_dirs, demo_media, anon_client):
    users, private, public = world
    before = snapshot(storage_dirs)
    operations = write_operations()
    assert len(operations) >= 10, operations
    tried = []
    for method, template in operations:
        for target in (public, private):
            path = fill(template, target)
            fields = {"collection": str(target.pk), "name": "pwned", "public": True, "user": "mallory",
                      "access": "write", "text": "car"}
            if method == "post" and template.endswith(("/videos/", "/photos/")):
                with open(demo_media[2][3][0], "rb") as fh:
                    answer = anon_client.post(path, {**fields, "file": fh})
            else:
                answer = getattr(anon_client, method)(path, fields, content_type="application/json")
            tried.append((method, path, answer.status_code))
            if template == "/api/search/":
                # a search is a read: the public collection answers, the private one does not exist
                assert answer.status_code == (200 if target == public else 404), (path, answer.content)
                continue
            assert answer.status_code in (401, 403, 404, 405), (method, path, answer.status_code, answer.content)
            assert answer["Content-Type"].startswith("application/json"), (method, path)
    # the web pages' forms: creating a collection and uploading send an anonymous visitor to log in
    assert anon_client.post("/collections/", {"name": "pwned"}).status_code == 302
    with open(demo_media[2][0][0], "rb") as fh:
        assert anon_client.post(f"/collections/{public.pk}/", {"files": fh}).status_code == 302
    assert anon_client.post("/accounts/token/").status_code == 302
    assert snapshot(storage_dirs) == before, tried
    assert Token.objects.count() == 0


def test_a_private_collection_does_not_exist_for_strangers(world, anon_client):
    users, private, public = world
    owner, stranger = signed_in(users["alice"]), signed_in(users["mallory"])
    for url in private_urls(private):
        if "/shares/" not in url:
            assert owner.get(url).status_code == 200, url
        for client in (anon_client, stranger, token_client(users["mallory"])):
            answer = client.get(url)
            assert answer.status_code == 404, (url, answer.status_code)
            assert b"alice" not in answer.content and b"demo" not in answer.content, (url, answer.content)
    for client in (anon_client, stranger):
        listed = client.get("/api/collections/").json()["results"]
        assert [c["name"] for c in listed] == ["open-trips"]
        assert all(v["collection"] == public.pk for v in client.get("/api/videos/").json()["results"])
        assert all(p["collection"] == public.pk for p in client.get("/api/photos/").json()["results"])
        assert all(j["collection"] == public.pk for j in client.get("/api/jobs/").json()["results"])
        page = client.get("/collections/").content.decode()
        assert "open-trips" in page and "private-trips" not in page
        assert "private-trips" not in client.get("/").content.decode()
        unknown = client.get("/api/search/", {"collection": "nope", "text": "car"})
        assert unknown.status_code == 404 and b"private-trips" not in unknown.content  # no name leaks in hints
    # a public collection is readable by anyone, writable by its owner only
    assert anon_client.get("/api/search/", {"collection": "open-trips", "text": "car"}).status_code == 200
    assert stranger.patch(f"/api/collections/{public.pk}/", {"name": "x"}, content_type="application/json").status_code == 403


def test_shared_read_only_searches_but_cannot_write(world, demo_media):
    users, private, _ = world
    for bob in (signed_in(users["bob"]), token_client(users["bob"])):
        answer = bob.get("/api/search/", {"collection": private.name, "text": "red car"})
        assert answer.status_code == 200 and answer.json()["results"], answer.content
        assert bob.get(f"/api/collections/{private.pk}/").json()["access"] == "read"
        video = Video.objects.get(collection=private)
        assert bob.get("/media/" + video.file.name).status_code == 200
        writes = [
            bob.patch(f"/api/collections/{private.pk}/", {"name": "mine"}, content_type="application/json"),
            bob.delete(f"/api/collections/{private.pk}/"),
            bob.post(f"/api/collections/{private.pk}/rebuild/"),
            bob.post(f"/api/collections/{private.pk}/shares/", {"user": "mallory", "access": "write"},
                     content_type="application/json"),
            bob.delete(f"/api/videos/{video.pk}/"),
            bob.post(f"/api/videos/{video.pk}/reingest/"),
            upload(bob, "/api/photos/", private.name, demo_media[2][2][0]),
        ]
        assert [w.status_code for w in writes] == [403] * len(writes), [w.content for w in writes]
    with open(demo_media[2][2][0], "rb") as fh:  # the web page's upload form
        assert signed_in(users["bob"]).post(f"/collections/{private.pk}/", {"files": fh}).status_code == 403
    assert not CollectionShare.objects.filter(user=users["mallory"]).exists()
    assert Collection.objects.get(pk=private.pk).name == "private-trips"


def test_shared_read_write_adds_media_but_only_the_owner_shares_renames_or_deletes(world, demo_media):
    users, private, _ = world
    carol, alice = signed_in(users["carol"]), signed_in(users["alice"])
    assert upload(carol, "/api/photos/", private.name, demo_media[2][2][0]).status_code == 201
    assert carol.get(f"/api/collections/{private.pk}/").json()["access"] == "write"
    assert carol.post(f"/api/collections/{private.pk}/shares/", {"user": "mallory", "access": "read"},
                      content_type="application/json").status_code == 403
    assert carol.delete(f"/api/collections/{private.pk}/").status_code == 403
    assert carol.get(f"/api/collections/{private.pk}/shares/").status_code == 403
    # the owner shares with mallory, then takes it back
    shared = alice.post(f"/api/collections/{private.pk}/shares/", {"user": "mallory", "access": "read"},
                        content_type="application/json")
    assert shared.status_code == 200 and {"user": "mallory", "access": "read"} in shared.json()["shares"]
    assert signed_in(users["mallory"]).get(f"/api/collections/{private.pk}/").status_code == 200
    alice.post(f"/api/collections/{private.pk}/shares/", {"user": "mallory", "access": "none"},
               content_type="application/json")
    assert signed_in(users["mallory"]).get(f"/api/collections/{private.pk}/").status_code == 404
    assert alice.post(f"/api/collections/{private.pk}/shares/", {"user": "nobody", "access": "read"},
                      content_type="application/json").status_code == 400
    assert alice.patch(f"/api/collections/{private.pk}/", {"public": True}, content_type="application/json").json()["public"]


def test_cli_is_trusted_without_user_and_scoped_with_one(world, storage_dirs, demo_media):
    users, private, _ = world
    album = demo_media[2][3][0]

    def run(*args, **options) -> str:
        out = StringIO()
        call_command(*args, stdout=out, **options)
        return out.getvalue()

    # no --user: full rights, no account needed, sees every collection; a new collection is private
    assert json.loads(run("search", collection="private-trips", text="car", json=True))["results"]
    run("ingest", str(album), collection="cli-made", model="testmodel")
    made = Collection.objects.get(name="cli-made")
    assert made.owner is None and not made.public
    assert Client().get(f"/api/collections/{made.pk}/").status_code == 404
    # --user: that user owns what they make; --public makes it searchable by anyone
    run("ingest", str(album), collection="bobs", model="testmodel", user="bob", public=True)
    bobs = Collection.objects.get(name="bobs")
    assert bobs.owner == users["bob"] and bobs.public
    assert Client().get("/api/search/", {"collection": "bobs", "text": "car"}).status_code == 200
    # a user searches only what they may see, and cannot add to a read-only share
    run("search", collection="private-trips", text="car", user="bob")
    with pytest.raises(CommandError, match="unknown collection"):
        run("search", collection="private-trips", text="car", user="mallory")
    with pytest.raises(CommandError, match="may not add"):
        run("ingest", str(album), collection="private-trips", user="bob")
    with pytest.raises(CommandError, match="no active user"):
        run("search", collection="open-trips", text="car", user="ghost")


def test_the_token_page_makes_and_replaces_a_working_token(world):
    users, private, _ = world
    bob = signed_in(users["bob"])
    bob.post("/accounts/token/")
    key = Token.objects.get(user=users["bob"]).key
    assert key in bob.get("/accounts/token/").content.decode()
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get(f"/api/collections/{private.pk}/").status_code == 200
    bob.post("/accounts/token/")
    assert Client(HTTP_AUTHORIZATION=f"Token {key}").get(f"/api/collections/{private.pk}/").status_code == 401


def test_the_owner_shares_and_publishes_from_the_collection_page(world, anon_client):
    users, private, _ = world
    alice, bob, mallory = (signed_in(users[name]) for name in ("alice", "bob", "mallory"))
    page = alice.get(f"/collections/{private.pk}/").content.decode()
    assert 'id="sharing"' in page and "bob: read-only" in page and "carol: read-write" in page
    assert 'id="sharing"' not in bob.get(f"/collections/{private.pk}/").content.decode()
    sharing = f"/collections/{private.pk}/sharing/"
    # only the owner: a reader is refused, an anonymous visitor and a stranger find nothing
    assert bob.post(sharing, {"user": "mallory", "access": "write"}).status_code == 403
    assert anon_client.post(sharing, {"public": "1"}).status_code == 404
    assert mallory.post(sharing, {"public": "1"}).status_code == 404
    assert not Collection.objects.get(pk=private.pk).public
    alice.post(sharing, {"user": "mallory", "access": "read"})
    assert mallory.get(f"/collections/{private.pk}/").status_code == 200
    assert "no active user" in alice.post(sharing, {"user": "ghost", "access": "read"}, follow=True).content.decode()
    alice.post(sharing, {"public": "1"})
    assert anon_client.get(f"/collections/{private.pk}/").status_code == 200
    alice.post(sharing, {"public": "0"})
    assert anon_client.get(f"/collections/{private.pk}/").status_code == 404

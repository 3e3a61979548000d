"""The collection page as its users meet it: a grid of posters and thumbnails with filters and pages whose cost
does not grow with the collection, its live cards endpoint, and its controls only for those who may use them
(the server refusing them anyway). Delete, re-ingest and rebuild are sent as the page's script sends them:
the session cookie and the CSRF token the page carries."""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from PIL import Image

from apps.media.models import Collection, CollectionShare, IngestJob, Keyframe, Photo, Scene, Status, Video

from .helpers import upload

pytestmark = [pytest.mark.django_db]

CARD_RE = re.compile(r'<li class="card" id="card-(?P<key>[a-z]+-\d+)"[^>]*data-status="(?P<status>[a-z]+)"')


def cards(html: str) -> list[tuple[str, str]]:
    """(key, status) of each card of a page, in grid order."""
    return [(m["key"], m["status"]) for m in CARD_RE.finditer(html)]


def card_html(html: str, key: str) -> str:
    start = html.index(f'id="card-{key}"')
    return html[start:html.index("</li>", start)]


def signed_in(user, enforce_csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=enforce_csrf)
    client.force_login(user)
    return client


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Two small real videos with different pictures (so different bytes), made by ffmpeg."""
    folder = tmp_path_factory.mktemp("clips")
    out = []
    for i, source in enumerate(("testsrc=duration=3:size=160x90:rate=10", "smptebars=duration=3:size=160x90:rate=10")):
        path = folder / f"clip{i}.mp4"
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p",
                        str(path)], check=True, timeout=60)
        out.append(path)
    return out


def photo_file(folder: Path, name: str, color: tuple[int, int, int]) -> Path:
    path = folder / name
    Image.new("RGB", (200, 100), color).save(path, format="JPEG")
    return path


def fill(collection: Collection, videos: int, photos: int = 0, status: str = Status.INDEXED, offset: int = 0) -> None:
    """Rows as ingestion leaves them (each video with shots, keyframes and a job), without running it: the
    grid's queries are what is measured here, and a thousand real ingests would take an hour."""
    for i in range(offset, offset + videos):
        video = Video.objects.create(collection=collection, file=f"videos/c{collection.pk}/v{i}.mp4",
                                     original_name=f"v{i:04d}.mp4", sha256=f"{i:064x}", status=status, duration=20.0)
        for n in range(3):
            scene = Scene.objects.create(video=video, index=n, start=n * 5.0, end=n * 5.0 + 5)
            for k in range(2):
                Keyframe.objects.create(video=video, scene=scene, time=n * 5.0 + k * 2, segment_start=n * 5.0,
                                        segment_end=n * 5.0 + 5, thumbnail=f"thumbs/c{collection.pk}/v{i}-{n}-{k}.jpg")
        IngestJob.objects.create(collection=collection, video=video, status=status, progress=0.5)
    for i in range(offset, offset + photos):
        photo = Photo.objects.create(collection=collection, file=f"photos/c{collection.pk}/p{i}.jpg",
                                     original_name=f"p{i:04d}.jpg", sha256=f"{i:063x}f", status=status,
                                     width=800, height=600, thumbnail=f"thumbs/c{collection.pk}/p{i}.jpg")
        IngestJob.objects.create(collection=collection, photo=photo, status=status)


@pytest.fixture
def album(storage_dirs, admin_user) -> Collection:
    return Collection.objects.create(name="album", embedder="testmodel", owner=admin_user)


# --- what a card shows ------------------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_cards_show_a_poster_name_state_shots_and_link_to_the_video_page(client, album, clips, tmp_path):
    video = upload(client, "/api/videos/", "album", clips[0]).json()  # ingested in this process (no broker)
    photo = upload(client, "/api/photos/", "album", photo_file(tmp_path, "red.jpg", (200, 30, 30))).json()
    html = client.get(f"/collections/{album.pk}/").content.decode()
    assert cards(html) == [(f"photo-{photo['id']}", "indexed"), (f"video-{video['id']}", "indexed")]

    card = card_html(html, f"video-{video['id']}")
    assert f'href="/videos/{video["id"]}/"' in card and "clip0.mp4" in card
    poster = re.search(r'<img src="(?P<src>[^"]+)" width="320" height="180"', card)
    assert poster, card
    assert client.get(poster["src"]).status_code == 200  # a real keyframe thumbnail
    shots = Scene.objects.filter(video_id=video["id"]).count()
    assert f"{shots} shot" in card and ">0:03<" in card.replace('"duration">', ">")
    assert 'alt="A frame of clip0.mp4"' in card
    assert 'data-action="delete"' in card and 'data-action="reingest"' in card

    card = card_html(html, f"photo-{photo['id']}")
    thumb = re.search(r'<img src="(?P<src>[^"]+)" width="(?P<w>\d+)" height="(?P<h>\d+)"', card)
    assert (thumb["w"], thumb["h"]) == ("200", "100") and client.get(thumb["src"]).status_code == 200
    assert 'alt="red.jpg"' in card
    assert re.search(r'href="/media/photos/c\d+/[^"]+\.jpg"', card)  # the photo itself
    assert 'id="upload"' in html and 'id="rebuild"' in html


def test_the_first_cards_load_at_once_and_the_rest_lazily(client, album):
    fill(album, 12)
    html = client.get(f"/collections/{album.pk}/").content.decode()
    images = re.findall(r"<img [^>]*>", html)
    assert len(images) == 12
    assert ["loading=\"lazy\"" in img for img in images] == [False] * 8 + [True] * 4


# --- filters and pages ---------------------------------------------------------------------------------------------

def test_filters_by_state_and_type_with_counts(client, album):
    fill(album, 3, 2, Status.INDEXED)
    fill(album, 2, 0, Status.FAILED, offset=10)
    fill(album, 1, 1, Status.EMBEDDING, offset=20)
    page = f"/collections/{album.pk}/"

    def shown(query: str) -> list[str]:
        return [key for key, _ in cards(client.get(page + query).content.decode())]

    assert len(shown("")) == 9
    failed = shown("?state=failed")
    assert sorted(failed) == sorted(f"video-{v.pk}" for v in Video.objects.filter(status=Status.FAILED))
    assert {k.split("-")[0] for k in shown("?type=photos")} == {"photo"} and len(shown("?type=photos")) == 3
    assert len(shown("?type=videos&state=indexed")) == 3
    active = cards(client.get(page + "?state=active").content.decode())
    assert len(active) == 2 and {status for _, status in active} == {"embedding"}
    assert shown("?state=failed&type=photos") == []
    assert len(shown("?state=nonsense&type=<script>")) == 9  # unknown values read as "all", never an error

    html = client.get(page + "?state=failed").content.decode()
    nav = html[html.index('id="filters"'):html.index("</nav>", html.index('id="filters"'))]
    assert re.search(r'href="\?state=failed" aria-current="true">Failed <span class="n">2</span>', nav)
    assert re.search(r'href="\?state=failed&amp;type=photos">Photos <span class="n">0</span>', nav)
    assert re.search(r'href="\?">All <span class="n">9</span>', nav)
    assert "Nothing here yet." in client.get(page + "?state=failed&type=photos").content.decode()


def test_pages_of_48_newest_first_driven_by_the_query_string(client, album):
    fill(album, 100)
    page = f"/collections/{album.pk}/"
    newest = list(Video.objects.filter(collection=album).order_by("-created_at", "-id").values_list("pk", flat=True))
    first = client.get(page).content.decode()
    assert [k for k, _ in cards(first)] == [f"video-{pk}" for pk in newest[:48]]
    assert "page 1 of 3" in first and 'href="?page=2" rel="next"' in first and 'rel="prev"' not in first
    third = client.get(page + "?page=3").content.decode()
    assert [k for k, _ in cards(third)] == [f"video-{pk}" for pk in newest[96:]]
    assert 'href="?page=2" rel="prev"' in third and 'rel="next"' not in third
    assert cards(client.get(page + "?page=999").content.decode()) == cards(third)  # past the end: the last page
    assert cards(client.get(page + "?page=x%00").content.decode()) == cards(first)
    filtered = client.get(page + "?state=indexed&type=videos&page=2").content.decode()
    assert 'href="?state=indexed&amp;type=videos&amp;page=3" rel="next"' in filtered
    assert 'href="?state=indexed&amp;type=videos" rel="prev"' in filtered


def test_a_page_costs_the_same_queries_for_ten_items_or_three_hundred(client, album, django_assert_max_num_queries):
    fill(album, 6, 4)
    page = f"/collections/{album.pk}/"
    client.get(page)  # the session, the user: warm whatever is cached per process

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    small = queries(page), queries(page + "?type=photos&state=indexed")
    fill(album, 240, 60, offset=100)
    large = queries(page), queries(page + "?type=photos&state=indexed")
    print(f"\nqueries for a page of the grid: {small} with 10 items, {large} with 310")
    assert all(big <= few for big, few in zip(large, small))  # (a page of one kind skips the other's query)
    with django_assert_max_num_queries(10):
        client.get(page + "?page=4")

    ids = ",".join(str(pk) for pk in Video.objects.values_list("pk", flat=True)[:48])
    with django_assert_max_num_queries(6):
        body = client.get(f"/collections/{album.pk}/cards/?video={ids}").json()
    assert len(body["cards"]) == 48


def test_the_collection_list_counts_in_one_query(client, storage_dirs, django_assert_max_num_queries):
    for i in range(8):
        fill(Collection.objects.create(name=f"c{i}", embedder="testmodel"), 2, 1, offset=i * 10)
    client.get("/collections/")
    with django_assert_max_num_queries(6):
        html = client.get("/collections/").content.decode()
    assert html.count("<td>2</td>") == 8 and html.count("<td>1</td>") == 8


# --- the live cards endpoint -----------------------------------------------------------------------------------------

def test_the_cards_endpoint_answers_the_asked_items_of_this_collection_only(client, album, admin_user):
    fill(album, 2, 1, Status.EMBEDDING)
    other = Collection.objects.create(name="other", embedder="testmodel", owner=admin_user)
    fill(other, 1, offset=50)
    mine = list(Video.objects.filter(collection=album).values_list("pk", flat=True))
    theirs = Video.objects.get(collection=other).pk
    photo = Photo.objects.get(collection=album).pk
    url = f"/collections/{album.pk}/cards/?video={mine[0]},{theirs},abc,-1,{'9' * 30}&photo={photo}"
    body = client.get(url).json()
    assert sorted(c["key"] for c in body["cards"]) == sorted([f"video-{mine[0]}", f"photo-{photo}"])
    card = next(c for c in body["cards"] if c["key"] == f"video-{mine[0]}")
    assert card["active"] is True and card["status"] == "embedding" and card["percent"] == 50
    assert 'class="card"' in card["html"] and "embedding" in card["html"] and "50%" in card["html"]

    Video.objects.filter(pk=mine[0]).update(status=Status.INDEXED)
    card = client.get(url).json()["cards"][0]
    assert card["active"] is False and 'data-status="indexed"' in card["html"]
    assert client.get(f"/collections/{album.pk}/cards/").json() == {"cards": []}
    assert client.post(f"/collections/{album.pk}/cards/").status_code == 405


# --- who sees which controls, and the server refusing them anyway -------------------------------------------------------

@pytest.fixture
def shared(storage_dirs):
    users = {name: get_user_model().objects.create_user(name, password=f"{name}-pw")
             for name in ("alice", "bob", "carol", "mallory")}
    private = Collection.objects.create(name="private", embedder="testmodel", owner=users["alice"])
    CollectionShare.objects.create(collection=private, user=users["bob"], can_write=False)
    CollectionShare.objects.create(collection=private, user=users["carol"], can_write=True)
    fill(private, 2, 1)
    return users, private


def test_a_reader_sees_no_controls_and_the_server_refuses_them(shared):
    users, private = shared
    video = Video.objects.filter(collection=private).first()
    page = f"/collections/{private.pk}/"
    for name in ("bob", "carol", "alice"):
        html = signed_in(users[name]).get(page).content.decode()
        writes = name != "bob"
        assert len(cards(html)) == 3
        for control in ('id="upload"', 'id="rebuild"', 'data-action="delete"', 'data-action="reingest"'):
            assert (control in html) is writes, (name, control)
        cards_json = signed_in(users[name]).get(f"{page}cards/?video={video.pk}").json()
        assert ('data-action="delete"' in cards_json["cards"][0]["html"]) is writes
    bob = signed_in(users["bob"])
    assert bob.delete(f"/api/videos/{video.pk}/").status_code == 403
    assert bob.post(f"/api/videos/{video.pk}/reingest/").status_code == 403
    assert bob.post(f"/api/collections/{private.pk}/rebuild/").status_code == 403
    assert bob.post(page, {"files": io.BytesIO(b"x")}).status_code == 403
    assert Video.objects.filter(pk=video.pk).exists() and video.jobs.count() == 1


def test_a_hidden_collection_is_not_there(shared):
    users, private = shared
    video = Video.objects.filter(collection=private).first()
    for client in (signed_in(users["mallory"]), Client()):
        assert client.get(f"/collections/{private.pk}/").status_code == 404
        assert client.get(f"/collections/{private.pk}/?state=failed&page=2").status_code == 404
        assert client.get(f"/collections/{private.pk}/cards/?video={video.pk}").status_code == 404
    assert signed_in(users["mallory"]).get("/collections/999999/cards/").status_code == 404


# --- delete, re-ingest and rebuild as the page sends them --------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_delete_reingest_and_rebuild_with_the_pages_token(shared, clips, settings):
    users, private = shared
    carol = signed_in(users["carol"], enforce_csrf=True)
    with open(clips[0], "rb") as fh:  # a real video: re-ingesting it really runs (in this process: no broker)
        real = carol.post("/api/videos/", {"collection": private.pk, "file": fh},
                          HTTP_X_CSRFTOKEN=_page_token(carol, private)).json()
    token = _page_token(carol, private)
    video = Video.objects.get(pk=real["id"])
    assert video.status == Status.INDEXED

    assert carol.post(f"/api/videos/{video.pk}/reingest/").status_code == 403  # no token: refused
    again = carol.post(f"/api/videos/{video.pk}/reingest/", HTTP_X_CSRFTOKEN=token)
    assert again.status_code == 202, again.content
    assert video.jobs.count() == 2
    card = carol.get(f"/collections/{private.pk}/cards/?video={video.pk}").json()["cards"][0]
    assert card["status"] == "indexed"

    gone = Video.objects.filter(collection=private).exclude(pk=video.pk).first()  # rows without a stored file
    Video.objects.filter(pk=gone.pk).update(file="", status=Status.FAILED, error="not a video file, or it is damaged")
    gone_card = carol.get(f"/collections/{private.pk}/cards/?video={gone.pk}").json()["cards"][0]["html"]
    assert 'data-action="reingest"' not in gone_card and 'data-action="delete"' in gone_card  # no file to ingest
    conflict = carol.post(f"/api/videos/{gone.pk}/reingest/", HTTP_X_CSRFTOKEN=token)
    assert conflict.status_code == 409 and "upload the file again" in conflict.json()["error"]

    assert carol.delete(f"/api/videos/{video.pk}/").status_code == 403  # no token
    assert carol.delete(f"/api/videos/{video.pk}/", HTTP_X_CSRFTOKEN=token).status_code == 204
    html = carol.get(f"/collections/{private.pk}/").content.decode()
    assert f"video-{video.pk}" not in [k for k, _ in cards(html)]
    photo = Photo.objects.get(collection=private)
    assert carol.delete(f"/api/photos/{photo.pk}/", HTTP_X_CSRFTOKEN=token).status_code == 204

    rebuilt = carol.generic("POST", f"/api/collections/{private.pk}/rebuild/", HTTP_X_CSRFTOKEN=token)  # no body
    assert rebuilt.status_code == 202 and rebuilt.json() == {"status": "queued", "collection": private.pk}


def _page_token(client: Client, collection: Collection) -> str:
    """The CSRF token the page hands its script (``data-csrf``)."""
    html = client.get(f"/collections/{collection.pk}/").content.decode()
    return re.search(r'data-csrf="([^"]+)"', html)[1]

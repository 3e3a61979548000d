"""The video page and the search page's paging/strips through Django's test client (no browser).

The video page's strip must be the strip the search showed: same timeline, same moments as the
API's ``timeline=true`` for the same query and page size.
"""
from __future__ import annotations

import pytest

from apps.media.models import Collection, Keyframe, Status, Video
from apps.media.services.register import register_path

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_video(storage_dirs, demo_media) -> tuple[Collection, Video, list]:
    video_path, segments, _ = demo_media
    collection = Collection.objects.create(name="street", embedder="testmodel")
    video = register_path(collection, video_path).item
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    return collection, video, segments


def test_video_page_shows_the_searched_strip_metadata_and_shots(client, demo_video):
    collection, video, segments = demo_video
    caption = segments[3].caption_en
    api = client.post("/api/search/", {"collection": collection.pk, "text": caption, "top_k": 3, "timeline": True},
                      content_type="application/json").json()
    expected = api["timelines"][str(video.pk)]

    response = client.get(f"/videos/{video.pk}/", {"q": caption, "top_k": 3, "t": "17.5"})
    assert response.status_code == 200
    strip = response.context["search"].strip
    assert [(m.start, m.end) for m in strip.moments] == [(m["start"], m["end"]) for m in expected["moments"]]
    assert [(c.start, c.score) for c in strip.cells] == [(s["start"], s["score"]) for s in expected["segments"]]
    html = response.content.decode()
    assert 'class="heat-strip"' in html and "#t=17.5" in html
    for field in ("meta-duration", "meta-size", "meta-codec", "meta-fps"):
        assert f'id="{field}"' in html
    film = response.context["filmstrip"]
    assert len(film.shots) == len(segments) and not film.truncated
    assert all(s.start <= k.time < s.end for s in film.shots for k in s.keyframes)
    assert html.count('class="frame"') == sum(len(s.keyframes) for s in film.shots)
    assert f"/?collection={collection.pk}&amp;q=" in html  # back to the search

    # "more like this" links work too; a bad one says why instead of failing the page
    keyframe = Keyframe.objects.filter(video=video).first()
    like = client.get(f"/videos/{video.pk}/", {"like_keyframe": keyframe.pk})
    assert like.status_code == 200 and like.context["search"].strip.moments
    bad = client.get(f"/videos/{video.pk}/", {"like_keyframe": 999999})
    assert bad.status_code == 200 and bad.context["search"].error and "999999" in bad.content.decode()
    plain = client.get(f"/videos/{video.pk}/")
    assert plain.context["search"] is None and 'id="search-strip"' not in plain.content.decode()
    assert f'href="/videos/{video.pk}/"' in client.get(f"/collections/{collection.pk}/").content.decode()


def test_search_page_pages_by_video_with_strips(client, demo_video):
    collection, video, segments = demo_video
    params = {"collection": collection.pk, "q": segments[1].caption_en, "top_k": 1}
    first = client.get("/", params)
    assert first.status_code == 200
    entry = first.context["result"]["results"][0]
    assert entry["type"] == "clip" and entry["strip"].video_id == video.pk
    paging = first.context["paging"]
    assert paging.previous_url is None and "offset=1" in paging.next_url and "top_k=1" in paging.next_url
    second = client.get("/" + paging.next_url)
    assert second.context["result"]["offset"] == 1
    assert second.context["result"]["results"][0]["start"] != entry["start"]

    by_video = client.get("/", {**params, "group_by": "video", "top_k": 5})
    (entry,) = by_video.context["result"]["results"]
    assert entry["type"] == "video" and entry["strip"] is not None
    assert [c["start"] for c in entry["clips"]] == sorted(c["start"] for c in entry["clips"])
    assert by_video.context["paging"].next_url is None
    capped = client.get("/", {**params, "top_k": 10_000, "offset": 10_000})
    assert capped.status_code == 200 and capped.context["page"].top_k == 200


def test_video_page_of_a_video_not_indexed_yet(client, storage_dirs):
    collection = Collection.objects.create(name="c", embedder="testmodel")
    video = Video.objects.create(collection=collection, file="videos/x.mp4", original_name="x.mp4", sha256="0" * 64)
    response = client.get(f"/videos/{video.pk}/", {"q": "a boat"})
    assert response.status_code == 200 and response.context["search"] is None
    assert "No shots yet" in response.content.decode()
    assert client.get("/videos/999999/").status_code == 404

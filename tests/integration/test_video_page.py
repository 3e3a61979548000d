"""The video page and the search page's paging/strips through Django's test client (no browser).

The video page's strip must be the strip the search showed: same timeline, same moments as the
API's ``timeline=true`` for the same query and page size.
"""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from apps.media.models import Collection, IngestJob, Keyframe, Status, Video
from apps.media.services import storage
from apps.media.services.filmstrip import EAGER_FRAMES
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
    # every thumbnail's box is reserved at its real size; all but the first few load lazily
    with Image.open(storage.absolute(film.shots[0].keyframes[0].thumbnail)) as thumb:
        assert film.thumb_size == thumb.size
    assert html.count(f'width="{thumb.width}" height="{thumb.height}"') == html.count('class="frame"')
    assert html.count('loading="lazy"') == html.count('class="frame"') - EAGER_FRAMES
    assert "meta-rotation" in html and "meta-file-size" in html
    (job,) = response.context["history"].jobs
    assert job.status == Status.INDEXED and job.attempts == 1 and job.duration_s > 0
    assert f"indexed {video.keyframes.count()}/{video.keyframes.count()} keyframes" in html
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


def rotated_video(path: Path, degrees: int) -> Path:
    """A 4 s 320x240 clip whose metadata says: display it rotated by ``degrees`` (as phones record).

    The tag is written by a stream copy: ffmpeg 5 drops it when it encodes."""
    plain = path.with_name(f"plain-{path.name}")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=4",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(plain)], check=True, timeout=60)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(plain), "-c", "copy", "-metadata:s:v", f"rotate={degrees}",
                    str(path)], check=True, timeout=60)
    return path


def test_video_page_shows_rotation_and_every_job_with_its_reason(client, storage_dirs, tmp_path):
    collection = Collection.objects.create(name="phone", embedder="testmodel")
    video = register_path(collection, rotated_video(tmp_path / "portrait.mp4", 90)).item
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    assert (video.rotation, video.width, video.height) == (90, 240, 320)  # as displayed
    assert client.get(f"/api/videos/{video.pk}/").json()["rotation"] == 90

    storage.absolute(video.file.name).write_bytes(b"")  # the stored file is damaged: the next ingest fails
    assert client.post(f"/api/videos/{video.pk}/reingest/").status_code == 202
    video.refresh_from_db()
    assert video.status == Status.FAILED

    html = client.get(f"/videos/{video.pk}/").content.decode()
    assert re.search(r'id="meta-rotation">90°<', html)
    film = client.get(f"/videos/{video.pk}/").context["filmstrip"]
    with Image.open(storage.absolute(film.shots[0].keyframes[0].thumbnail)) as thumb:
        assert thumb.size == film.thumb_size == (240, 320)  # upright, like the player shows it
    rows = re.findall(r'<tr class="job" data-status="(\w+)" data-job-id="(\d+)">(.*?)</tr>', html, re.S)
    jobs = list(IngestJob.objects.filter(video=video).order_by("-created_at", "-id"))
    assert [(status, int(pk)) for status, pk, _ in rows] == [(j.status, j.pk) for j in jobs]  # newest first
    assert [status for status, _, _ in rows] == ["failed", "indexed"]
    assert "The file is empty (0 bytes)." in rows[0][2] and re.search(r'class="took">\d+\.\d s<', rows[0][2])
    assert 'class="reason">–<' in rows[1][2]


def test_video_page_of_a_video_not_indexed_yet(client, storage_dirs):
    collection = Collection.objects.create(name="c", embedder="testmodel")
    video = Video.objects.create(collection=collection, file="videos/x.mp4", original_name="x.mp4", sha256="0" * 64)
    response = client.get(f"/videos/{video.pk}/", {"q": "a boat"})
    assert response.status_code == 200 and response.context["search"] is None
    assert "No shots yet" in response.content.decode()
    assert client.get("/videos/999999/").status_code == 404

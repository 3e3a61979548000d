"""The product end to end through the REST API, with tasks in-process: upload, ingest, search, delete, bad input."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from PIL import Image

from apps.media.models import Collection, Status, Video
from apps.search.temporal import temporal_iou
from apps.search.vectors import collection_index

from .helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)




def create_collection(client, name: str = "trips") -> dict:
    response = client.post("/api/collections/", {"name": name, "embedder": "testmodel"}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()


def search(client, **payload) -> dict:
    response = client.post("/api/search/", payload, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def test_upload_ingest_and_search_by_text_in_both_languages(client, storage_dirs, demo_media):
    video_path, segments, _ = demo_media
    create_collection(client)
    response = upload(client, "/api/videos/", "trips", video_path)
    assert response.status_code == 201, response.content
    video = client.get(f"/api/videos/{response.json()['id']}/").json()
    assert video["status"] == "indexed", video
    assert video["latest_job"]["status"] == "indexed"
    # one scene per generated segment, cut where the segments change
    assert len(video["scenes"]) == len(segments)
    for scene, seg in zip(video["scenes"], segments):
        assert abs(scene["start"] - seg.start) < 0.2 and abs(scene["end"] - seg.end) < 0.2
    times = [kf["time"] for kf in video["keyframes"]]
    assert max(b - a for a, b in zip([0.0, *times], [*times, video["duration"]])) <= 1.5 * settings.MAX_KEYFRAME_GAP_S + 0.1

    for seg in segments:
        for caption in (seg.caption_en, seg.caption_ru):
            body = search(client, collection="trips", text=caption, top_k=5)
            top = body["results"][0]
            assert top["type"] == "clip"
            assert temporal_iou((top["start"], top["end"]), (seg.start, seg.end)) >= 0.8, (caption, top, seg)
            assert top["play_url"].endswith(f"#t={top['start']:.2f},{top['end']:.2f}")
            assert caption in body["query"]["embedded_texts"][0] or len(caption.split()) > 6
    # thumbnails are served, and the video answers byte ranges (the browser needs them to seek)
    assert client.get(top["thumbnail_url"]).status_code == 200
    ranged = client.get(top["video"]["url"], HTTP_RANGE="bytes=100-199")
    assert ranged.status_code == 206 and len(b"".join(ranged.streaming_content)) == 100


def test_image_query_more_like_this_duplicates_and_delete(client, storage_dirs, demo_media, tmp_path):
    video_path, segments, photos = demo_media
    create_collection(client)
    video_id = upload(client, "/api/videos/", "trips", video_path).json()["id"]
    for photo_path, _, _ in photos:
        assert upload(client, "/api/photos/", "trips", photo_path).status_code == 201
    collection = Collection.objects.get(name="trips")
    count = collection_index(collection).info().count

    # the same bytes again: no new item, no new vectors
    again = upload(client, "/api/videos/", "trips", video_path)
    assert again.status_code == 200 and again.json()["duplicate"] is True and again.json()["id"] == video_id
    assert collection_index(collection).info().count == count

    # an example photo finds itself first
    photo_path = photos[1][0]
    with open(photo_path, "rb") as fh:
        body = client.post("/api/search/", {"collection": "trips", "image": fh}).json()
    assert body["results"][0]["type"] == "photo" and body["results"][0]["photo"]["name"].endswith(photo_path.name)
    clips = [r for r in body["results"] if r["type"] == "clip"]
    assert clips and all(r["exact_frame"] is False for r in clips)  # a photo is no copy of a video frame

    # "more like this" on a clip returns that clip's own stretch first
    seg = segments[2]
    clip = search(client, collection="trips", text=seg.caption_en, media="videos")["results"][0]
    similar = search(client, collection="trips", like_keyframe=clip["keyframe_id"], media="videos")["results"][0]
    assert temporal_iou((similar["start"], similar["end"]), (seg.start, seg.end)) >= 0.8

    # deleting the video removes its vectors and its clips
    assert client.delete(f"/api/videos/{video_id}/").status_code == 204
    assert collection_index(collection).info().count == len(photos)
    body = search(client, collection="trips", text=seg.caption_en)
    assert body["results"] and all(r["type"] == "photo" for r in body["results"])


def test_bad_inputs_fail_readably_and_the_rest_stays_searchable(client, storage_dirs, demo_media, tmp_path, shared_media):
    video_path, segments, _ = demo_media
    create_collection(client)
    upload(client, "/api/videos/", "trips", video_path)
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 50)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes((shared_media / "videos" / "testvideo.mp4").read_bytes()[:200_000])
    huge = tmp_path / "huge.png"
    Image.new("RGB", (12_000, 8_000), (200, 30, 30)).save(huge)
    # no video or photo content at all: refused at upload (tests/integration/test_upload_safety.py has more)
    for path, reason in ((empty, "empty"), (text, "not a video")):
        response = upload(client, "/api/videos/", "trips", path)
        assert response.status_code == 400 and reason in response.json()["error"], response.content
    reasons = {}
    for path, endpoint in ((corrupt, "videos"), (huge, "photos")):
        response = upload(client, f"/api/{endpoint}/", "trips", path)
        assert response.status_code == 201, response.content
        item = client.get(f"/api/{endpoint}/{response.json()['id']}/").json()
        assert item["status"] == "failed", item
        assert item["error"] and "Traceback" not in item["error"]
        reasons[path.name] = item["error"].lower()
    assert "megapixel" in reasons["huge.png"]
    failed_jobs = client.get("/api/jobs/?status=failed").json()
    assert failed_jobs["count"] == 2 and all(job["error"] for job in failed_jobs["results"])
    # the good video is still there and found
    top = search(client, collection="trips", text=segments[0].caption_en)["results"][0]
    assert temporal_iou((top["start"], top["end"]), (segments[0].start, segments[0].end)) >= 0.8
    assert Video.objects.filter(status=Status.INDEXED).count() == 1


def test_api_errors_are_json_with_the_right_status(client, storage_dirs):
    create_collection(client)
    missing = client.post("/api/search/", {"collection": "nope", "text": "car"}, content_type="application/json")
    assert missing.status_code == 404 and "unknown collection 'nope'" in missing.json()["error"]
    none = client.post("/api/search/", {"collection": "trips"}, content_type="application/json")
    assert none.status_code == 400 and "give a query" in none.json()["error"]
    wrong_kind = upload(client, "/api/photos/", "trips", Path(__file__), name="clip.mp4")
    assert wrong_kind.status_code == 400 and "not a photo" in wrong_kind.json()["error"]
    bad_image = client.post("/api/search/", {"collection": "trips", "image": open(__file__, "rb")})
    assert bad_image.status_code == 400 and "error" in bad_image.json()
    assert client.get("/api/videos/999999/").status_code == 404
    assert client.get("/api/no-such-endpoint/").json()["status"] == 404
    foreign = client.post("/api/search/", {"collection": "trips", "text": "红色的汽车"}, content_type="application/json")
    assert foreign.status_code == 200 and "not in Russian or English" in foreign.json()["warnings"][0]
    schema = client.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/search/" in schema.content


def test_index_built_by_another_model_is_refused_until_rebuilt(client, storage_dirs, demo_media):
    video_path, segments, _ = demo_media
    create_collection(client)
    upload(client, "/api/videos/", "trips", video_path)
    collection = Collection.objects.get(name="trips")
    index = collection_index(collection)
    count = index.info().count
    index.reset("some-other-model")
    conflict = client.post("/api/search/", {"collection": "trips", "text": "car"}, content_type="application/json")
    assert conflict.status_code == 409 and "rebuild" in conflict.json()["error"]
    assert client.post(f"/api/collections/{collection.pk}/rebuild/").status_code == 202
    assert collection_index(collection).info().count == count
    top = search(client, collection="trips", text=segments[1].caption_ru)["results"][0]
    assert temporal_iou((top["start"], top["end"]), (segments[1].start, segments[1].end)) >= 0.8


@pytest.mark.parametrize("url", [
    "/api/explain/?text=car&keyframe=abc", "/api/explain/?text=car&photo=-1", "/api/explain/?text=car&keyframe=1e3",
    "/api/explain/?text=car&photo=99999999999999999999999", "/api/jobs/?video=x", "/api/jobs/?photo=1.5",
])
def test_ids_that_are_not_ids_are_400_json_not_500(client, storage_dirs, url):
    response = client.get(url)
    assert response.status_code == 400, (url, response.content)
    assert response.json()["status"] == 400


def test_jobs_filter_by_collection_name_or_id_like_every_endpoint(client, storage_dirs, demo_media):
    photo_path = demo_media[2][0][0]
    create_collection(client)
    assert upload(client, "/api/photos/", "trips", photo_path).status_code == 201
    collection = Collection.objects.get(name="trips")
    by_name = client.get("/api/jobs/?collection=trips").json()
    by_id = client.get(f"/api/jobs/?collection={collection.pk}").json()
    assert by_name["count"] == by_id["count"] == 1
    missing = client.get("/api/jobs/?collection=nope")
    assert missing.status_code == 404 and "unknown collection 'nope'" in missing.json()["error"]


def test_explain_of_a_huge_photo_is_refused_not_decoded(client, storage_dirs, settings, demo_media):
    photo_path = demo_media[2][0][0]
    create_collection(client)
    photo_id = upload(client, "/api/photos/", "trips", photo_path).json()["id"]
    settings.MAX_IMAGE_PIXELS = 1000  # the stored thumbnail is now over the decode limit
    response = client.get(f"/api/explain/?text=car&photo={photo_id}")
    assert response.status_code == 400 and "megapixels" in response.json()["error"], response.content


@pytest.mark.parametrize(("name", "ok"), [("1", False), ("007", False), ("1a", True), ("Трейлеры 2026", True)])
def test_a_collection_name_cannot_read_as_an_id(client, storage_dirs, name, ok):
    response = client.post("/api/collections/", {"name": name, "embedder": "testmodel"},
                           content_type="application/json")
    assert response.status_code == (201 if ok else 400), response.content
    if not ok:
        assert "digits only" in response.json()["error"]

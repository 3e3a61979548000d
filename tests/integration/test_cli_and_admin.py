"""The command line (ingest a folder, search as JSON) and the admin actions (re-ingest, rebuild, explain)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from PIL import Image

from apps.media.models import Collection, IngestJob, Photo, Status, Video
from apps.media.services import storage, thumbnails
from apps.media.services.register import create_job
from apps.search.temporal import temporal_iou
from apps.search.vectors import collection_index

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def media_folder(demo_media, tmp_path):
    """A folder tree: clips/demo.mp4, album/ with 3 photos and a text file that is not media."""
    video, segments, photos = demo_media
    root = tmp_path / "source"  # not tmp_path itself: the test's MEDIA_ROOT lives there too
    (root / "clips").mkdir(parents=True)
    (root / "clips" / "demo.mp4").symlink_to(video)
    (root / "album").mkdir()
    for path, _, _ in photos[:3]:
        (root / "album" / path.name).symlink_to(path)
    (root / "album" / "notes.txt").write_text("not media")
    return root, segments, photos[:3]


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


def test_ingest_folder_then_search_json(storage_dirs, media_folder):
    folder, segments, photos = media_folder
    out = run("ingest", str(folder), collection="cli", model="testmodel")
    assert "created collection 'cli'" in out and "4 indexed" in out and "skipped 1 file" in out
    again = run("ingest", str(folder), collection="cli")
    assert "4 file(s) already in the collection" in again
    assert Video.objects.count() == 1 and Photo.objects.count() == 3
    seg = segments[4]
    data = json.loads(run("search", collection="cli", text=seg.caption_ru, top=3, json=True))
    top = data["results"][0]
    assert top["type"] == "clip" and temporal_iou((top["start"], top["end"]), (seg.start, seg.end)) >= 0.8
    # the human-readable answer, grouped by video, paged
    page = run("search", collection="cli", text=seg.caption_en, top=2, group_by="video")
    assert page.splitlines()[1].startswith("  1. ") and " video demo.mp4  " in page.splitlines()[1]
    assert f"{seg.start:.2f}-" in page and "more: --offset 2" in page
    second = run("search", collection="cli", text=seg.caption_en, top=2, group_by="video", offset=2)
    assert second.splitlines()[1].startswith("  3. ") and "demo.mp4" not in second
    image_hit = json.loads(run("search", collection="cli", image=str(photos[0][0]), json=True))["results"][0]
    assert image_hit["type"] == "photo" and image_hit["photo"]["name"].endswith(photos[0][0].name)
    with pytest.raises(CommandError, match="unknown collection 'nope'"):
        run("search", collection="nope", text="car")
    with pytest.raises(CommandError, match="does not exist"):
        run("ingest", str(folder / "missing"), collection="cli")
    # one lookup rule: digits are an id, never a new collection's name
    by_id = run("ingest", str(folder), collection=str(Collection.objects.get(name="cli").pk))
    assert "4 file(s) already in the collection" in by_id and "created" not in by_id
    with pytest.raises(CommandError, match="no collection with id 424242"):
        run("ingest", str(folder), collection="424242")


def test_admin_reingest_rebuild_and_explain(admin_client, storage_dirs, media_folder):
    folder, segments, photos = media_folder
    run("ingest", str(folder / "clips"), collection="adm", model="testmodel")
    collection = Collection.objects.get(name="adm")
    video = Video.objects.get()
    count = collection_index(collection).info().count
    assert admin_client.get("/admin/media/video/").status_code == 200
    assert admin_client.get(f"/admin/media/video/{video.pk}/change/").status_code == 200
    assert admin_client.get("/admin/media/keyframe/").status_code == 200
    assert admin_client.get("/admin/media/ingestjob/").status_code == 200
    response = admin_client.post(
        "/admin/media/video/", {"action": "reingest", "_selected_action": [video.pk]}, follow=True
    )
    assert response.status_code == 200
    assert IngestJob.objects.filter(video=video).count() == 2
    assert IngestJob.objects.filter(video=video).first().status == Status.INDEXED
    assert collection_index(collection).info().count == count  # re-ingest replaced, did not add
    collection_index(collection).reset("another-model")
    admin_client.post("/admin/media/collection/", {"action": "rebuild_index", "_selected_action": [collection.pk]})
    info = collection_index(collection).info()
    assert info.count == count and info.model_id.startswith("testmodel:")
    keyframe = video.keyframes.first()
    png = admin_client.get(f"/api/explain/?keyframe={keyframe.pk}&text={segments[0].caption_en}")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert Image.open(io.BytesIO(png.content)).size[0] > 0


def test_a_failed_reingest_keeps_the_indexed_thumbnails(storage_dirs, media_folder):
    folder, _, _ = media_folder
    run("ingest", str(folder / "clips"), collection="keep", model="testmodel")
    video = Video.objects.get()
    thumbs = [storage.absolute(kf.thumbnail.name) for kf in video.keyframes.all()]
    assert thumbs and all(path.is_file() for path in thumbs)
    stored = storage.absolute(video.file.name)
    good_bytes = stored.read_bytes()
    stored.write_bytes(good_bytes[: len(good_bytes) // 3])  # the stored file got damaged
    job = create_job(video)
    video.refresh_from_db()
    job.refresh_from_db()
    assert job.status == Status.FAILED and video.status == Status.FAILED
    assert all(path.is_file() for path in thumbs)  # still what the keyframes rows point to
    assert not list(storage.absolute("thumbs").rglob("*.new"))  # the staging folder is gone
    stored.write_bytes(good_bytes)
    create_job(video)
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    fresh = [storage.absolute(kf.thumbnail.name) for kf in video.keyframes.all()]
    assert fresh and all(path.is_file() for path in fresh)
    images = sorted(fresh[0].parent.glob("*.jpg"))  # exactly this run's images and their small copies
    assert sorted(fresh + [Path(thumbnails.small_name(str(path))) for path in fresh]) == images
    assert (fresh[0].parent / "fingerprints.npz").is_file()

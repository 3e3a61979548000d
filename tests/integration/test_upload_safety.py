"""Bad uploads end in a clear JSON error (or page message) and leave nothing on disk.

Content decides what a file is (not its name), an over-limit body is stopped while it streams in,
an upload whose ingestion shows it unusable is removed (its row keeps the error, a re-ingest is a
409), and deleting items or collections leaves no file behind.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http.multipartparser import MultiPartParser
from django.test import RequestFactory
from django.test.client import BOUNDARY, encode_multipart
from PIL import Image

from apps.media.api_errors import PayloadTooLarge
from apps.media.models import Collection, Photo, Status, Video
from apps.media.services import storage
from apps.media.upload_limits import UploadLimitHandler
from apps.search.vectors import collection_index

from .helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)

MB = 2**20
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>\n"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>\n'


class CountingStream:
    """A request body that counts what the server reads of it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._data.read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        line = self._data.readline(size)
        self.bytes_read += len(line)
        return line


def files_under(root: Path) -> list[str]:
    """Every file left under a folder (paths relative to it)."""
    if not root.exists():
        return []
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def media_files(settings) -> list[str]:
    """Files under MEDIA_ROOT but the empty ingest locks of items that still exist."""
    return [f for f in files_under(Path(settings.MEDIA_ROOT)) if not f.startswith("locks/")]


@pytest.fixture
def collection(client, storage_dirs) -> Collection:
    response = client.post("/api/collections/", {"name": "safe", "embedder": "testmodel"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    return Collection.objects.get(name="safe")


@pytest.fixture
def upload_tmp(settings, tmp_path) -> Path:
    """Django's own temp folder for uploads (the system temp dir otherwise), to see what it keeps."""
    folder = tmp_path / "incoming"
    folder.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_video(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "tiny.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=1:size=64x64:rate=10",
                    "-pix_fmt", "yuv420p", str(out)], check=True, timeout=60)
    return out


def png_bytes(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, format="PNG")
    return buf.getvalue()


def post_file(client, endpoint: str, name: str, data: bytes):
    return client.post(endpoint, {"collection": "safe", "file": SimpleUploadedFile(name, data)})


def assert_refused(response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert body["status"] == status and "Traceback" not in body["error"]
    for word in words:
        assert word in body["error"], body
    return body


# --- content decides -------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("endpoint", "name", "data", "words"), [
    ("videos", "page.mp4", HTML, ("'page.mp4' is not a video", "none of MP4")),
    ("photos", "logo.svg", SVG, ("'logo.svg' is not a photo", "none of JPEG")),
    ("photos", "page.html", HTML, ("'page.html' is not a photo",)),
    ("videos", "page.html", HTML, ("'page.html' is not a video",)),
    ("videos", "empty.mp4", b"", ("'empty.mp4' is empty",)),
    ("photos", "empty.jpg", b"", ("'empty.jpg' is empty",)),
])
def test_content_that_is_no_photo_or_video_is_a_400_and_nothing_is_kept(client, collection, settings, upload_tmp,
                                                                         endpoint, name, data, words):
    body = assert_refused(post_file(client, f"/api/{endpoint}/", name, data), 400, *words)
    assert list(body["details"]) == ["file"] and isinstance(body["details"]["file"], list)
    assert not Video.objects.exists() and not Photo.objects.exists()
    assert media_files(settings) == [] and files_under(upload_tmp) == []


def test_a_video_sent_as_a_photo_is_refused_and_a_misnamed_file_is_stored_as_what_it_is(
        client, collection, settings, upload_tmp, tiny_video):
    video = tiny_video.read_bytes()
    assert_refused(post_file(client, "/api/photos/", "holiday.jpg", video), 400,
                   "'holiday.jpg' is a video (MP4), not a photo")
    assert_refused(post_file(client, "/api/videos/", "photo.mp4", png_bytes()), 400, "is a photo (PNG), not a video")
    assert media_files(settings) == [] and files_under(upload_tmp) == []

    # the same bytes at the right endpoint: stored as what they are, under a fitting extension
    as_video = post_file(client, "/api/videos/", "holiday.jpg", video)
    assert as_video.status_code == 201, as_video.content
    stored_video = Video.objects.get(pk=as_video.json()["id"])
    assert stored_video.status == Status.INDEXED, stored_video.error
    assert stored_video.original_name == "holiday.jpg" and stored_video.file.name.endswith("-holiday.mp4")
    as_photo = post_file(client, "/api/photos/", "photo.mp4", png_bytes())
    assert as_photo.status_code == 201, as_photo.content
    stored_photo = Photo.objects.get(pk=as_photo.json()["id"])
    assert stored_photo.file.name.endswith("-photo.png") and stored_photo.status == Status.INDEXED
    # the file server types by extension: the content's own type, never text/html or image/svg+xml
    assert client.get(as_video.json()["url"])["Content-Type"] == "video/mp4"
    assert client.get(as_photo.json()["url"])["Content-Type"] == "image/png"


def test_the_page_form_refuses_non_media_by_content_with_a_message(client, collection, settings, tiny_video):
    response = client.post(f"/collections/{collection.pk}/", {
        "files": [SimpleUploadedFile("page.mp4", HTML), SimpleUploadedFile("clip.png", tiny_video.read_bytes())],
    }, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    assert "&#x27;page.mp4&#x27; is neither a video nor a photo" in text and "1 file queued" in text
    assert list(Video.objects.values_list("original_name", flat=True)) == ["clip.png"]  # a video, named .png
    assert [f for f in media_files(settings) if f.startswith("videos/")] == [Video.objects.get().file.name]
    assert Video.objects.get().file.name.endswith("-clip.mp4")


def test_the_cli_sniffs_candidates_and_reports_non_media(collection, settings, tmp_path, tiny_video):
    from django.core.management import call_command

    folder = tmp_path / "source"
    folder.mkdir()
    (folder / "fake.mp4").write_bytes(HTML)
    (folder / "real.mp4").write_bytes(tiny_video.read_bytes())
    (folder / "notes.txt").write_text("not media")
    out = io.StringIO()
    call_command("ingest", str(folder), collection="safe", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "skipped 1 file(s) that are neither video nor image" in text  # notes.txt, by extension
    assert "skipped 1 file(s) whose content is neither video nor image: fake.mp4" in text
    assert "1 indexed" in text
    assert list(Video.objects.values_list("original_name", flat=True)) == ["real.mp4"]
    assert not any("fake" in f for f in media_files(settings))


# --- size limit, enforced while the body streams in ------------------------------------------------------------

def test_an_over_limit_api_upload_is_a_413_before_the_body_is_read(client, collection, settings, upload_tmp):
    settings.MAX_UPLOAD_BYTES = 1 * MB
    body = encode_multipart(BOUNDARY, {"collection": "safe", "file": SimpleUploadedFile("big.mp4", b"\0" * 3 * MB)})
    stream = CountingStream(body)
    response = client.generic("POST", "/api/videos/", body, content_type=MULTIPART, **{"wsgi.input": stream})
    result = assert_refused(response, 413, "over the 1 MB limit", f"declares {len(body)} bytes")
    assert result["details"] == {"detail": result["error"]}
    print(f"\nAPI, declared {len(body)} bytes over a 1 MB limit: 413 after reading {stream.bytes_read} bytes")
    assert stream.bytes_read == 0
    assert media_files(settings) == [] and files_under(upload_tmp) == [] and not Video.objects.exists()


def test_an_upload_growing_over_the_limit_is_stopped_at_that_chunk_and_its_temp_file_removed(
        client, collection, settings, upload_tmp):
    """Within the declared-length allowance, so the per-chunk count stops it (temp files forced on disk)."""
    settings.MAX_UPLOAD_BYTES = 1 * MB
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0  # Django's handler writes to FILE_UPLOAD_TEMP_DIR from the first byte
    response = post_file(client, "/api/photos/", "big.png", png_bytes() + b"\0" * (MB + 16 * 1024))
    assert_refused(response, 413, "over the 1 MB limit", "more than 1048576 bytes of files were received")
    assert media_files(settings) == [] and files_under(upload_tmp) == [] and not Photo.objects.exists()


def test_the_handler_stops_reading_a_body_longer_than_it_declared(settings, upload_tmp):
    """Parsed directly, so nothing caps the reads at the declared length: the handler itself must stop."""
    settings.MAX_UPLOAD_BYTES = 1 * MB
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 0
    body = encode_multipart(BOUNDARY, {"collection": "safe", "file": SimpleUploadedFile("big.mp4", b"\0" * 3 * MB)})
    stream = CountingStream(body)
    request = RequestFactory().post("/api/videos/", data=b"", content_type=MULTIPART)
    handlers = [UploadLimitHandler(request), *request.upload_handlers[1:]]
    meta = {"CONTENT_TYPE": MULTIPART, "CONTENT_LENGTH": str(MB)}  # a declared length that passes the first check
    with pytest.raises(PayloadTooLarge, match="more than 1048576 bytes of files were received"):
        MultiPartParser(meta, stream, handlers).parse()
    print(f"\nbody of {len(body)} bytes declaring {MB}: stopped after reading {stream.bytes_read} bytes")
    assert stream.bytes_read <= MB + 3 * 64 * 1024 < len(body)
    assert files_under(upload_tmp) == []


def test_an_over_limit_page_upload_shows_a_message_and_stores_nothing(client, collection, settings, upload_tmp):
    settings.MAX_UPLOAD_BYTES = 1 * MB
    body = encode_multipart(BOUNDARY, {"csrfmiddlewaretoken": "x", "files": SimpleUploadedFile("big.mp4", b"\0" * 3 * MB)})
    stream = CountingStream(body)
    response = client.generic("POST", f"/collections/{collection.pk}/", body, content_type=MULTIPART,
                              **{"wsgi.input": stream})
    assert response.status_code == 302
    print(f"\npage form, {len(body)} bytes over a 1 MB limit: stopped after reading {stream.bytes_read} bytes")
    assert stream.bytes_read <= 2 * 64 * 1024  # the small fields before the file, in the parser's 64 KiB chunks
    page = client.get(f"/collections/{collection.pk}/").content.decode()
    assert "the upload is over the 1 MB limit" in page and "nothing was stored" in page
    assert media_files(settings) == [] and files_under(upload_tmp) == [] and not Video.objects.exists()


def test_uploads_within_the_limit_still_work(client, collection, settings):
    settings.MAX_UPLOAD_BYTES = 1 * MB
    response = post_file(client, "/api/photos/", "small.png", png_bytes())
    assert response.status_code == 201, response.content


# --- an unusable upload is removed; a transient failure keeps the file -----------------------------------------

def test_a_corrupt_video_is_removed_its_failure_shown_and_reingest_is_a_409(client, collection, settings, tiny_video):
    truncated = tiny_video.read_bytes()[: tiny_video.stat().st_size // 2]  # the index (moov) is at the end: gone
    response = post_file(client, "/api/videos/", "broken.mp4", truncated)
    assert response.status_code == 201, response.content
    video_id = response.json()["id"]
    item = client.get(f"/api/videos/{video_id}/").json()
    assert item["status"] == "failed" and "not a video file, or it is damaged" in item["error"], item
    assert item["url"] is None and item["latest_job"]["error"] == item["error"]
    assert media_files(settings) == []  # no video file, no thumbnails (only the item's ingest lock)
    listed = client.get("/api/videos/?status=failed").json()
    assert [v["id"] for v in listed["results"]] == [video_id]  # still shown, with its reason

    conflict = assert_refused(client.post(f"/api/videos/{video_id}/reingest/"), 409, "upload the file again",
                              "'broken.mp4' has no stored file any more")
    assert "damaged" in conflict["error"]
    # the page lists it with its error too
    assert "not a video file, or it is damaged" in client.get(f"/collections/{collection.pk}/").content.decode()

    # uploading the bytes again stores them again (and, bad as they are, they fail and go again)
    again = post_file(client, "/api/videos/", "broken.mp4", truncated)
    assert again.status_code == 201 and again.json()["id"] == video_id, again.content
    assert Video.objects.get(pk=video_id).jobs.count() == 2 and media_files(settings) == []


def test_an_undecodable_photo_is_removed_but_a_transient_failure_keeps_the_file(client, collection, settings):
    broken = png_bytes()[:60]  # a PNG signature and a cut header
    response = post_file(client, "/api/photos/", "cut.png", broken)
    assert response.status_code == 201, response.content
    photo = Photo.objects.get(pk=response.json()["id"])
    assert photo.status == Status.FAILED and "corrupt or truncated" in photo.error
    assert photo.file.name == "" and photo.thumbnail.name == "" and media_files(settings) == []
    assert_refused(client.post(f"/api/photos/{photo.pk}/reingest/"), 409, "upload the file again")

    # the index was built by another model: not the file's fault, so the file stays for a re-ingest
    collection_index(collection).reset("another-model")
    response = post_file(client, "/api/photos/", "fine.png", png_bytes((10, 120, 240)))
    fine = Photo.objects.get(pk=response.json()["id"])
    assert fine.status == Status.FAILED and "rebuild" in fine.error
    assert storage.is_stored(fine.file.name)
    collection_index(collection).reset()
    assert client.post(f"/api/photos/{fine.pk}/reingest/").status_code == 202
    fine.refresh_from_db()
    assert fine.status == Status.INDEXED, fine.error


# --- deleting leaves nothing ------------------------------------------------------------------------------------

def test_deleting_items_and_the_collection_leaves_no_file(client, collection, settings, demo_media):
    video_path, _, photos = demo_media
    video_id = upload(client, "/api/videos/", "safe", video_path).json()["id"]
    photo_id = upload(client, "/api/photos/", "safe", photos[0][0]).json()["id"]
    upload(client, "/api/photos/", "safe", photos[1][0])
    video = Video.objects.get(pk=video_id)
    assert video.status == Status.INDEXED and video.keyframes.exists()
    thumbs = storage.thumbnail_dir(collection.pk, "video", video_id)
    assert any(f.startswith(thumbs) for f in media_files(settings))

    assert client.delete(f"/api/videos/{video_id}/").status_code == 204
    left = files_under(Path(settings.MEDIA_ROOT))
    assert not any(f.startswith(("videos/", thumbs)) for f in left) and f"locks/video-{video_id}.lock" not in left
    assert client.delete(f"/api/photos/{photo_id}/").status_code == 204
    assert f"locks/photo-{photo_id}.lock" not in files_under(Path(settings.MEDIA_ROOT))
    assert len([f for f in media_files(settings) if f.startswith("photos/")]) == 1

    index_dir = collection.index_dir
    assert client.delete(f"/api/collections/{collection.pk}/").status_code == 204
    assert files_under(Path(settings.MEDIA_ROOT)) == [] and not index_dir.exists()
    assert not any((Path(settings.MEDIA_ROOT) / d).exists() for d in storage.collection_dirs(collection.pk))

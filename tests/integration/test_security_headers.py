"""Response headers that keep pages and stored media safe: the Content-Security-Policy everywhere, and
media answered only as the video or image types it claims to be, whoever sends the bytes."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.media.media_types import INLINE_TYPES
from apps.media.models import Collection
from apps.media.services.storage import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from videosearch.security_headers import BROWSABLE_API_EXTRA, STRICT_POLICY

pytestmark = pytest.mark.django_db

VIDEO_BYTES = bytes(range(256)) * 8  # 2048 bytes, each offset recognisable


@pytest.fixture
def media(storage_dirs, settings) -> Path:
    """MEDIA_ROOT with a video, a photo and two files a browser would run as code if told their type."""
    root = Path(settings.MEDIA_ROOT)
    c = f"c{Collection.objects.create(name='headers').pk}"  # files are served only inside a collection's folders
    for relative, content in {
        f"videos/{c}/abc-clip.mp4": VIDEO_BYTES,
        f"photos/{c}/abc-cat.JPG": b"\xff\xd8\xff\xe0 not really a jpeg",
        f"videos/{c}/x.html": b"<html><script>alert(document.cookie)</script></html>",
        f"photos/{c}/x.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        f"videos/{c}/abc-улица ночью?.webm": b"webm",
        f"videos/{c}/noextension": b"<script>alert(1)</script>",
    }.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    return root


@pytest.fixture
def c(media) -> str:
    """The folder of the collection the ``media`` files belong to ("c<its id>")."""
    return f"c{Collection.objects.get(name='headers').pk}"


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("url", ["/", "/collections/", "/admin/login/", "/api/search/", "/api/collections/",
                                 "/no-such-page/", "/static/css/app.css"])
def test_every_response_has_the_strict_policy(anon_client, url):
    response = anon_client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    assert response["Content-Security-Policy"] == STRICT_POLICY
    assert "'unsafe-inline'" not in STRICT_POLICY and "script-src 'self'" in STRICT_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_policy_comes_from_settings(client, settings):
    settings.CONTENT_SECURITY_POLICY = "default-src 'none';"
    assert client.get("/").headers["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY = ""  # VIDEOSEARCH_CSP set but empty: no header at all
    assert "Content-Security-Policy" not in client.get("/").headers


def test_only_the_browsable_api_may_use_inline_styles(client):
    """DRF's HTML pages (not ours) have inline styles; its JSON answers and our pages keep the strict policy."""
    html = client.get("/api/collections/", HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    assert html["Content-Security-Policy"] == f"{STRICT_POLICY}; {BROWSABLE_API_EXTRA}"
    assert client.get("/api/collections/", HTTP_ACCEPT="application/json")["Content-Security-Policy"] == STRICT_POLICY


def test_every_stored_extension_has_an_inline_type():
    assert set(INLINE_TYPES) == IMAGE_EXTENSIONS | VIDEO_EXTENSIONS
    assert all(t.split("/")[0] in ("video", "image") and "svg" not in t for t in INLINE_TYPES.values())


@pytest.mark.parametrize("accel", ["", "nginx", "sendfile"])
@pytest.mark.parametrize(("relative", "content_type", "disposition"), [
    ("videos/{c}/abc-clip.mp4", "video/mp4", "inline"),
    ("photos/{c}/abc-cat.JPG", "image/jpeg", "inline"),
    ("videos/{c}/x.html", "application/octet-stream", "attachment"),
    ("photos/{c}/x.svg", "application/octet-stream", "attachment"),
    ("videos/{c}/noextension", "application/octet-stream", "attachment"),
])
def test_media_types_come_from_the_allowlist(client, media, c, settings, accel, relative, content_type, disposition):
    settings.MEDIA_ACCEL = accel
    relative = relative.format(c=c)
    response = client.get(f"/media/{quote(relative)}")
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == f'{disposition}; filename="{Path(relative).name}"'
    assert response["Content-Security-Policy"] == STRICT_POLICY


def test_default_mode_streams_the_file_with_byte_ranges(client, media, c):
    whole = client.get(f"/media/videos/{c}/abc-clip.mp4")
    assert body(whole) == VIDEO_BYTES and whole["Accept-Ranges"] == "bytes"
    assert "X-Accel-Redirect" not in whole and "X-Sendfile" not in whole

    part = client.get(f"/media/videos/{c}/abc-clip.mp4", HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206 and body(part) == VIDEO_BYTES[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(VIDEO_BYTES)}" and part["Content-Length"] == "100"
    assert part["Content-Type"] == "video/mp4" and part["X-Content-Type-Options"] == "nosniff"

    tail = client.get(f"/media/videos/{c}/abc-clip.mp4", HTTP_RANGE="bytes=-48")
    assert tail.status_code == 206 and body(tail) == VIDEO_BYTES[-48:]
    open_ended = client.get(f"/media/videos/{c}/abc-clip.mp4", HTTP_RANGE="bytes=2000-")
    assert open_ended.status_code == 206 and body(open_ended) == VIDEO_BYTES[2000:]

    past_end = client.get(f"/media/videos/{c}/abc-clip.mp4", HTTP_RANGE="bytes=5000-")
    assert past_end.status_code == 416 and past_end["Content-Range"] == f"bytes */{len(VIDEO_BYTES)}"
    assert past_end["X-Content-Type-Options"] == "nosniff"


def test_nginx_mode_hands_the_file_to_x_accel_redirect(client, media, c, settings):
    settings.MEDIA_ACCEL = "nginx"
    response = client.get(f"/media/videos/{c}/abc-clip.mp4", HTTP_RANGE="bytes=100-199")
    # nginx answers the range from its internal location; Django sends no bytes and no range headers
    assert response.status_code == 200 and body(response) == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/videos/{c}/abc-clip.mp4"
    assert "Content-Range" not in response and "X-Sendfile" not in response

    # odd names are percent-encoded (nginx decodes them; a raw "?" would start a query string)
    odd = client.get("/media/" + quote(f"videos/{c}/abc-улица ночью?.webm"))
    assert odd["X-Accel-Redirect"] == f"/protected-media/videos/{c}/" + quote("abc-улица ночью?.webm")
    assert odd["Content-Type"] == "video/webm"

    settings.MEDIA_ACCEL_PREFIX = "/internal/files/"
    dotted = client.get(f"/media/videos/{c}/../../photos/{c}/abc-cat.JPG")  # the resolved path, not the one asked for
    assert dotted["X-Accel-Redirect"] == f"/internal/files/photos/{c}/abc-cat.JPG"


def test_sendfile_mode_hands_the_file_to_x_sendfile(client, media, c, settings):
    settings.MEDIA_ACCEL = "sendfile"
    response = client.get(f"/media/photos/{c}/abc-cat.JPG")
    assert response.status_code == 200 and body(response) == b""
    assert response["X-Sendfile"] == quote(str((media / f"photos/{c}/abc-cat.JPG").resolve()))
    assert "X-Accel-Redirect" not in response and "Accept-Ranges" not in response


@pytest.mark.parametrize("accel", ["", "nginx", "sendfile"])
def test_nothing_outside_media_root_is_handed_out(client, media, c, settings, accel):
    settings.MEDIA_ACCEL = accel
    (media.parent / "secret.mp4").write_bytes(b"secret")
    for path in ("../secret.mp4", "videos/../../secret.mp4", f"videos/{c}/missing.mp4", "videos/1"):
        response = client.get(f"/media/{path}")
        assert response.status_code == 404, path
        assert "X-Accel-Redirect" not in response and "X-Sendfile" not in response


def test_an_unknown_accel_mode_is_a_configuration_error(client, media, c, settings):
    settings.MEDIA_ACCEL = "apache"
    with pytest.raises(ImproperlyConfigured):
        client.get(f"/media/videos/{c}/abc-clip.mp4")

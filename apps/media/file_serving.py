"""Serve stored media: byte ranges from Django, or handed to the front web server; always safe types.

Browsers seek in a <video> (and honour "#t=start,end") only when the server answers byte-range
requests; Django's static file view does not, so media goes through this small view. In production
the front server can send the bytes instead (settings.MEDIA_ACCEL: nginx X-Accel-Redirect or
X-Sendfile), after this view has found the file and checked who may see it (access.py).

Whoever sends the bytes, the headers come from here: a content type from an allowlist of video and
image types (media_types.py), anything else a download, and nosniff so a browser never second-guesses.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .access import Actor, may_read_media
from .media_types import media_type

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 512 * 1024


def _root() -> Path:
    return Path(settings.MEDIA_ROOT).resolve()


def _resolve(path: str) -> Path:
    """The stored file ``path`` (relative to MEDIA_ROOT) names; 404 if missing or outside MEDIA_ROOT."""
    root = _root()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("no such media file")
    return target


def _actor(request: HttpRequest) -> Actor:
    """The session's user, else the owner of an API token (scripts fetch thumbnails and videos too)."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = TokenAuthentication().authenticate(request)
    except AuthenticationFailed:
        found = None
    return found[0] if found else request.user


def serve_media(request: HttpRequest, path: str) -> HttpResponse:
    """/media/<path>: find the stored file, then answer for it (who may see it is decided in between)."""
    target = _resolve(path)
    if not may_read_media(_actor(request), target.relative_to(_root()).as_posix()):
        raise Http404("no such media file")  # hidden exactly like a missing one
    return media_response(request, target)


def media_response(request: HttpRequest, target: Path) -> HttpResponse:
    """The answer for a resolved media file, in the configured serving mode, with the safe headers."""
    mode = settings.MEDIA_ACCEL
    if mode == "nginx":
        response = HttpResponse()
        response["X-Accel-Redirect"] = settings.MEDIA_ACCEL_PREFIX + quote(target.relative_to(_root()).as_posix())
    elif mode == "sendfile":
        response = HttpResponse()
        response["X-Sendfile"] = quote(str(target))  # mod_xsendfile and lighttpd URL-decode it
    elif not mode:
        response = _stream(request, target)
    else:
        raise ImproperlyConfigured(f"unknown MEDIA_ACCEL {mode!r}: '', 'nginx' or 'sendfile'")
    return _safe_headers(response, target)


def _safe_headers(response: HttpResponse, target: Path) -> HttpResponse:
    """An allowlisted type shown inline, anything else a download; never sniffed by the browser."""
    content_type, inline = media_type(target.name)
    response["Content-Type"] = content_type
    response["Content-Disposition"] = content_disposition_header(not inline, target.name)
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _stream(request: HttpRequest, target: Path) -> HttpResponse:
    """The whole file, or the byte range the request asks for (206; 416 when it lies past the end)."""
    size = target.stat().st_size
    match = RANGE_RE.match(request.headers.get("Range", "").strip())
    if not match or (not match.group(1) and not match.group(2)):
        response = FileResponse(open(target, "rb"))
        response["Accept-Ranges"] = "bytes"
        return response
    first, last = match.group(1), match.group(2)
    if first:
        start, end = int(first), min(int(last) if last else size - 1, size - 1)
    else:  # suffix range: the last N bytes
        start, end = max(size - int(last), 0), size - 1
    if start >= size or start > end:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    length = end - start + 1
    response = StreamingHttpResponse(_iter_range(target, start, length), status=206)
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response


def _iter_range(target: Path, start: int, length: int) -> Iterator[bytes]:
    with open(target, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk

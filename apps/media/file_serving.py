"""Serve stored media with HTTP range support.

Browsers seek in a <video> (and honour "#t=start,end") only when the server answers byte-range
requests; Django's static file view does not, so media goes through this small view.
"""
from __future__ import annotations

import mimetypes
import re
from pathlib import Path

from django.conf import settings
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

from .access import Actor, may_read_media

RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")
CHUNK = 512 * 1024


def _resolve(path: str) -> Path:
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404("no such media file")
    return target


def _iter_range(target: Path, start: int, length: int):
    with open(target, "rb") as fh:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


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
    target = _resolve(path)
    if not may_read_media(_actor(request), target.relative_to(Path(settings.MEDIA_ROOT).resolve()).as_posix()):
        raise Http404("no such media file")  # hidden exactly like a missing one
    size = target.stat().st_size
    content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    match = RANGE_RE.match(request.headers.get("Range", "").strip())
    if not match or (not match.group(1) and not match.group(2)):
        response = FileResponse(open(target, "rb"), content_type=content_type)
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
    response = StreamingHttpResponse(_iter_range(target, start, length), status=206, content_type=content_type)
    response["Content-Length"] = str(length)
    response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response



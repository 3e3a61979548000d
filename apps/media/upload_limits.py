"""Refuse uploads over ``settings.MAX_UPLOAD_BYTES`` while the request body streams in.

Django's default handlers receive a whole file (into memory or the system temp dir) before any
view sees it, so a size check in the view comes after a 4 GB upload has been read and written.
This handler runs first (FILE_UPLOAD_HANDLERS) and stops the parse instead:

* a declared Content-Length over the limit: an API request is answered 413 before one byte of the
  body is read; a page form is stopped at its first file part, after the small fields before it
  (the CSRF token among them, so the page can still answer with its own message);
* received file bytes over the limit (a body longer than declared): stopped at that chunk.

Stopping raises StopUpload(connection_reset=True): Django closes (so deletes) the temp files the
default handlers had started and reads no further. API requests then get a 413 JSON error
(:class:`PayloadTooLarge`); pages read :func:`upload_refusal` and show the message.
"""
from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest
from django.utils.translation import gettext

from .api_errors import PayloadTooLarge
from .services.storage import limit_text

#: Room for the multipart framing and the small fields sent beside a file within the declared length.
FORM_OVERHEAD = 64 * 1024
_REFUSAL = "_upload_refusal"


def upload_refusal(request: HttpRequest) -> str:
    """Why this request's upload was refused ('' when it was not); parses the body if not done yet."""
    request.POST  # noqa: B018 - parsing is what runs the handler
    return getattr(request, _REFUSAL, "")


def _is_api(request: HttpRequest | None) -> bool:
    return request is not None and request.path_info.startswith("/api/")


class UploadLimitHandler(FileUploadHandler):
    """Counts a request's file bytes and stops the upload the moment they exceed MAX_UPLOAD_BYTES."""

    def __init__(self, request: HttpRequest | None = None) -> None:
        super().__init__(request)
        self.limit = settings.MAX_UPLOAD_BYTES
        self.received = 0
        self.declared_over = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        if content_length > self.limit + FORM_OVERHEAD:
            self.declared_over = True
            message = self._record(gettext("the request declares %(bytes)s bytes") % {"bytes": content_length})
            if _is_api(self.request):
                raise PayloadTooLarge(message)
        return None  # the parse goes on (pages: to the first file part)

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        if self.declared_over:
            self._stop()
        if content_length is not None and self.received + content_length > self.limit:
            self._stop(gettext("'%(name)s' declares %(bytes)s bytes") % {"name": file_name, "bytes": content_length})

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > self.limit:
            self._stop(gettext("more than %(bytes)s bytes of files were received") % {"bytes": self.limit})
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None  # the next handlers build the file

    def upload_complete(self) -> None:
        refusal = getattr(self.request, _REFUSAL, "")
        if refusal and _is_api(self.request):
            raise PayloadTooLarge(refusal)

    def _record(self, fact: str) -> str:
        message = getattr(self.request, _REFUSAL, "") or (
            gettext("the upload is over the %(limit)s limit (%(fact)s); nothing was stored")
            % {"limit": limit_text(self.limit), "fact": fact}
        )
        if self.request is not None:
            setattr(self.request, _REFUSAL, message)
        return message

    def _stop(self, fact: str = "") -> None:
        self._record(fact)
        raise StopUpload(connection_reset=True)

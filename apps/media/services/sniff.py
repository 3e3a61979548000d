"""Decide from a file's first bytes (its magic numbers) whether it is a photo, a video or neither.

A name says nothing about content: an HTML page named ``x.mp4`` would otherwise be stored and
served back, and a video named ``x.jpg`` would be refused as a broken photo. Only formats the
pipeline can ingest are recognised; everything else (HTML, SVG, text, audio, HEIC...) is refused.
"""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass

#: How many leading bytes the sniffer needs (MPEG-TS sync bytes, Ogg's first pages, EBML's doc type).
HEAD_BYTES = 8192


@dataclass(frozen=True)
class MediaFormat:
    """A recognised format: its kind, a readable name and the file endings stored for it."""

    kind: str  # "photo" or "video"
    name: str
    extensions: tuple[str, ...]  # accepted endings; the first is given to a file named otherwise

    @property
    def extension(self) -> str:
        return self.extensions[0]


JPEG = MediaFormat("photo", "JPEG", (".jpg", ".jpeg"))
PNG = MediaFormat("photo", "PNG", (".png",))
GIF = MediaFormat("photo", "GIF", (".gif",))
WEBP = MediaFormat("photo", "WebP", (".webp",))
BMP = MediaFormat("photo", "BMP", (".bmp",))
TIFF = MediaFormat("photo", "TIFF", (".tif", ".tiff"))
MP4 = MediaFormat("video", "MP4", (".mp4", ".m4v", ".mov", ".3gp", ".3g2"))
QUICKTIME = MediaFormat("video", "QuickTime", (".mov", ".mp4", ".m4v"))
THREE_GP = MediaFormat("video", "3GP", (".3gp", ".3g2", ".mp4"))
MATROSKA = MediaFormat("video", "Matroska", (".mkv", ".webm"))
WEBM = MediaFormat("video", "WebM", (".webm", ".mkv"))
AVI = MediaFormat("video", "AVI", (".avi",))
MPEG_PS = MediaFormat("video", "MPEG program stream", (".mpg", ".mpeg", ".vob"))
MPEG_TS = MediaFormat("video", "MPEG transport stream", (".ts", ".m2ts", ".mts"))
M2TS = MediaFormat("video", "MPEG transport stream (M2TS)", (".m2ts", ".mts", ".ts"))
FLV = MediaFormat("video", "FLV", (".flv",))
OGG = MediaFormat("video", "Ogg", (".ogv", ".ogg"))
ASF = MediaFormat("video", "ASF/WMV", (".wmv", ".asf"))

PHOTO_NAMES = "JPEG, PNG, GIF, WebP, BMP, TIFF"
VIDEO_NAMES = "MP4/MOV/3GP, Matroska/WebM, AVI, MPEG-PS, MPEG-TS, FLV, Ogg, ASF/WMV"

#: Content type of every stored ending; registered with ``mimetypes`` at start-up so the file server,
#: which types by extension, sends a video or image type for each (the system table may say
#: ``.ts`` is a Qt translation or know no ``.m2ts`` at all).
MEDIA_TYPES = {
    ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".gif": "image/gif", ".webp": "image/webp",
    ".bmp": "image/bmp", ".tif": "image/tiff", ".tiff": "image/tiff",
    ".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime", ".3gp": "video/3gpp", ".3g2": "video/3gpp2",
    ".mkv": "video/x-matroska", ".webm": "video/webm", ".avi": "video/x-msvideo", ".mpg": "video/mpeg",
    ".mpeg": "video/mpeg", ".vob": "video/mpeg", ".ts": "video/mp2t", ".m2ts": "video/mp2t", ".mts": "video/mp2t",
    ".flv": "video/x-flv", ".ogv": "video/ogg", ".ogg": "video/ogg", ".wmv": "video/x-ms-wmv", ".asf": "video/x-ms-asf",
}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ASF_GUID = bytes.fromhex("3026B2758E66CF11A6D900AA0062CE6C")
_BMP_HEADER_SIZES = {12, 16, 40, 52, 56, 64, 108, 124}
# ISO media brands that are still images or sound, not videos (HEIF/AVIF pictures, iTunes audio, camera raw).
_NOT_VIDEO_BRANDS = {
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs", b"mif1", b"msf1", b"avif", b"avis",
    b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ", b"crx ",
}
# First atoms of QuickTime files written before the ftyp box existed.
_OLD_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}
_OGG_VIDEO_MARKERS = (b"\x80theora", b"OVP80", b"BBCD\x00", b"\x01video\x00")
_TS_PACKET, _M2TS_PACKET = 188, 192


class UnacceptedFileError(ValueError):
    """An upload refused for its content; ``str()`` is a sentence for the user."""


class NotMediaError(UnacceptedFileError):
    """Content that is neither a photo nor a video format the pipeline ingests (or no content at all)."""


class WrongKindError(UnacceptedFileError):
    """A real photo sent where a video was expected, or the other way round."""


def sniff(head: bytes) -> MediaFormat | None:
    """The format of a file starting with ``head`` (give it :data:`HEAD_BYTES`), or None."""
    head = head[:HEAD_BYTES]
    return _sniff_photo(head) or _sniff_video(head)


def check_head(head: bytes, name: str, expect: str | None = None) -> MediaFormat:
    """The sniffed format, or an :class:`UnacceptedFileError` saying why ``name`` is refused."""
    if not head:
        raise NotMediaError(f"'{name}' is empty (0 bytes)")
    media = sniff(head)
    if media is None:
        if expect == "photo":
            raise NotMediaError(f"'{name}' is not a photo: its content is none of {PHOTO_NAMES}")
        if expect == "video":
            raise NotMediaError(f"'{name}' is not a video: its content is none of {VIDEO_NAMES}")
        raise NotMediaError(
            f"'{name}' is neither a video nor a photo: its content is none of {VIDEO_NAMES}, {PHOTO_NAMES}"
        )
    if expect and media.kind != expect:
        raise WrongKindError(f"'{name}' is a {media.kind} ({media.name}), not a {expect}: upload it as a {media.kind}")
    return media


def register_media_types() -> None:
    """Make ``mimetypes`` answer a video/image type for every ending a stored file can have."""
    for extension, media_type in MEDIA_TYPES.items():
        mimetypes.add_type(media_type, extension)


def _sniff_photo(head: bytes) -> MediaFormat | None:
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(_PNG_SIGNATURE):
        return PNG
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:2] == b"BM" and len(head) >= 18 and int.from_bytes(head[14:18], "little") in _BMP_HEADER_SIZES:
        return BMP
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return TIFF
    return None


def _sniff_video(head: bytes) -> MediaFormat | None:
    return (
        _iso_media(head)
        or _ebml(head)
        or (AVI if head[:4] == b"RIFF" and head[8:12] in (b"AVI ", b"AVIX") else None)
        or (MPEG_PS if head[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3") else None)
        or _transport_stream(head)
        or (FLV if head[:4] == b"FLV\x01" else None)
        or _ogg(head)
        or (ASF if head[:16] == _ASF_GUID else None)
    )


def _iso_media(head: bytes) -> MediaFormat | None:
    """MP4/MOV/3GP: an ftyp box whose brand is not a still image's or a sound's (or an old QuickTime atom)."""
    if len(head) < 12:
        return None
    box_type = head[4:8]
    if box_type in _OLD_QUICKTIME_ATOMS:
        return QUICKTIME
    if box_type != b"ftyp" or int.from_bytes(head[:4], "big") < 12:
        return None
    brand = head[8:12]
    if brand in _NOT_VIDEO_BRANDS:
        return None
    if brand == b"qt  ":
        return QUICKTIME
    if brand.startswith((b"3gp", b"3g2", b"3ge", b"3gg")):
        return THREE_GP
    return MP4


def _ebml(head: bytes) -> MediaFormat | None:
    """Matroska/WebM: the EBML magic, then the document type in the first few dozen bytes."""
    if not head.startswith(b"\x1a\x45\xdf\xa3"):
        return None
    header = head[:64]
    if b"webm" in header:
        return WEBM
    if b"matroska" in header:
        return MATROSKA
    return None


def _transport_stream(head: bytes) -> MediaFormat | None:
    """MPEG-TS: the 0x47 sync byte at the start of three 188-byte packets (M2TS: 192-byte packets, 4-byte prefix)."""
    if len(head) > 2 * _TS_PACKET and all(head[i * _TS_PACKET] == 0x47 for i in range(3)):
        return MPEG_TS
    if len(head) > 2 * _M2TS_PACKET + 4 and all(head[4 + i * _M2TS_PACKET] == 0x47 for i in range(3)):
        return M2TS
    return None


def _ogg(head: bytes) -> MediaFormat | None:
    """Ogg with a video stream: every stream's first page comes first, so a video codec's header is in the head."""
    if head[:4] == b"OggS" and any(marker in head for marker in _OGG_VIDEO_MARKERS):
        return OGG
    return None

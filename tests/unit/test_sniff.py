"""The content sniffer: real files of every accepted format are recognised, everything else is not."""
from __future__ import annotations

import io
import mimetypes
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from apps.media.services import sniff
from apps.media.services.storage import stored_name

# container -> ffmpeg video codec arguments (tiny clips, made once per module)
VIDEO_CONTAINERS = {
    "mp4": ["-c:v", "mpeg4"], "mov": ["-c:v", "mpeg4"], "3gp": ["-c:v", "h263", "-s", "128x96"],
    "mkv": ["-c:v", "mpeg4"], "webm": ["-c:v", "libvpx"], "avi": ["-c:v", "mpeg4"], "mpg": ["-c:v", "mpeg2video"],
    "ts": ["-c:v", "mpeg2video"], "m2ts": ["-c:v", "mpeg2video"], "flv": ["-c:v", "flv"],
    "ogv": ["-c:v", "libtheora"], "wmv": ["-c:v", "wmv2"],
}
EXPECTED_VIDEO = {
    "mp4": sniff.MP4, "mov": sniff.QUICKTIME, "3gp": sniff.THREE_GP, "mkv": sniff.MATROSKA, "webm": sniff.WEBM,
    "avi": sniff.AVI, "mpg": sniff.MPEG_PS, "ts": sniff.MPEG_TS, "m2ts": sniff.M2TS, "flv": sniff.FLV,
    "ogv": sniff.OGG, "wmv": sniff.ASF,
}
PHOTO_FORMATS = {"JPEG": sniff.JPEG, "PNG": sniff.PNG, "GIF": sniff.GIF, "WEBP": sniff.WEBP, "BMP": sniff.BMP,
                 "TIFF": sniff.TIFF}


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("containers")
    heads = {}
    for ext, codec in VIDEO_CONTAINERS.items():
        out = folder / f"clip.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=duration=0.3:size=64x64:rate=10",
                        *codec, str(out)], check=True, timeout=60)
        heads[ext] = out.read_bytes()[: sniff.HEAD_BYTES]
    return heads


def image_bytes(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (10, 200, 30)).save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("ext", list(VIDEO_CONTAINERS))
def test_every_video_container_ffmpeg_writes_is_a_video(videos, ext):
    assert sniff.sniff(videos[ext]) is EXPECTED_VIDEO[ext]
    assert sniff.check_head(videos[ext], f"clip.{ext}", expect="video").kind == "video"


@pytest.mark.parametrize("fmt", list(PHOTO_FORMATS))
def test_every_image_format_pillow_writes_is_a_photo(fmt):
    assert sniff.sniff(image_bytes(fmt)) is PHOTO_FORMATS[fmt]


@pytest.mark.parametrize(("name", "data"), [
    ("html", b"<!doctype html><html><script>alert(1)</script></html>"),
    ("svg", b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
    ("svg without prolog", b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>'),
    ("text", b"this is not a video\n" * 50),
    ("empty", b""),
    ("pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
    ("zip", b"PK\x03\x04" + b"\x00" * 100),
    ("wav", b"RIFF\x24\x00\x00\x00WAVEfmt "),
    ("heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"),
    ("m4a audio", b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42isom"),
    ("ogg vorbis audio", b"OggS\x00\x02" + b"\x00" * 20 + b"\x01\x1e\x01vorbis" + b"\x00" * 64),
    ("EBML, unknown doc type", b"\x1a\x45\xdf\xa3\x93\x42\x82\x88notmkv!!"),
    ("a text starting BM", b"BMW on the road, a red car\n"),
    ("a lone TS sync byte", b"G" + b"x" * 600),
])
def test_what_is_no_photo_or_video_is_refused(name, data):
    assert sniff.sniff(data) is None, name
    with pytest.raises(sniff.NotMediaError):
        sniff.check_head(data, "x.mp4")


def test_messages_say_what_was_expected_and_what_came():
    with pytest.raises(sniff.NotMediaError, match=r"'x\.mp4' is empty \(0 bytes\)"):
        sniff.check_head(b"", "x.mp4", expect="video")
    with pytest.raises(sniff.NotMediaError, match=r"'page\.mp4' is not a video: its content is none of MP4"):
        sniff.check_head(b"<html></html>", "page.mp4", expect="video")
    with pytest.raises(sniff.NotMediaError, match="is not a photo"):
        sniff.check_head(b"<html></html>", "page.jpg", expect="photo")
    with pytest.raises(sniff.WrongKindError, match=r"'clip\.jpg' is a video \(MP4\), not a photo"):
        sniff.check_head(b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41", "clip.jpg", expect="photo")
    assert issubclass(sniff.UnacceptedFileError, ValueError)  # callers that catch ValueError keep working


def test_stored_name_ends_in_an_extension_of_the_sniffed_format():
    assert stored_name("photo.mp4", sniff.PNG) == "photo.png"
    assert stored_name("clip.jpg", sniff.MP4) == "clip.mp4"
    assert stored_name("x.html", sniff.MP4) == "x.mp4"
    assert stored_name("IMG_1.JPG", sniff.JPEG) == "IMG_1.JPG"  # a fitting ending is kept as written
    assert stored_name("trip.mov", sniff.MP4) == "trip.mov"
    assert stored_name("noext", sniff.WEBM) == "noext.webm"
    assert stored_name("../../a b.svg", sniff.GIF) == "a_b.gif"


def test_every_stored_ending_is_served_as_a_video_or_image():
    """apps.media registers MEDIA_TYPES at start-up, over the system's table (.ts is no Qt file here)."""
    formats = [getattr(sniff, n) for n in dir(sniff) if isinstance(getattr(sniff, n), sniff.MediaFormat)]
    endings = {ext for media in formats for ext in media.extensions}
    assert endings <= set(sniff.MEDIA_TYPES)
    for ext in endings:
        media_type = mimetypes.guess_type(f"x{ext}")[0]
        assert media_type and media_type.split("/")[0] in ("video", "image"), (ext, media_type)
    for media in formats:  # a file's kind and its served type agree
        assert mimetypes.guess_type(f"x{media.extension}")[0].startswith("image/" if media.kind == "photo" else "video/")


def test_the_head_is_enough(videos):
    assert len(videos["ts"]) <= sniff.HEAD_BYTES
    assert sniff.sniff(videos["mp4"] + b"<html>" * 10_000) is sniff.MP4  # what follows the head is not read
    assert Path(__file__).suffix == ".py" and sniff.sniff(Path(__file__).read_bytes()) is None

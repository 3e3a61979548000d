"""Subtitle files and videos holding subtitle streams, written by the tests with real ffmpeg, with the cues
they hold (start, end, text, language) so every cue can be checked exactly."""
from __future__ import annotations

import subprocess
from pathlib import Path

# (start, end, text as stored, language); the file text of each is below.
SRT_ENG = [(1.237, 2.501, "Hello world", "eng"), (3.009, 4.999, "Second line\nand more", "eng"),
           (4.5, 6.061, "Overlapping & last", "eng")]
SRT_ENG_TEXT = """1
00:00:01,237 --> 00:00:02,501
Hello <i>world</i>

2
00:00:03,009 --> 00:00:04,999
<font color="#ffff00">Second line</font>
and more

3
00:00:04,500 --> 00:00:06,061
Overlapping &amp; last
"""

ASS_RUS = [(0.07, 1.99, "Первая\nстрока, с запятой", "rus"), (2.45, 3.0, "Машины едут по дороге", "rus"),
           (3.17, 4.03, "Вторая реплика", "rus")]
ASS_RUS_TEXT = """[Script Info]
ScriptType: v4.00+
PlayResX: 320
PlayResY: 240

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, \
Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, \
MarginV, Encoding
Style: Default,DejaVu Sans,20,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,2,2,10,10,10,204

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:03.17,0:00:04.03,Default,,0,0,0,,Вторая {\\i1}реплика{\\i0}
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,не показывается
Dialogue: 0,0:00:02.45,0:00:03.00,Default,,0,0,0,,{\\pos(160,120)\\b1}Машины едут{\\b0} по дороге
Dialogue: 0,0:00:00.07,0:00:01.99,Default,,0,0,0,,Первая\\Nстрока, с запятой
Dialogue: 0,0:00:01.00,0:00:01.50,Default,,0,0,0,,{\\p1}m 0 0 l 10 0 10 10{\\p0}
"""

SIDECAR_ENG = [(0.333, 1.25, "Sidecar says hi", "")]
SIDECAR_ENG_TEXT = "1\n00:00:00,333 --> 00:00:01,250\nSidecar says hi\n"
SIDECAR_RUS = [(2.002, 3.998, "Красная машина", "rus"), (4.004, 5.5, "на дороге", "rus")]
SIDECAR_RUS_TEXT = "1\r\n00:00:02,002 --> 00:00:03,998\r\nКрасная машина\r\n\r\n2\r\n00:00:04,004 --> 00:00:05,500\r\n" \
    "на дороге\r\n"

VTT = [(0.501, 1.999, "Hi & bye", ""), (2.003, 3.25, "Second\nline", ""), (61.5, 62.0, "After a minute", "")]
VTT_TEXT = """WEBVTT - a test

NOTE a comment
that spans lines

STYLE
::cue { color: yellow }

cue-1
00:00:00.501 --> 00:00:01.999 align:start position:10%
<v Bob>Hi &amp; bye</v>

00:02.003 --> 00:03.250
<c.yellow>Second</c>
<00:00:02.500>line

01:01.500 --> 01:02.000
After a minute
"""

#: ffmpeg 5.1's WebVTT demuxer reads nothing from a file with a STYLE block: the stream is made without it.
VTT_STREAM_TEXT = VTT_TEXT.replace("STYLE\n::cue { color: yellow }\n\n", "")


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def _video_input(seconds: float = 7) -> list[str]:
    return ["-f", "lavfi", "-i", f"testsrc2=size=160x120:rate=10:duration={seconds}"]


def make_mkv(folder: Path, name: str = "movie.mkv") -> Path:
    """An MKV with an SRT stream (eng, stream 1) and an ASS stream (rus, stream 2), written from the texts above."""
    srt, ass = folder / "source-eng.srt", folder / "source-rus.ass"
    srt.write_text(SRT_ENG_TEXT, encoding="utf-8")
    ass.write_text(ASS_RUS_TEXT, encoding="utf-8")
    out = folder / name
    ffmpeg(*_video_input(), "-i", str(srt), "-i", str(ass), "-map", "0", "-map", "1", "-map", "2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s:0", "srt", "-c:s:1", "ass",
           "-metadata:s:s:0", "language=eng", "-metadata:s:s:0", "title=English",
           "-metadata:s:s:1", "language=ru", str(out))
    return out


#: mov_text samples follow one another (an overlapping cue is cut where the next starts): the first two only.
MOV_TEXT_ENG = SRT_ENG[:2]


def make_mp4_mov_text(folder: Path, name: str = "clip.mp4") -> Path:
    """An MP4 with a mov_text stream (eng) made from the first two cues of the SRT above."""
    srt = folder / "source-mov.srt"
    srt.write_text(SRT_ENG_TEXT.split("\n\n3\n")[0] + "\n", encoding="utf-8")
    out = folder / name
    ffmpeg(*_video_input(), "-i", str(srt), "-map", "0", "-map", "1", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:s", "mov_text", "-metadata:s:s:0", "language=eng", str(out))
    return out


def make_webm_vtt(folder: Path, name: str = "talk.webm") -> Path:
    """A WebM with a WebVTT stream made from the WebVTT above (no language tag)."""
    vtt = folder / "source.vtt"
    vtt.write_text(VTT_STREAM_TEXT, encoding="utf-8")
    out = folder / name
    ffmpeg(*_video_input(63), "-i", str(vtt), "-map", "0", "-map", "1", "-c:v", "libvpx", "-deadline", "realtime",
           "-cpu-used", "8", "-b:v", "50k", "-c:s", "webvtt", str(out))
    return out


def expected(cues: list[tuple[float, float, str, str]], track: str) -> list[tuple[float, float, str, str, str]]:
    return [(start, end, text, language, track) for start, end, text, language in cues]


#: An SRT whose middle cue is cp1251 bytes in an otherwise UTF-8 file, copied into a stream as is.
MIXED_SRT_BYTES = (b"1\n00:00:01,000 --> 00:00:02,000\nok line\n\n2\n00:00:03,000 --> 00:00:04,000\n"
                   + "Привет".encode("cp1251") + "\n\n3\n00:00:05,000 --> 00:00:06,000\nпоследняя\n".encode())
MIXED = [(1.0, 2.0, "ok line", "eng"), (3.0, 4.0, "Привет", "eng"), (5.0, 6.0, "последняя", "eng")]


def make_mkv_with_a_bad_stream(folder: Path, name: str = "bad.mkv") -> Path:
    """An MKV whose SRT stream (1, eng) holds a cue that is not UTF-8, beside a good ASS stream (2, rus)."""
    srt, ass = folder / "mixed.srt", folder / "good.ass"
    srt.write_bytes(MIXED_SRT_BYTES)
    ass.write_text(ASS_RUS_TEXT, encoding="utf-8")
    out = folder / name
    ffmpeg(*_video_input(), "-i", str(srt), "-i", str(ass), "-map", "0", "-map", "1", "-map", "2",
           "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:s:0", "copy", "-c:s:1", "ass",
           "-metadata:s:s:0", "language=eng", "-metadata:s:s:1", "language=rus", str(out))
    return out

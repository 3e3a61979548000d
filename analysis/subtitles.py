"""Read subtitle cues (start, end, text, language) from a video's own text streams and from sidecar files.

Why here: the words people say in a video are a search signal of their own (issue 13), and the readers
stay plain functions of a file so they are tested without Django (apps/media/services/subtitle_reading.py
stores what they return).

Times are exact to the stream's precision: each stream is extracted in a format that holds its timing
without rounding (ASS/SSA as ASS: centiseconds; everything else as SubRip: milliseconds, the precision of
SubRip, WebVTT, mov_text and Matroska's default time base), and parsed as whole milliseconds. Nothing here
raises on a bad stream or file: what could not be read becomes a note (a sentence naming the track), and
every cue that could be read is kept.
"""
from __future__ import annotations

import html
import json
import re
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .probe import ffmpeg_reason
from .timed_text import TimedText

#: Subtitle codecs ffmpeg decodes to text (extracted as ASS when they are ASS/SSA, as SubRip otherwise).
TEXT_CODECS = frozenset({
    "subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text", "microdvd", "subviewer", "subviewer1", "sami",
    "realtext", "jacosub", "mpl2", "pjs", "vplayer", "stl", "eia_608",
})
ASS_CODECS = frozenset({"ass", "ssa"})
#: Pictures of text: reading them would need OCR of every subtitle image; noted and skipped.
IMAGE_CODECS = frozenset({"hdmv_pgs_subtitle", "dvb_subtitle", "dvd_subtitle", "xsub", "dvb_teletext"})
SIDECAR_EXTENSIONS = (".srt", ".vtt", ".ass", ".ssa")
#: A sidecar larger than this is refused (no subtitle file of a feature film comes near it).
MAX_SIDECAR_BYTES = 10 * 1024 * 1024
#: Extracted stream text beyond this is cut (ffmpeg's -fs); what was read is kept, with a note.
MAX_STREAM_BYTES = 50 * 1024 * 1024
PROBE_TIMEOUT_S = 60.0
EXTRACT_TIMEOUT_S = 600.0

# ISO 639-1 -> ISO 639-2/T for the languages subtitles come in; 639-2/B codes -> /T.
_ISO_639_1 = {
    "ar": "ara", "bg": "bul", "bn": "ben", "ca": "cat", "cs": "ces", "da": "dan", "de": "deu", "el": "ell",
    "en": "eng", "es": "spa", "et": "est", "fa": "fas", "fi": "fin", "fr": "fra", "he": "heb", "hi": "hin",
    "hr": "hrv", "hu": "hun", "hy": "hye", "id": "ind", "it": "ita", "ja": "jpn", "ka": "kat", "kk": "kaz",
    "ko": "kor", "lt": "lit", "lv": "lav", "ms": "msa", "nb": "nob", "nl": "nld", "nn": "nno", "no": "nor",
    "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sk": "slk", "sl": "slv", "sr": "srp", "sv": "swe",
    "th": "tha", "tr": "tur", "uk": "ukr", "uz": "uzb", "vi": "vie", "zh": "zho", "be": "bel", "az": "aze",
}
_ISO_639_2B = {"chi": "zho", "cze": "ces", "dut": "nld", "fre": "fra", "ger": "deu", "gre": "ell", "per": "fas",
               "rum": "ron", "slo": "slk", "arm": "hye", "geo": "kat", "may": "msa"}
_KNOWN_639_2 = frozenset(_ISO_639_1.values()) | frozenset(_ISO_639_2B)
_UNDETERMINED = frozenset({"", "und", "unk", "mis", "mul", "zxx", "xx"})


def iso639_2(tag: str | None) -> str:
    """A language tag as ISO 639-2/T ("en", "eng", "en-US" -> "eng"); unknown tags kept (lower case), none -> ""."""
    code = (tag or "").strip().lower().replace("_", "-").split("-")[0]
    if code in _UNDETERMINED:
        return ""
    return _ISO_639_1.get(code) or _ISO_639_2B.get(code) or code


@dataclass(frozen=True)
class SubtitleStream:
    """One subtitle stream of a file, as ffprobe lists it."""

    index: int
    codec: str
    language: str = ""  # ISO 639-2
    title: str = ""

    @property
    def track(self) -> str:
        return f"stream {self.index} ({self.codec})"

    @property
    def is_text(self) -> bool:
        return self.codec in TEXT_CODECS

    @property
    def is_image(self) -> bool:
        return self.codec in IMAGE_CODECS


@dataclass
class SubtitleRead:
    """The cues read and, one sentence each, what was left out and why."""

    cues: list[TimedText] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def extend(self, other: SubtitleRead) -> None:
        self.cues.extend(other.cues)
        self.notes.extend(other.notes)


@dataclass
class Parsed:
    """A parser's answer: the cues, and how many blocks were malformed or had an end before their start."""

    cues: list[TimedText] = field(default_factory=list)
    malformed: int = 0
    backwards: int = 0

    def notes(self, track: str) -> list[str]:
        notes = []
        if self.malformed:
            notes.append(f"{track}: {self.malformed} malformed block(s) skipped")
        if self.backwards:
            notes.append(f"{track}: {self.backwards} cue(s) ending before they start skipped")
        return notes


# ------------------------------------------------------------------ text clean-up
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<\d[\d:.]*>")  # <i>, </font>, <v Bob>, WebVTT's <00:00:01.000>
_ASS_BLOCK = re.compile(r"\{[^{}]*\}")
_ASS_DRAWING_ON = re.compile(r"\\p([1-9]\d*)")
_ASS_DRAWING_OFF = re.compile(r"\\p0")


def clean_lines(text: str) -> str:
    """Lines stripped, empty ones dropped, joined by newlines ("" when nothing is left)."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def strip_markup(text: str) -> str:
    """SubRip/WebVTT text without its tags (<i>, <font ...>, <v Name>) and with entities decoded."""
    return clean_lines(html.unescape(_HTML_TAG.sub("", text)))


def strip_ass(text: str) -> str:
    """ASS dialogue text without override blocks ({\\i1}) and drawings (\\p1 ... \\p0); \\N, \\n break lines."""
    kept, drawing, pos = [], False, 0
    for block in _ASS_BLOCK.finditer(text):
        if not drawing:
            kept.append(text[pos:block.start()])
        if _ASS_DRAWING_ON.search(block.group()):
            drawing = True
        elif _ASS_DRAWING_OFF.search(block.group()):
            drawing = False
        pos = block.end()
    if not drawing:
        kept.append(text[pos:])
    plain = "".join(kept).replace("\\N", "\n").replace("\\n", "\n").replace("\\h", " ")
    return strip_markup(plain)  # some files put HTML tags in ASS too


# ------------------------------------------------------------------ parsers
_SRT_TIME = r"(?:(\d+):)?(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^\s*{_SRT_TIME}\s*-->\s*{_SRT_TIME}")
_ASS_TIME = re.compile(r"^\s*(\d+):(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?\s*$")


def _ms(hours: str | None, minutes: str, seconds: str, fraction: str) -> int:
    """Whole milliseconds of a time whose fraction has 1-3 digits (".5" is 500 ms, ".05" 50 ms)."""
    return ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int(fraction.ljust(3, "0"))


def _cue(start_ms: int, end_ms: int, text: str, language: str, track: str, parsed: Parsed) -> None:
    """Add a cue in seconds (computed from whole ms, so 1237 ms is exactly the float 1.237); skip empty text."""
    if not text:
        return
    if end_ms < start_ms:
        parsed.backwards += 1
        return
    parsed.cues.append(TimedText(start_ms / 1000, end_ms / 1000, text, language=language, track=track))


def parse_srt(text: str, language: str = "", track: str = "") -> Parsed:
    """SubRip (and WebVTT's cue blocks): blocks separated by blank lines, each a timing line and its text.

    The cue number is optional; a block without a readable timing line is counted as malformed and skipped.
    """
    parsed = Parsed()
    for block in re.split(r"\n[ \t]*\n", text.replace("\r\n", "\n").replace("\r", "\n")):
        lines = block.strip("\n").split("\n")
        if not any(line.strip() for line in lines):
            continue
        timing = next((i for i, line in enumerate(lines[:3]) if "-->" in line), None)
        match = _SRT_TIMING.match(lines[timing]) if timing is not None else None
        if match is None:
            parsed.malformed += 1
            continue
        start, end = _ms(*match.groups()[:4]), _ms(*match.groups()[4:])
        _cue(start, end, strip_markup("\n".join(lines[timing + 1:])), language, track, parsed)
    return parsed


def parse_vtt(text: str, language: str = "", track: str = "") -> Parsed:
    """WebVTT: the header, NOTE, STYLE and REGION blocks are dropped; cues are read like SubRip's."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    blocks = re.split(r"\n[ \t]*\n", body)
    if blocks and blocks[0].lstrip("\ufeff").startswith("WEBVTT"):
        blocks = blocks[1:]
    kept = [b for b in blocks if not re.match(r"\s*(NOTE|STYLE|REGION)\b", b)]
    return parse_srt("\n\n".join(kept), language, track)


def parse_ass(text: str, language: str = "", track: str = "") -> Parsed:
    """ASS/SSA: the Dialogue lines of [Events], fields named by its Format line; cues in time order."""
    parsed = Parsed()
    fields: list[str] | None = None
    in_events = False
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.strip()
        if line.startswith("["):
            in_events = line.lower() == "[events]"
            continue
        if not in_events or ":" not in line:
            continue
        kind, _, rest = line.partition(":")
        kind = kind.strip().lower()
        if kind == "format":
            fields = [name.strip().lower() for name in rest.split(",")]
        elif kind == "dialogue":
            if not fields or "start" not in fields or "end" not in fields or fields[-1] != "text":
                parsed.malformed += 1
                continue
            values = [value.strip() for value in rest.split(",", len(fields) - 1)]
            if len(values) != len(fields):
                parsed.malformed += 1
                continue
            start = _ASS_TIME.match(values[fields.index("start")])
            end = _ASS_TIME.match(values[fields.index("end")])
            if start is None or end is None:
                parsed.malformed += 1
                continue
            # raw text (not stripped): leading spaces in the Text field are part of it, strip_ass trims lines
            text_value = rest.split(",", len(fields) - 1)[-1]
            _cue(_ms(*start.groups(default="0")), _ms(*end.groups(default="0")), strip_ass(text_value),
                 language, track, parsed)
    parsed.cues.sort(key=lambda cue: (cue.start, cue.end))  # stable: equal times keep the file's order
    return parsed


PARSERS = {".srt": parse_srt, ".vtt": parse_vtt, ".ass": parse_ass, ".ssa": parse_ass}


# ------------------------------------------------------------------ sidecar files
def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM; UTF-16 with BOM), else cp1251 (common for Russian .srt), else latin-1."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def sidecar_language(name: str, video_stem: str) -> str:
    """The language a sidecar's name gives ("movie.ru.srt" -> "rus", "movie.en-US.forced.vtt" -> "eng", else "")."""
    middle = name[len(video_stem):] if name.startswith(video_stem) else name
    middle = middle[:-len(Path(name).suffix) or None]
    parts = [part for part in middle.split(".") if part]
    for part in parts:
        code = part.lower().replace("_", "-").split("-")[0]
        if code in _ISO_639_1 or code in _KNOWN_639_2:
            return iso639_2(code)
    return ""


def _size_text(size: int) -> str:
    return f"{size // 2**20} MB" if size >= 2**20 and size % 2**20 == 0 else f"{size} bytes"


def find_sidecars(video_path: Path) -> list[Path]:
    """Subtitle files beside a video named after it: movie.srt, movie.ru.srt, movie.en.forced.vtt, movie.ass."""
    video_path = Path(video_path)
    stem = video_path.stem
    try:
        entries = sorted(video_path.parent.iterdir())
    except OSError:
        return []
    found = []
    for entry in entries:
        name = entry.name
        if entry == video_path or entry.suffix.lower() not in SIDECAR_EXTENSIONS or not name.startswith(stem):
            continue
        middle = name[len(stem):-len(entry.suffix)]
        if (middle == "" or middle.startswith(".")) and entry.is_file():
            found.append(entry)
    return found


def read_sidecar(path: Path, video_stem: str | None = None, max_bytes: int = MAX_SIDECAR_BYTES,
                 track: str | None = None) -> SubtitleRead:
    """The cues of a sidecar file (track: its name; language: from its name). Never raises on a bad file."""
    path = Path(path)
    track = track or path.name
    language = sidecar_language(path.name, video_stem if video_stem is not None else path.name.split(".")[0])
    parser = PARSERS.get(path.suffix.lower())
    if parser is None:
        return SubtitleRead(notes=[f"{track}: not a subtitle format that can be read (.srt, .vtt, .ass, .ssa)"])
    try:
        with open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)  # never more, whatever the file claims or becomes
    except OSError as exc:
        return SubtitleRead(notes=[f"{track}: could not be read ({exc.strerror or exc})"])
    if len(data) > max_bytes:
        return SubtitleRead(notes=[f"{track}: larger than the {_size_text(max_bytes)} limit for subtitle files, "
                                   "not read"])
    if not data.strip():
        return SubtitleRead(notes=[f"{track}: empty file"])
    parsed = parser(decode_text(data), language, track)
    notes = parsed.notes(track)
    if not parsed.cues:
        notes.append(f"{track}: no cues found")
    return SubtitleRead(parsed.cues, notes)


# ------------------------------------------------------------------ streams of the file itself
class SubtitleError(Exception):
    """ffprobe could not list the file's streams; str() is a sentence for the item's note."""


def list_streams(path: Path, timeout: float = PROBE_TIMEOUT_S) -> list[SubtitleStream]:
    """The file's subtitle streams (index, codec, ISO 639-2 language, title), from ffprobe."""
    path = Path(path)
    args = ["ffprobe", "-v", "error", "-select_streams", "s", "-show_entries",
            "stream=index,codec_name:stream_tags=language,title", "-of", "json", str(path)]
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError as exc:
        raise SubtitleError("ffprobe is not installed on the server") from exc
    except subprocess.TimeoutExpired as exc:
        raise SubtitleError(f"listing the subtitle streams took longer than {timeout:.0f} s") from exc
    if done.returncode != 0:
        reason = ffmpeg_reason(done.stderr.decode("utf-8", "replace").splitlines(), path)
        raise SubtitleError(f"the file's streams could not be listed ({reason or f'exit code {done.returncode}'})")
    try:
        streams = json.loads(done.stdout.decode("utf-8", "replace")).get("streams") or []
    except (json.JSONDecodeError, AttributeError) as exc:
        raise SubtitleError("the file's streams could not be listed (unreadable ffprobe output)") from exc
    found = []
    for stream in streams:
        tags = stream.get("tags") or {}
        tags = {str(key).lower(): str(value) for key, value in tags.items()}
        found.append(SubtitleStream(int(stream.get("index", -1)), str(stream.get("codec_name") or "unknown"),
                                    iso639_2(tags.get("language")), tags.get("title", "").strip()))
    return found


def _output_args(stream: SubtitleStream, target: Path) -> list[str]:
    fmt = "ass" if stream.codec in ASS_CODECS else "srt"
    codec = "ass" if fmt == "ass" else "subrip"
    return ["-map", f"0:{stream.index}", "-c:s", codec, "-fs", str(MAX_STREAM_BYTES), "-f", fmt, str(target)]


def _target(folder: Path, stream: SubtitleStream, tag: str = "") -> Path:
    return folder / f"{stream.index}{tag}.{'ass' if stream.codec in ASS_CODECS else 'srt'}"


_LOG_PREFIX = re.compile(r"^\[[^\]]* @ 0x[0-9a-f]+\]\s*")


@dataclass(frozen=True)
class _Run:
    """What one ffmpeg extraction said: ``failed`` when it exited with an error, ``complaint`` its first line."""

    failed: bool
    complaint: str


def _extract(path: Path, streams: list[SubtitleStream], targets: list[Path], timeout: float,
             charset: str = "") -> _Run:
    """One ffmpeg run writing each stream to its target (``charset``: how to decode text that is not UTF-8)."""
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", *(["-sub_charenc", charset] if charset else []),
            "-i", str(path)]
    for stream, target in zip(streams, targets):
        args += _output_args(stream, target)
    try:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except FileNotFoundError:
        return _Run(True, "ffmpeg is not installed on the server")
    except subprocess.TimeoutExpired:
        return _Run(True, f"extracting took longer than {timeout:.0f} s")
    lines = [_LOG_PREFIX.sub("", line) for line in done.stderr.decode("utf-8", "replace").splitlines()]
    complaint = ffmpeg_reason(lines[:1], path) if lines else ""
    if done.returncode != 0:
        return _Run(True, ffmpeg_reason(lines, path) or f"exit code {done.returncode}")
    return _Run(False, complaint)


def plan_streams(streams: Iterable[SubtitleStream]) -> tuple[list[SubtitleStream], list[str]]:
    """The streams to read as text, and a note for each one that is not (image-based or unknown)."""
    text_streams, notes = [], []
    for stream in streams:
        if stream.is_text:
            text_streams.append(stream)
        elif stream.is_image:
            notes.append(f"{stream.track}: image-based subtitles are not read")
        else:
            notes.append(f"{stream.track}: not a text subtitle format that can be read")
    return text_streams, notes


def read_streams(path: Path, timeout: float = EXTRACT_TIMEOUT_S) -> SubtitleRead:
    """The cues of every text subtitle stream of a video; image-based and unknown streams are noted.

    All text streams are extracted in one ffmpeg run; when it fails, each stream is extracted alone so one
    bad stream costs only its own cues (and whatever ffmpeg wrote of it before failing is still read).
    """
    path = Path(path)
    read = SubtitleRead()
    try:
        streams = list_streams(path)
    except SubtitleError as exc:
        read.notes.append(str(exc))
        return read
    text_streams, read.notes = plan_streams(streams)
    if not text_streams:
        return read
    with tempfile.TemporaryDirectory(prefix="subtitles-") as tmp:
        folder = Path(tmp)
        together = _extract(path, text_streams, [_target(folder, s) for s in text_streams], timeout)
        for stream in text_streams:
            if together.failed or together.complaint:  # find out which stream it was, and read the rest whole
                read.extend(_read_alone(path, stream, folder, timeout))
            else:
                read.extend(_parse_extracted(stream, _target(folder, stream)))
    return read


def _read_alone(path: Path, stream: SubtitleStream, folder: Path, timeout: float) -> SubtitleRead:
    """Extract one stream by itself; its complaint becomes a note. Text that is not UTF-8 (ffmpeg drops such
    cues) is read again as cp1251, and the cues only that reading found are added."""
    target = _target(folder, stream)
    run = _extract(path, [stream], [target], timeout)
    read = _parse_extracted(stream, target)
    if "UTF-8" in run.complaint:
        again = _target(folder, stream, "-cp1251")
        if not _extract(path, [stream], [again], timeout, charset="cp1251").failed:
            legacy = _parse_extracted(stream, again)
            have = {(cue.start, cue.end) for cue in read.cues}
            extra = [cue for cue in legacy.cues if (cue.start, cue.end) not in have]
            if extra:
                read.cues = sorted([*read.cues, *extra], key=lambda cue: (cue.start, cue.end))
                read.notes.append(f"{stream.track}: {len(extra)} cue(s) not in UTF-8, read as cp1251")
                return read
    if run.failed:
        read.notes.insert(0, f"{stream.track}: ffmpeg failed ({run.complaint}); the cues before the failure are kept")
    elif run.complaint:
        read.notes.insert(0, f"{stream.track}: ffmpeg reported a problem ({run.complaint}); some cues may be missing")
    return read


def _parse_extracted(stream: SubtitleStream, target: Path) -> SubtitleRead:
    notes = []
    try:
        data = target.read_bytes()
    except OSError:
        data = b""
    if len(data) >= MAX_STREAM_BYTES:
        notes.append(f"{stream.track}: cut at {MAX_STREAM_BYTES // 2**20} MB of subtitle text")
    parser = parse_ass if target.suffix == ".ass" else parse_srt
    parsed = parser(data.decode("utf-8", "replace"), stream.language, stream.track)
    notes += parsed.notes(stream.track)
    return SubtitleRead(parsed.cues, notes)


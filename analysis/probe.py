"""Read what a video file is (duration, frame rate, size, codec, rotation) before decoding it.

Uses ffprobe's JSON output. ``ffmpeg.probe`` (ffmpeg-python 0.2.0) cannot time out, so ffprobe is run
through ``subprocess.run`` with a timeout and its stderr is turned into a readable :class:`MediaError`.
"""
from __future__ import annotations

import json
import math
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import (
    EmptyFileError,
    FileMissingError,
    MediaError,
    MediaTimeoutError,
    NotAVideoError,
    NoVideoStreamError,
)

PROBE_TIMEOUT_S = 30.0
# Demuxers that mean "a single picture", which has nothing to cut into moments.
_STILL_IMAGE_FORMATS = ("image2", "_pipe")
_MAX_SANE_FPS = 240.0


@dataclass(frozen=True)
class ProbeResult:
    """The facts about a video that analysis and the UI need."""

    duration: float
    fps: float
    width: int  # as displayed: rotation metadata already applied, like ffmpeg's decoder output
    height: int
    codec: str
    container: str
    has_audio: bool
    frame_count: int | None
    rotation: int = 0  # display rotation in degrees (0/90/180/270) from the file's metadata


class ProbeRun:
    """ffprobe on one file, started at once and read later.

    Why separate start and result: starting ffprobe costs ~0.09 s (linking its shared libraries),
    so the analysis starts it beside the decoding ffmpeg and both load at the same time.
    """

    def __init__(self, path: Path, timeout: float = PROBE_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._timeout = timeout
        args = ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(self.path)]
        try:
            self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE)
        except FileNotFoundError as exc:  # the ffprobe binary itself
            raise MediaError("ffprobe is not installed on the server.") from exc

    def json(self) -> dict[str, Any]:
        """ffprobe's format+streams JSON; MediaError when ffprobe cannot read the file."""
        try:
            stdout, stderr = self._proc.communicate(timeout=self._timeout)
        except subprocess.TimeoutExpired as exc:
            self._proc.kill()
            self._proc.communicate()
            raise MediaTimeoutError(f"Reading the file's metadata took longer than {self._timeout:.0f} s.") from exc
        if self._proc.returncode != 0:
            reason = ffmpeg_reason(stderr.decode("utf-8", "replace").splitlines(), self.path)
            raise NotAVideoError(
                f"This is not a video file, or it is damaged or incomplete "
                f"({reason or f'ffprobe exited with code {self._proc.returncode}'})."
            )
        try:
            return json.loads(stdout.decode("utf-8", "replace"))
        except json.JSONDecodeError as exc:
            raise NotAVideoError("This is not a video file ffmpeg can read (unreadable metadata).") from exc

    def result(self) -> ProbeResult:
        """The parsed facts (see :func:`parse_probe`)."""
        return parse_probe(self.json())


def check_file(path: Path) -> None:
    """Refuse, with a reason, what is not a non-empty regular file (before any process reads it)."""
    if not path.exists():
        raise FileMissingError(f"The file {path.name!r} does not exist.")
    if not path.is_file():
        raise NotAVideoError(f"{path.name!r} is not a regular file.")
    if path.stat().st_size == 0:
        raise EmptyFileError("The file is empty (0 bytes).")


def probe_video(path: Path) -> ProbeResult:
    """Probe ``path``; raise a MediaError saying why when it is not an ingestible video."""
    path = Path(path)
    check_file(path)
    return ProbeRun(path).result()


def parse_probe(info: dict[str, Any]) -> ProbeResult:
    """Turn ffprobe JSON into a ProbeResult (pure, so odd metadata can be unit tested)."""
    fmt = info.get("format") or {}
    streams = info.get("streams") or []
    container = str(fmt.get("format_name") or "unknown")
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not (s.get("disposition") or {}).get("attached_pic")), None)
    if video is None:
        raise NoVideoStreamError("The file has no video stream (audio or subtitles only?).")
    if any(container.startswith(f) or container.endswith(f) for f in _STILL_IMAGE_FORMATS):
        raise NotAVideoError(f"This is a still image ({container}), not a video.")
    width, height = int(video.get("width") or 0), int(video.get("height") or 0)
    rotation = _rotation(video)
    if rotation in (90, 270):  # ffmpeg auto-rotates on decode: report what is displayed
        width, height = height, width
    if width <= 0 or height <= 0:
        raise NotAVideoError("The video stream has no picture size; the file is damaged or not a video.")
    duration = _first_positive(video.get("duration"), fmt.get("duration"))
    frame_count = _int_or_none(video.get("nb_frames"))
    fps = _frame_rate(video, duration, frame_count)
    if duration is None:
        if frame_count and fps:
            duration = frame_count / fps
        else:
            raise NotAVideoError("The video has no duration (zero-length or damaged file).")
    if fps is None:
        raise NotAVideoError("The video's frame rate cannot be determined.")
    return ProbeResult(
        duration=duration, fps=fps, width=width, height=height,
        codec=str(video.get("codec_name") or "unknown"), container=container,
        has_audio=any(s.get("codec_type") == "audio" for s in streams),
        frame_count=frame_count, rotation=rotation,
    )


def _frame_rate(video: dict[str, Any], duration: float | None, frame_count: int | None) -> float | None:
    """avg_frame_rate, else r_frame_rate, else frames/duration: the first plausible one."""
    for key in ("avg_frame_rate", "r_frame_rate"):
        rate = _rate(video.get(key))
        if rate is not None and 0 < rate <= _MAX_SANE_FPS:
            return rate
    if duration and frame_count:
        return frame_count / duration
    return None


def _rotation(video: dict[str, Any]) -> int:
    """Display rotation in degrees (0/90/180/270) from the rotate tag or display-matrix side data."""
    values: list[Any] = [(video.get("tags") or {}).get("rotate")]
    values += [d.get("rotation") for d in video.get("side_data_list") or [] if isinstance(d, dict)]
    for value in values:
        try:
            return int(round(float(value))) % 360
        except (TypeError, ValueError):
            continue
    return 0


def _rate(text: Any) -> float | None:
    try:
        value = float(Fraction(str(text)))
    except (ValueError, ZeroDivisionError):
        return None
    return value if math.isfinite(value) else None


def _first_positive(*values: Any) -> float | None:
    for value in values:
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if math.isfinite(number) and number > 0:
            return number
    return None


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def ffmpeg_reason(lines: Iterable[str], path: Path) -> str:
    """ffmpeg's last error line, without the server-side path (users only know the file name)."""
    kept = [ln.strip() for ln in lines if ln.strip()]
    if not kept:
        return ""
    return kept[-1].replace(str(path), path.name)[:300]

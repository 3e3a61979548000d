"""One ffmpeg process that decodes a video's first video stream to small raw frames on a pipe.

Why one process, raw I420 (yuv420p), small: shot detection and keyframe choice both consume the
same frames, so the file is decoded exactly once; scaling inside ffmpeg (swscale, fast_bilinear)
is far cheaper than in Python; I420 is half the bytes of RGB, its Y plane is the grey image the
quality score needs and its U/V planes are already half size, the detection size. Only the chosen
keyframes are converted to RGB. ``-skip_loop_filter noref`` skips deblocking of frames no other
frame is predicted from (h264 B-frames...), for sources at least twice the working size where the
downscale hides it. Only non-reference frames: skipping the in-loop filter on reference frames
("all") makes errors drift from frame to frame (visible streaks on VP8), which would spoil keyframes.
``-fps_mode cfr -r FPS`` makes frame ``i`` sit exactly at ``i / fps`` seconds even for variable-frame-rate files.

Robustness: stderr is drained by a thread (a full stderr pipe would block ffmpeg and us with it), a
watchdog kills ffmpeg when no frame arrives for ``stall_timeout`` seconds, and the process is always
killed when the consumer stops early.
"""
from __future__ import annotations

import collections
import fcntl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from .errors import CorruptVideoError, MediaError, MediaTimeoutError, NotAVideoError
from .probe import ProbeResult, ffmpeg_reason, fps_fraction

WORK_SHORT_SIDE = 256
MIN_SIDE = 16
# Deblocking is skipped only for sources at least 2x the working size: the downscale hides blocks.
SKIP_DEBLOCK_MIN_SIDE = 2 * WORK_SHORT_SIDE
STALL_TIMEOUT_S = 60.0
# Above this rate frames are dropped by ffmpeg: 30 frames a second is plenty to find cuts.
MAX_ANALYSIS_FPS = 60.0
_F_SETPIPE_SZ = 1031  # Linux fcntl: enlarge the pipe so ffmpeg writes whole frames per syscall.
_PIPE_BYTES = 1 << 20


@dataclass(frozen=True)
class DecodePlan:
    """Frame geometry and rate of the raw stream, decided before ffmpeg starts."""

    width: int
    height: int
    fps: Fraction
    skip_deblocking: bool = False  # only when downscaling hides blocking (see module docstring)

    @property
    def frame_shape(self) -> tuple[int, int]:
        """OpenCV's I420 layout: the Y rows, then U, then V, all ``width`` wide."""
        return self.height * 3 // 2, self.width


def working_size(width: int, height: int, short_side: int = WORK_SHORT_SIDE) -> tuple[int, int]:
    """(w, h) with the short side at ``short_side`` (never upscaled), aspect kept.

    Both are multiples of 4 so the half-size detection frame is itself a valid I420 image.
    """
    scale = min(1.0, short_side / min(width, height))
    return max(4, round(width * scale / 4) * 4), max(4, round(height * scale / 4) * 4)


def plan_decode(probe: ProbeResult) -> DecodePlan:
    """Working resolution and analysis frame rate for ``probe``."""
    if min(probe.width, probe.height) < MIN_SIDE:
        raise NotAVideoError(f"The video is too small to analyse ({probe.width}x{probe.height} pixels).")
    width, height = working_size(probe.width, probe.height)
    fps = fps_fraction(probe.fps)
    if fps > MAX_ANALYSIS_FPS:
        fps = fps / int(-(-fps // 30))  # an integer divisor keeps the frame times exact
    skip = min(probe.width, probe.height) >= SKIP_DEBLOCK_MIN_SIDE
    return DecodePlan(width, height, fps, skip_deblocking=skip)


def ffmpeg_args(path: Path, plan: DecodePlan) -> list[str]:
    """The decode command line (also used by the benchmark)."""
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        *(["-skip_loop_filter", "noref"] if plan.skip_deblocking else []),
        "-i", str(path),
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"scale={plan.width}:{plan.height}:flags=fast_bilinear",
        "-fps_mode", "cfr", "-r", str(plan.fps),
        "-pix_fmt", "yuv420p", "-f", "rawvideo", "pipe:1",
    ]


class _StderrTail(threading.Thread):
    """Drains ffmpeg's stderr so it never blocks, keeping the last lines for error messages."""

    def __init__(self, stream) -> None:
        super().__init__(daemon=True)
        self._stream = stream
        self.lines: collections.deque[str] = collections.deque(maxlen=20)

    def run(self) -> None:
        for raw in iter(self._stream.readline, b""):
            line = raw.decode("utf-8", "replace").strip()
            if line:
                self.lines.append(line)

    def reason(self, path: Path) -> str:
        return ffmpeg_reason(self.lines, path)


class _Watchdog(threading.Thread):
    """Kills ffmpeg when it has produced nothing for ``timeout`` seconds."""

    def __init__(self, proc: subprocess.Popen, timeout: float) -> None:
        super().__init__(daemon=True)
        self._proc = proc
        self._timeout = timeout
        self.last_progress = time.monotonic()
        self.fired = False
        self._stop = threading.Event()

    def run(self) -> None:
        while not self._stop.wait(min(1.0, self._timeout / 4)):
            if time.monotonic() - self.last_progress > self._timeout:
                self.fired = True
                self._proc.kill()
                return

    def stop(self) -> None:
        self._stop.set()


@dataclass
class DecodeReport:
    """How decoding went, filled in by :func:`iter_frames` once the stream ends."""

    frames: int = 0
    returncode: int | None = None
    errors: list[str] = field(default_factory=list)  # ffmpeg's error lines (server path removed)

    @property
    def clean(self) -> bool:
        return self.returncode == 0 and not self.errors


def iter_frames(path: Path, plan: DecodePlan, *, stall_timeout: float = STALL_TIMEOUT_S,
                report: DecodeReport | None = None) -> Iterator[np.ndarray]:
    """Yield every frame as a fresh (H * 3 / 2, W) uint8 I420 array (safe to keep a reference to).

    Raises MediaTimeoutError when ffmpeg stalls and CorruptVideoError when not one frame decodes.
    Otherwise ``report`` says whether ffmpeg complained; the caller judges a short or noisy decode.
    """
    report = report if report is not None else DecodeReport()
    try:
        proc = subprocess.Popen(ffmpeg_args(path, plan), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    except FileNotFoundError as exc:
        raise MediaError("ffmpeg is not installed on the server.") from exc
    try:
        fcntl.fcntl(proc.stdout.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
    except OSError:
        pass  # a smaller pipe only costs a few more syscalls
    stderr = _StderrTail(proc.stderr)
    stderr.start()
    watchdog = _Watchdog(proc, stall_timeout)
    watchdog.start()
    frames = 0
    try:
        while True:
            frame = np.empty(plan.frame_shape, np.uint8)
            if not _read_exact(proc.stdout, memoryview(frame).cast("B")):
                break
            watchdog.last_progress = time.monotonic()
            frames += 1
            yield frame
        returncode = _wait(proc, stall_timeout)
    finally:
        watchdog.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        stderr.join(timeout=5)
        proc.stderr.close()
    if watchdog.fired:
        raise MediaTimeoutError(f"Decoding stalled for {stall_timeout:.0f} s and was stopped.")
    report.frames, report.returncode = frames, returncode
    report.errors = [ffmpeg_reason([line], path) for line in stderr.lines]
    if frames == 0:
        detail = stderr.reason(path) or f"ffmpeg exited with code {returncode}"
        raise CorruptVideoError(f"No frame of the video could be decoded ({detail}).")


def _wait(proc: subprocess.Popen, timeout: float) -> int:
    """ffmpeg's exit code once its output ended; killed (-9) if it lingers."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def i420_planes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of the Y (H x W) and U, V (H/2 x W/2) planes of an I420 frame."""
    height, width = frame.shape[0] * 2 // 3, frame.shape[1]
    flat = frame.reshape(-1)
    luma, chroma = height * width, (height // 2) * (width // 2)
    return (flat[:luma].reshape(height, width),
            flat[luma:luma + chroma].reshape(height // 2, width // 2),
            flat[luma + chroma:luma + 2 * chroma].reshape(height // 2, width // 2))


def i420_to_rgb(frame: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB from an I420 frame."""
    return cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)


def _read_exact(stream, view: memoryview) -> bool:
    """Fill ``view`` from the pipe; False on a clean EOF before the first byte."""
    got, size = 0, len(view)
    while got < size:
        n = stream.readinto(view[got:])
        if not n:
            if got:
                return False  # a partial trailing frame: ffmpeg died mid-write, ignore it
            return False
        got += n
    return True

"""One ffmpeg process that decodes a video's first video stream to small raw frames on a pipe.

Why one process, raw I420 (yuv420p), small: shot detection and keyframe choice both consume the
same frames, so the file is decoded exactly once; scaling inside ffmpeg is far cheaper than in
Python; I420 is half the bytes of RGB, its Y plane is the grey image the
quality score needs and its U/V planes are already half size, the detection size. Only the chosen
keyframes are converted to RGB.

Why the command needs nothing from ffprobe: starting an ffmpeg or ffprobe binary costs ~0.09 s
(the dynamic linker resolving 200+ shared libraries), almost half of what ``ffmpeg -f null``
needs for the 30 s 320x240 test clip. So ffmpeg is started at once, beside ffprobe, and the size
and rate are ffmpeg expressions on what it decodes (short side at most 256 px; above 45 frames a
second thinned to 24-30); the YUV4MPEG2 container then states the frame size and exact rate
ffmpeg chose, so reader and writer cannot disagree.
``fps=...:start_time=0`` makes frame ``i`` sit exactly at ``i / fps`` seconds of the file even for
variable-frame-rate files (the first frame is repeated when the picture starts late).

Why ``flags=area``: swscale's box filter is a proper antialiased downscale (44-48 dB PSNR from a
Lanczos downscale on 720p test patterns and footage) at about the cost of ``fast_bilinear``, whose
two taps alias at these ratios (28-32 dB; even ``neighbor`` gets 32-41 dB). Keyframes are what gets
embedded, so their pixels are worth it: frame queries on the shared media hit 99.3% instead of 98.5%.

``-skip_loop_filter noref`` skips deblocking only of frames no other frame is predicted from
(h264/hevc B-frames): the frames that are never a reference cannot drift, and on every test clip
the working-size frames stay within PSNR 59 dB of a fully deblocked decode (RMS difference under
0.3 grey levels, even from a 320x180 H.264 source), for 4-7% less decoding CPU on 720p H.264.
Skipping it on reference frames ("all") makes errors drift from frame to frame (visible streaks
on VP8), which would spoil keyframes.

Robustness: stderr is drained by a thread (a full stderr pipe would block ffmpeg and us with it), a
watchdog kills ffmpeg when no frame arrives for ``stall_timeout`` seconds, and the process is always
killed when the stream is closed, however early.
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

from .errors import CorruptVideoError, MediaError, MediaTimeoutError
from .probe import ffmpeg_reason

WORK_SHORT_SIDE = 256
STALL_TIMEOUT_S = 60.0
# Above this rate ffmpeg drops frames down to 24-30 a second (60 -> 30, 50 -> 25, 120 -> 30): plenty
# to find cuts, half the work for 50/60 fps footage, and the detector (tuned on 24-30 fps, its
# frame differences and minimum shot length counted in frames) sees every video at a similar rate.
MAX_ANALYSIS_FPS = 45
_F_SETPIPE_SZ = 1031  # Linux fcntl: enlarge the pipe so ffmpeg writes whole frames per syscall.
_PIPE_BYTES = 1 << 20
_Y4M_MAGIC = b"YUV4MPEG2 "
_Y4M_FRAME = b"FRAME\n"
_Y4M_MAX_HEADER = 256


@dataclass(frozen=True)
class StreamFormat:
    """Frame geometry and rate of the raw stream, as ffmpeg announced them."""

    width: int
    height: int
    fps: Fraction

    @property
    def frame_shape(self) -> tuple[int, int]:
        """OpenCV's I420 layout: the Y rows, then U, then V, all ``width`` wide."""
        return self.height * 3 // 2, self.width


def working_size(width: int, height: int, short_side: int = WORK_SHORT_SIDE) -> tuple[int, int]:
    """(w, h) with the short side at ``short_side`` (never upscaled), aspect kept: the size ffmpeg picks.

    Both are multiples of 4 so the half-size detection frame is itself a valid I420 image. The
    decoder computes this with :func:`_scale_filter`; this Python twin documents and tests it.
    """
    scale = min(1.0, short_side / min(width, height))
    return max(4, _round_half_up(width * scale / 4) * 4), max(4, _round_half_up(height * scale / 4) * 4)


def _round_half_up(x: float) -> int:
    return int(x + 0.5)  # ffmpeg's round() for positive numbers (Python's round() goes to even)


def _scale_filter(short_side: int = WORK_SHORT_SIDE) -> str:
    factor = f"min(1,{short_side}/min(iw,ih))"
    side = "max(4,round({dim}*" + factor + "/4)*4)"
    return (f"scale=w='{side.format(dim='iw')}':h='{side.format(dim='ih')}'"
            ":flags=area")


def _fps_filter(max_fps: int = MAX_ANALYSIS_FPS) -> str:
    # Above max_fps an integer divisor keeps frame times exact (60 -> 30, 100 -> 25); an unknown or
    # absurd source rate (0, NaN, 90000) falls back to 25.
    rate = f"if(gt(source_fps,{max_fps}),source_fps/ceil(source_fps/30),source_fps)"
    return f"fps=fps='if(gt(source_fps,0)*lte(source_fps,240),{rate},25)':start_time=0"


def ffmpeg_args(path: Path) -> list[str]:
    """The decode command line: nothing in it depends on the probe, so both can start together."""
    return [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error",
        "-skip_loop_filter", "noref",
        "-i", str(path),
        "-map", "0:v:0", "-an", "-sn", "-dn",
        "-vf", f"{_fps_filter()},{_scale_filter()}",
        "-pix_fmt", "yuv420p", "-f", "yuv4mpegpipe", "pipe:1",
    ]


def parse_y4m_header(line: bytes) -> StreamFormat:
    """Size and rate from a YUV4MPEG2 stream header (the ``W``, ``H`` and ``F`` fields)."""
    fields = {token[:1]: token[1:] for token in line.split()[1:] if token}
    try:
        width, height = int(fields[b"W"]), int(fields[b"H"])
        num, den = (int(x) for x in fields[b"F"].split(b":"))
        fps = Fraction(num, den)
    except (KeyError, ValueError, ZeroDivisionError) as exc:
        raise CorruptVideoError(f"ffmpeg sent an unreadable stream header ({line[:80]!r}).") from exc
    colour = fields.get(b"C", b"420jpeg")
    if not colour.startswith(b"420") or width % 2 or height % 2 or fps <= 0:
        raise CorruptVideoError(f"ffmpeg sent an unexpected stream format ({line[:80]!r}).")
    return StreamFormat(width, height, fps)


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
    """How decoding went, filled in by :class:`FrameStream` once the stream ends."""

    frames: int = 0
    returncode: int | None = None
    errors: list[str] = field(default_factory=list)  # ffmpeg's error lines (server path removed)

    @property
    def clean(self) -> bool:
        return self.returncode == 0 and not self.errors


class FrameStream:
    """ffmpeg decoding ``path`` to small I420 frames; a context manager that never leaks the process.

    ffmpeg starts on ``__enter__``, so the caller can do other work (probe the file) while it loads.
    :attr:`format` waits for ffmpeg's stream header; :meth:`frames` then yields every frame. Raises
    MediaTimeoutError when ffmpeg stalls and CorruptVideoError when not one frame decodes; otherwise
    :attr:`report` says whether ffmpeg complained, and the caller judges a short or noisy decode.
    """

    def __init__(self, path: Path, *, stall_timeout: float = STALL_TIMEOUT_S) -> None:
        self.path = Path(path)
        self.report = DecodeReport()
        self._stall_timeout = stall_timeout
        self._format: StreamFormat | None = None
        self._proc: subprocess.Popen | None = None

    def __enter__(self) -> FrameStream:
        try:
            self._proc = subprocess.Popen(ffmpeg_args(self.path), stdin=subprocess.DEVNULL,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
        except FileNotFoundError as exc:
            raise MediaError("ffmpeg is not installed on the server.") from exc
        try:
            fcntl.fcntl(self._proc.stdout.fileno(), _F_SETPIPE_SZ, _PIPE_BYTES)
        except OSError:
            pass  # a smaller pipe only costs a few more syscalls
        self._stderr = _StderrTail(self._proc.stderr)
        self._stderr.start()
        self._watchdog = _Watchdog(self._proc, self._stall_timeout)
        self._watchdog.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop ffmpeg (if still running) and release its pipes and threads."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        self._watchdog.stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        self._stderr.join(timeout=5)
        proc.stderr.close()

    @property
    def format(self) -> StreamFormat:
        """The frames' size and rate (waits until ffmpeg has decoded the first frame)."""
        if self._format is None:
            line = self._read_header_line()
            if line is None:  # ffmpeg ended before its first frame
                raise self._finish() or CorruptVideoError("No frame of the video could be decoded.")
            self._format = parse_y4m_header(line)
        return self._format

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame as a fresh (H * 3 / 2, W) uint8 I420 array (safe to keep a reference to)."""
        fmt = self.format
        size = fmt.frame_shape[0] * fmt.frame_shape[1]
        count = 0
        while True:
            buffer = np.empty(len(_Y4M_FRAME) + size, np.uint8)
            if not _read_exact(self._proc.stdout, memoryview(buffer).cast("B")):
                break
            if buffer[:len(_Y4M_FRAME)].tobytes() != _Y4M_FRAME:
                raise CorruptVideoError("ffmpeg sent a malformed frame (lost frame sync).")
            self._watchdog.last_progress = time.monotonic()
            count += 1
            yield buffer[len(_Y4M_FRAME):].reshape(fmt.frame_shape)
        self.report.frames = count
        error = self._finish()
        if error is not None:
            raise error

    def _read_header_line(self) -> bytes | None:
        """The stream header line, or None when ffmpeg ended without writing one."""
        line = bytearray()
        while not line.endswith(b"\n"):
            byte = self._proc.stdout.read(1)
            if not byte:
                return None
            line += byte
            if len(line) > _Y4M_MAX_HEADER or not _Y4M_MAGIC.startswith(bytes(line[:len(_Y4M_MAGIC)])):
                raise CorruptVideoError(f"ffmpeg sent an unexpected stream ({bytes(line[:40])!r}).")
        self._watchdog.last_progress = time.monotonic()
        return bytes(line)

    def _finish(self) -> MediaError | None:
        """The stream has ended: record ffmpeg's exit and errors; the error to raise, if any."""
        returncode = _wait(self._proc, self._stall_timeout)
        self._stderr.join(timeout=5)
        if self._watchdog.fired:
            return MediaTimeoutError(f"Decoding stalled for {self._stall_timeout:.0f} s and was stopped.")
        self.report.returncode = returncode
        self.report.errors = [ffmpeg_reason([line], self.path) for line in self._stderr.lines]
        if self.report.frames == 0:
            detail = self._stderr.reason(self.path) or f"ffmpeg exited with code {returncode}"
            return CorruptVideoError(f"No frame of the video could be decoded ({detail}).")
        return None


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
    """Fill ``view`` from the pipe; False when the stream ends first."""
    got, size = 0, len(view)
    while got < size:
        n = stream.readinto(view[got:])
        if not n:
            return False  # EOF; a partial trailing frame (ffmpeg died mid-write) is ignored too
        got += n
    return True

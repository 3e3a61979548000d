"""Turn rendered scenes into video files: slow object drift and an ffmpeg H.264 encode.

Shared by the generated videos (demo, moment evaluation) so they are encoded the same way.
"""
from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable
from pathlib import Path

from PIL import Image


def drift(t: float, phase: float) -> tuple[float, float]:
    """Slow smooth motion (fraction of the stage) so consecutive frames differ without looking like a cut."""
    return 0.03 * math.sin(2 * math.pi * t / 4.0 + phase), 0.015 * math.sin(2 * math.pi * t / 3.0 + 2 * phase)


def encode_frames(path: Path, frames: Iterable[Image.Image], *, fps: int, size: tuple[int, int]) -> None:
    """Pipe RGB frames of ``size`` = (width, height) into ffmpeg: H.264, yuv420p, faststart."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
           "-pix_fmt", "yuv420p", "-movflags", "+faststart", str(path)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for frame in frames:
            proc.stdin.write(frame.tobytes())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.wait() != 0:
        raise RuntimeError(f"ffmpeg failed ({proc.returncode}): {stderr.strip()}")

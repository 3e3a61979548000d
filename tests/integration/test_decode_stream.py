"""The decoding ffmpeg process: the size and rate it chooses by itself, its stream header, its lifetime.

Needs the ffmpeg binary (not the shared media): clips are generated with ffmpeg's test source.
"""
from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from analysis.decode import FrameStream, StreamFormat, parse_y4m_header, working_size
from analysis.errors import CorruptVideoError
from analysis.probe import probe_video

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg binary not in PATH")


def make_clip(path: Path, size: str, rate: str, *extra: str, seconds: float = 1.0) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i",
                    f"testsrc2=s={size}:r={rate}:d={seconds}", *extra, "-c:v", "libx264", "-preset",
                    "ultrafast", "-pix_fmt", "yuv420p", str(path)], check=True, timeout=60)
    return path


@pytest.mark.parametrize("width,height", [(1920, 1080), (1280, 720), (854, 480), (640, 360), (334, 188),
                                          (320, 240), (200, 100), (102, 52), (720, 1280)])
def test_ffmpeg_picks_the_documented_working_size(tmp_path, width, height):
    clip = make_clip(tmp_path / "clip.mp4", f"{width}x{height}", "10")
    with FrameStream(clip) as stream:
        fmt = stream.format
    assert (fmt.width, fmt.height) == working_size(width, height)
    assert fmt.width % 4 == 0 and fmt.height % 4 == 0
    assert min(fmt.width, fmt.height) <= max(256, min(width, height) + 2)  # never upscaled (but rounding)


def test_rotation_metadata_is_applied_before_scaling(tmp_path):
    """A phone's portrait video is stored landscape with a display rotation; both readers turn it."""
    clip = make_clip(tmp_path / "stored.mp4", "640x360", "10")
    portrait = tmp_path / "portrait.mp4"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", str(clip), "-c", "copy",
                    "-metadata:s:v:0", "rotate=90", str(portrait)], check=True, timeout=60)
    probe = probe_video(portrait)
    assert (probe.width, probe.height) == (360, 640)
    with FrameStream(portrait) as stream:
        assert (stream.format.width, stream.format.height) == working_size(probe.width, probe.height) == (256, 456)


@pytest.mark.parametrize("rate,expected", [("30000/1001", Fraction(30000, 1001)), ("25", Fraction(25)),
                                           ("40", Fraction(40)), ("50", Fraction(25)), ("60000/1001", Fraction(30000, 1001)),
                                           ("120", Fraction(30)), ("100", Fraction(25))])
def test_frame_rate_is_exact_and_capped(tmp_path, rate, expected):
    clip = make_clip(tmp_path / "clip.mp4", "64x48", rate, seconds=2.0)
    with FrameStream(clip) as stream:
        assert stream.format.fps == expected
        frames = sum(1 for _ in stream.frames())
    assert abs(frames - 2.0 * float(expected)) <= 1  # frame i is at i / fps: none lost, none invented
    assert stream.report.clean


def test_frames_are_independent_arrays_of_the_announced_shape(tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", "320x240", "10")
    with FrameStream(clip) as stream:
        frames = list(stream.frames())
    assert len(frames) == 10
    assert all(f.shape == stream.format.frame_shape for f in frames)
    assert frames[0] is not frames[1] and frames[0].base is not frames[1].base
    assert (frames[0] != frames[5]).any()  # the test source moves


def test_closing_early_stops_ffmpeg(tmp_path):
    clip = make_clip(tmp_path / "long.mp4", "320x240", "25", seconds=20.0)
    with FrameStream(clip) as stream:
        next(iter(stream.frames()))
        proc = stream._proc
    assert proc is not None and proc.poll() is not None


@pytest.mark.parametrize("line,shape", [
    (b"YUV4MPEG2 W456 H256 F30000:1001 Ip A1:1 C420jpeg XYSCSS=420JPEG\n", (456, 256, Fraction(30000, 1001))),
    (b"YUV4MPEG2 W64 H48 F25:1\n", (64, 48, Fraction(25))),
])
def test_y4m_header_is_read(line, shape):
    assert parse_y4m_header(line) == StreamFormat(*shape)


@pytest.mark.parametrize("line", [b"YUV4MPEG2 W456 F25:1\n", b"YUV4MPEG2 W456 H256 F25:0\n",
                                  b"YUV4MPEG2 W456 H256 F25:1 C444\n", b"YUV4MPEG2 W45 H256 F25:1\n"])
def test_unexpected_y4m_header_is_a_clear_error(line):
    with pytest.raises(CorruptVideoError):
        parse_y4m_header(line)


def test_a_gap_in_the_timestamps_keeps_times_on_the_files_clock(tmp_path):
    """Variable frame rate: a picture that starts 0.5 s late is found where a player shows it."""
    from analysis.video_analysis import analyze_video

    path = tmp_path / "gap.mkv"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=2",
                    "-f", "lavfi", "-i", "smptebars=s=320x240:r=25:d=2", "-filter_complex",
                    "[0][1]concat=n=2:v=1,setpts='if(gte(N,50),PTS+0.5/TB,PTS)'", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True, timeout=60)
    result = analyze_video(path, max_gap=3.0)
    assert abs(result.probe.duration - 4.5) < 0.1
    assert [round(shot.start, 1) for shot in result.shots] == [0.0, 2.5]

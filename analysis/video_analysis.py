"""Cut a video into shots and pick one keyframe per segment, decoding the file once.

Pipeline: one ffmpeg process streaming small I420 frames (:mod:`.decode`), with ffprobe run while
it starts -> per frame: PySceneDetect's ``ContentDetector`` (vectorised score) on a half-size BGR copy, a
fade-out and flash check on reported cuts, a quality score for ~12 frames a second, and a candidate
pool -> segments are closed (and their keyframe chosen) as soon as they are final, so memory holds a
few seconds of candidates, never the whole video.
"""
from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scenedetect.common import FrameTimecode

from .decode import DecodeReport, FrameStream, StreamFormat, i420_planes, i420_to_rgb
from .detectors import CutDetector
from .detectors.content import FastContentDetector
from .detectors.cut_filters import FlashRejector, IsolatedSpikeDetector, is_fade_out
from .errors import CorruptVideoError, NotAVideoError
from .fingerprints import FingerprintTrack
from .keyframe_choice import BucketPool, Candidate, FrameQuality, choose_keyframe, frame_quality
from .probe import ProbeResult, ProbeRun, check_file
from .shots import (
    DEFAULT_MIN_EDGE_SHOT,
    DEFAULT_MIN_SHOT,
    Segment,
    Shot,
    cuts_to_shots,
    settled_segment_count,
    shot_segment_edges,
)

DEFAULT_MAX_GAP = 3.0
MIN_SIDE = 16  # pixels; anything smaller has nothing to search for
CONTENT_THRESHOLD = 27.0  # PySceneDetect's default, the one the ground truth was made with
MIN_SCENE_FRAMES = 15
# A decode that stops before this share of the probed duration is a truncated/corrupt file.
MIN_DECODED_SHARE = 0.9
_PROGRESS_STEP = 0.01
# Frames scored as keyframe candidates per second: plenty to find a sharp one, half the work at 25+ fps.
CANDIDATES_PER_SECOND = 12.0
# Video-range luma (16..235) to 0..255, so grey thresholds mean the same as on RGB frames.
_LIMITED_TO_FULL = np.clip((np.arange(256) - 16) * 255 / 219, 0, 255).round().astype(np.uint8)


@dataclass
class PickedKeyframe:
    """The frame that stands for one segment in the index."""

    shot_index: int
    time: float
    segment_start: float
    segment_end: float
    image: Image.Image  # RGB, working resolution (short side 256 px, not upscaled)


@dataclass
class VideoAnalysis:
    """Everything ingestion needs from the pixels: shots, keyframes, and what decoding cost."""

    probe: ProbeResult
    shots: list[Shot]
    keyframes: list[PickedKeyframe]  # empty when they were handed to ``on_keyframe`` instead
    decode_seconds: float
    segments: list[Segment] = field(default_factory=list)  # including those without a keyframe
    fingerprints: FingerprintTrack = field(default_factory=FingerprintTrack)  # which moment is which


def analyze_video(path: Path, *, max_gap: float = DEFAULT_MAX_GAP,
                  on_progress: Callable[[int, int], None] | None = None,
                  on_probe: Callable[[ProbeResult], None] | None = None,
                  on_keyframe: Callable[[PickedKeyframe], None] | None = None,
                  on_frame: Callable[[int, float, np.ndarray], None] | None = None) -> VideoAnalysis:
    """Probe, decode once, detect shots and choose keyframes. Raises MediaError for bad files.

    ffprobe runs while ffmpeg starts (each costs ~0.09 s just to start); ``on_probe`` gets the
    file's facts as soon as they are known, before the decode is consumed. With ``on_keyframe``
    each keyframe is handed over as soon as it is final and not kept, so memory stays flat however
    long the video (a day of traffic camera is ~40k keyframes, 14 GB as RGB images).
    ``on_progress(done, total)`` counts frames: analysed so far over expected (:func:`expected_frames`),
    about every 1% of the video; the last call is ``(n, n)`` with the frames actually analysed.
    ``on_frame(index, time, luma)`` sees every decoded frame's working-size grey (Y) plane, a view valid
    during the call: the on-screen text's presence test rides this decode instead of its own.
    """
    if max_gap <= 0:
        raise ValueError("max_gap must be positive")
    path = Path(path)
    started = time.perf_counter()
    check_file(path)
    with FrameStream(path) as stream:
        probe = ProbeRun(path).result()
        if min(probe.width, probe.height) < MIN_SIDE:
            raise NotAVideoError(f"The video is too small to analyse ({probe.width}x{probe.height} pixels).")
        if on_probe is not None:
            on_probe(probe)
        builder = SegmentBuilder(max_gap=max_gap, duration=probe.duration, frame_time=1.0 / float(stream.format.fps),
                                 on_keyframe=on_keyframe)
        fingerprints = FingerprintTrack()
        _scan(stream, probe, builder, fingerprints, on_progress, on_frame)
    probe = _settle_duration(probe, stream.report, stream.format)
    builder.finish(probe.duration)
    if on_progress is not None:
        on_progress(stream.report.frames, stream.report.frames)
    return VideoAnalysis(
        probe=probe,
        shots=cuts_to_shots(builder.cuts, probe.duration, builder.min_shot, builder.min_edge_shot),
        keyframes=builder.keyframes,
        decode_seconds=time.perf_counter() - started,
        segments=builder.segments,
        fingerprints=fingerprints,
    )


def _scan(stream: FrameStream, probe: ProbeResult, builder: SegmentBuilder, fingerprints: FingerprintTrack,
          on_progress: Callable[[int, int], None] | None,
          on_frame: Callable[[int, float, np.ndarray], None] | None = None) -> None:
    """Feed every decoded frame to the detector and the builder (and a few a second to fingerprints)."""
    fmt = stream.format
    detector: CutDetector = FastContentDetector(threshold=CONTENT_THRESHOLD, min_scene_len=MIN_SCENE_FRAMES)
    spikes = IsolatedSpikeDetector()
    fps = fmt.fps
    reported_late = max(detector.event_buffer_length, spikes.radius)
    # A picture back within the inner minimum shot length was a flash, wherever it happens.
    flashes = FlashRejector(window=max(1, round(DEFAULT_MIN_SHOT * float(fps))), max_delay=reported_late)
    # Cuts can be reported this long after the frame they happen at (the detector's merge filter,
    # the spike detector's look-ahead, the flash check's wait for the picture to come back).
    lag = (max(reported_late, flashes.window) + 2) / float(fps)
    expected = expected_frames(probe, float(fps))
    stride = max(1, round(float(fps) / CANDIDATES_PER_SECOND))
    half_size = HalfSizeFrames(fmt)
    recent_grays: deque[np.ndarray] = deque(maxlen=detector.event_buffer_length + 4)
    step = max(1, round(expected * _PROGRESS_STEP))
    next_report = 0
    index = -1
    for index, frame in enumerate(stream.frames()):
        gray, small = half_size.convert(frame)
        recent_grays.append(gray)
        for cut in detector.process_frame(FrameTimecode(index, fps=fps), small):
            if not _is_fade_out_at(cut.frame_num, index, recent_grays):
                flashes.propose(cut.frame_num)
        for cut_frame in spikes.push(index, detector.last_score):
            flashes.propose(cut_frame)  # a cut the detector also saw is one cut
        for cut_frame in flashes.push(index, small):
            builder.add_cut(float(cut_frame / fps))
        now = float(index / fps)
        if on_frame is not None:
            on_frame(index, now, i420_planes(frame)[0])
        if index % stride == 0:
            builder.offer(now, frame, frame_quality(full_range(gray)))
            fingerprints.offer(now, gray)
        builder.advance(settled_until=now - lag)
        if on_progress is not None and index >= next_report:
            on_progress(index + 1, max(expected, index + 2))  # done == total only in the last call
            next_report = index + step
    if index >= 0:
        for cut in detector.post_process(FrameTimecode(index, fps=fps)):
            flashes.propose(cut.frame_num)
        for cut_frame in flashes.flush():
            builder.add_cut(float(cut_frame / fps))


def expected_frames(probe: ProbeResult, fps: float) -> int:
    """How many frames the decode should give: the file's own count when decoded at its own rate,
    else duration x the analysis rate (a 60 fps file is analysed at 30, see :mod:`.decode`)."""
    if probe.frame_count and abs(fps - probe.fps) < 0.01:
        return probe.frame_count
    return max(1, round(probe.duration * fps))


class HalfSizeFrames:
    """Half-size grey and BGR images of I420 frames, for scoring and detection.

    Why this shape: the half-size Y plane and the (already half-size) U/V planes subsampled once
    more form a small I420 image, so one colour conversion of a quarter of the pixels gives the
    detector its BGR frame. Nearest-pixel subsampling (every second row and column) is what
    ``cv2.resize(INTER_NEAREST)`` does for a factor of two, written into one reused buffer: no
    per-frame allocation on a path that runs for every frame of every video.
    """

    def __init__(self, fmt: StreamFormat) -> None:
        self._i420 = np.empty((fmt.height // 2 * 3 // 2, fmt.width // 2), np.uint8)
        self._y, self._u, self._v = i420_planes(self._i420)

    def convert(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(grey in video range 16..235, a fresh array; BGR) at half the working size."""
        luma, u, v = i420_planes(frame)
        np.copyto(self._y, luma[::2, ::2])
        np.copyto(self._u, u[::2, ::2])
        np.copyto(self._v, v[::2, ::2])
        return self._y.copy(), cv2.cvtColor(self._i420, cv2.COLOR_YUV2BGR_I420)


def full_range(gray: np.ndarray) -> np.ndarray:
    """Video-range grey (16..235) stretched to 0..255, so grey thresholds mean the same as on RGB.

    Applied only where needed (scored candidates, a cut's fade check), not to every frame.
    """
    return cv2.LUT(gray, _LIMITED_TO_FULL)


def _is_fade_out_at(cut_frame: int, index: int, recent_grays: deque[np.ndarray]) -> bool:
    """Whether the cut reported at ``cut_frame`` is a fade-out step (see :mod:`.detectors.cut_filters`)."""
    back = index - cut_frame
    if not 0 <= back < len(recent_grays) - 1:
        return False  # frames no longer at hand: trust the detector
    return is_fade_out(full_range(recent_grays[-2 - back]), full_range(recent_grays[-1 - back]))


def _settle_duration(probe: ProbeResult, report: DecodeReport, fmt: StreamFormat) -> ProbeResult:
    """The probe, with the video's real length when decoding ended early but cleanly.

    Far fewer frames than probed plus ffmpeg errors is a truncated or damaged file. Far fewer frames
    without any error is a container whose duration counts a longer audio track: the video is fine.
    """
    decoded = report.frames / float(fmt.fps)
    if decoded >= probe.duration * MIN_DECODED_SHARE - 1.0 / float(fmt.fps):
        return probe
    if not report.clean:
        raise CorruptVideoError(
            f"The video is truncated or damaged: only {decoded:.1f} s of its "
            f"{probe.duration:.1f} s could be decoded."
        )
    return replace(probe, duration=decoded, frame_count=report.frames)


class SegmentBuilder:
    """Turns a stream of frames and cuts into final segments and their keyframes.

    Follows the rules of :func:`cuts_to_shots` and :func:`shot_segment_edges` incrementally, so its
    output equals ``split_into_segments(cuts_to_shots(cuts, duration), max_gap)``. Each keyframe is
    chosen at most ``max_gap`` + one frame after the previous one of its shot (segments alone would
    let two keyframes be 1.5 gaps apart), unless no usable frame is in reach.
    """

    def __init__(self, *, max_gap: float, duration: float, min_shot: float = DEFAULT_MIN_SHOT,
                 min_edge_shot: float = DEFAULT_MIN_EDGE_SHOT, frame_time: float = 0.0,
                 on_keyframe: Callable[[PickedKeyframe], None] | None = None) -> None:
        self.max_gap = max_gap
        # Keyframes of a shot are at most max_gap + one frame apart: 2 s is no whole number of
        # frames at 29.97 fps, and 59-frame steps would drift a keyframe a frame a segment earlier.
        self.keyframe_gap = max_gap + frame_time
        self.duration = duration
        self.min_shot = min_shot
        self.min_edge_shot = min(min_edge_shot, min_shot)
        self.cuts: list[float] = []
        self.segments: list[Segment] = []
        self.keyframes: list[PickedKeyframe] = []
        self._on_keyframe = on_keyframe if on_keyframe is not None else self.keyframes.append
        self._shot_index = 0
        self._shot_start = 0.0
        self._cursor = 0.0  # start of the first segment of the open shot not emitted yet
        self._pending_cut: float | None = None
        self._last_keyframe: float | None = None  # time of the open shot's latest keyframe
        # Buckets shorter than the candidates' spacing: every candidate is kept, so the frame exactly
        # one gap after the previous keyframe is there to choose (about 12 frames a second of the
        # open window: 2 * max_gap + the detector's lag).
        self._pool = BucketPool(bucket=0.5 / CANDIDATES_PER_SECOND)

    @property
    def held_candidates(self) -> int:
        """Frames currently kept in memory (bounded by the open window, not the video length)."""
        return len(self._pool)

    def add_cut(self, cut: float) -> None:
        """A detected cut; dropped when it would make a shot shorter than ``min_shot`` (the first
        shot: ``min_edge_shot``)."""
        last_boundary = self._pending_cut if self._pending_cut is not None else self._shot_start
        first = self._pending_cut is None and self._shot_index == 0
        least = self.min_edge_shot if first else self.min_shot
        if cut - last_boundary < least or cut >= self.duration or cut <= self._cursor:
            return
        if self._pending_cut is not None:
            self._close_shot(self._pending_cut)
        self._pending_cut = cut
        self._pool.split_bucket()

    def offer(self, now: float, frame: np.ndarray, quality: FrameQuality) -> None:
        """A keyframe candidate (kept only while it is the best of its bucket)."""
        self._pool.offer(now, quality, frame)

    def advance(self, *, settled_until: float) -> None:
        """Close the segments (and shots) that became final by ``settled_until``."""
        if self._pending_cut is not None:
            if settled_until >= self._pending_cut + self.min_edge_shot:  # it cannot be the last sliver
                self._close_shot(self._pending_cut)
            return
        settled = settled_segment_count(self._shot_start, settled_until, self.max_gap)
        while self._cursor < self._shot_start + settled * self.max_gap - 1e-9:
            end = self._shot_start + (round((self._cursor - self._shot_start) / self.max_gap) + 1) * self.max_gap
            self._emit(self._cursor, end, shot_end=None)

    def finish(self, duration: float | None = None) -> None:
        """End of stream: settle the pending cut (or drop it, per ``cuts_to_shots``) and close all.

        ``duration`` overrides the announced one (a video track shorter than its container).
        """
        if duration is not None:
            self.duration = duration
        if self._pending_cut is not None and self._pending_cut >= self.duration:
            self._pending_cut = None
        if self._pending_cut is not None:
            if self.duration - self._pending_cut < self.min_edge_shot:
                self._pending_cut = None
            else:
                self._close_shot(self._pending_cut)
        self._close_shot(self.duration, last=True)

    def _close_shot(self, end: float, last: bool = False) -> None:
        edges = shot_segment_edges(self._shot_start, end, self.max_gap)
        rest = [e for e in edges if e >= self._cursor - 1e-9]
        if rest[0] > self._cursor + 1e-9:
            # Only if a cut came later than the detector's declared lag: keep the partition exact.
            rest = shot_segment_edges(self._cursor, end, self.max_gap)
        for a, b in zip(rest, rest[1:]):
            self._emit(a, b, shot_end=end, take_all=last and b == end)
        if not last:
            self.cuts.append(end)
            self._shot_index += 1
            self._shot_start = self._cursor = end
            self._pending_cut = None
            self._last_keyframe = None

    def _emit(self, start: float, end: float, *, shot_end: float | None, take_all: bool = False) -> None:
        segment = Segment(self._shot_index, start, end)
        self.segments.append(segment)
        self._cursor = end
        candidates = self._pool.take(start, None if take_all else end)
        latest = None if self._last_keyframe is None else self._last_keyframe + self.keyframe_gap
        if latest is not None and latest < start:
            latest = None  # a segment without keyframe (black) already broke the chain
        best = choose_keyframe(candidates, start, end, shot_start=self._shot_start, shot_end=shot_end,
                               latest=latest)
        if best is not None:
            self._last_keyframe = best.time
            self._on_keyframe(_to_keyframe(best, segment))


def _to_keyframe(candidate: Candidate, segment: Segment) -> PickedKeyframe:
    image = Image.fromarray(i420_to_rgb(candidate.frame))
    return PickedKeyframe(segment.shot_index, candidate.time, segment.start, segment.end, image)

"""On-screen text of a video: which frames to read (the presence test), reading them, and the text's time spans.

The plan: :class:`TextWatch` sees a few working-size frames a second (from the analysis decode, or from its own
low-resolution pass when a resumed job skips the analysis) and cuts the video into *runs* of unchanged text
(:mod:`.text_presence`). Each run is read once, on its frame where the text covers most (the end of a fade-in),
at full resolution (one ffmpeg seek) and only where the test saw text; a long run is read again every
:data:`REREAD_EVERY_S`. Frames without text are never read, so footage without text costs only the test.
The same line read in consecutive runs becomes one :class:`~.timed_text.TimedText` spanning them:
start = the first sample it was seen on, end = the last one + the sampling step.
"""
from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from .decode import FrameStream, i420_planes
from .errors import MediaError
from .ocr import OcrLine, check_languages, read_frame
from .text_presence import Presence, Region, changed, presence, text_regions
from .text_terms import words_of
from .timed_text import TimedText

#: Frames a second the presence test looks at: a subtitle shown for 1 s is seen twice (MIN_RUN_SAMPLES). At 4 a
#: second the test cost 0.7x the analysis of Big Buck Bunny's 30 s (both ~1 s), at 2 about half that.
SAMPLES_PER_SECOND = 2.0
#: A run of unchanged text shorter than this many samples is not read on its own (the steps of a fade, a
#: flash of texture); its time still counts for the runs beside it when they read the same line.
MIN_RUN_SAMPLES = 2
#: Runs that read as nothing are remembered (the last this many): a later run that looks the same (a fixed
#: camera's trees, a pattern the test takes for text) is not read again.
FORGET_AFTER = 8
#: The frame to read is searched for text lines again at this height (measured on the evaluation's frames:
#: word recall 0.73 against 0.65 with the working-size lines scaled up; 512 px: 0.68).
REFINE_HEIGHT = 360
#: The lines are searched for with these edge strengths (grey levels): the presence test's own, and a stronger
#: one that keeps only high-contrast edges (an outlined subtitle's white on black), so that letters touching a
#: shape's weaker outline no longer join it into a blob too big for a letter (measured: outlined text found
#: 32 -> 40 of 50 lines, word recall 0.70 -> 0.76 before the bright crops; 160 instead of 96 0.75).
REFINE_EDGE_THRESHOLDS = (32, 96)
#: Short runs are joined (:func:`coalesce_short_runs`) only when their text covers this share of the frame
#: (measured: lines of text 0.04-0.2; a motorway camera's cars and foliage 0.003-0.03, each for a sample).
JOIN_MIN_SHARE = 0.035
#: A run longer than this is read again (text that changed without the signature noticing).
REREAD_EVERY_S = 10.0


@dataclass
class Run:
    """A stretch of samples with the same text: ``start`` to ``end`` seconds, read at ``read_time``."""

    start: float
    end: float
    samples: int
    read_time: float
    regions: tuple[Region, ...]  # in pixels of the working-size frame
    best_share: float
    reference: Presence  # the run's latest sample
    of_short_runs: bool = False  # a run of one sample, or short runs joined (see :func:`coalesce_short_runs`)


class TextWatch:
    """Feeds the presence test with working-size grey frames; ``runs`` is the reading plan once ``finish``-ed."""

    def __init__(self, samples_per_second: float = SAMPLES_PER_SECOND) -> None:
        self.step = 1.0 / samples_per_second
        self.runs: list[Run] = []
        self.frame_width = 0
        self._open: Run | None = None
        self._next = 0.0
        self._sampled = 0
        self.frames_read = 0  # set by :func:`read_runs`

    def offer(self, index: int, time: float, luma: np.ndarray) -> None:
        """A decoded frame (every frame may be offered: only one each ``step`` seconds is tested)."""
        if time < self._next - 1e-6:
            return
        while self._next <= time + 1e-6:  # a fixed grid: frame rates that are no multiple of it do not drift
            self._next += self.step
        self.frame_width = luma.shape[1]
        self._sampled += 1
        seen = presence(luma)
        run = self._open
        if not seen.has_text:
            self._close()
            return
        if run is not None and not changed(run.reference, seen) and time - run.start < REREAD_EVERY_S:
            run.end, run.samples = time + self.step, run.samples + 1
            run.reference = seen  # against the previous sample: a drifting background never adds up to a change
            if seen.share > run.best_share:
                run.read_time, run.regions, run.best_share = time, seen.regions, seen.share
            return
        self._close()
        self._open = Run(time, time + self.step, 1, time, seen.regions, seen.share, seen)

    def _close(self) -> None:
        if self._open is not None:
            self.runs.append(self._open)
            self._open = None

    def finish(self) -> list[Run]:
        self._close()
        self.runs = coalesce_short_runs(self.runs, self.step)
        return self.runs

    @property
    def sampled(self) -> int:
        return self._sampled

    def to_read(self) -> list[Run]:
        """The runs worth a read (see :data:`MIN_RUN_SAMPLES`)."""
        return [run for run in self.runs if run.samples >= MIN_RUN_SAMPLES]


def coalesce_short_runs(runs: list[Run], step: float) -> list[Run]:
    """Runs too short to read that follow one another without a gap joined into one run, read at its sample
    with the most text. Why: text over a busy moving background (shapes crossing the letters) can change the
    signature at every sample; each sample then starts a run of one, and text on screen for seconds was never
    read (measured: a whole text period of the evaluation's "shapes" video, 18 lines, unread). Only runs whose
    text covers JOIN_MIN_SHARE of the frame: texture the test takes for text flickers at a tenth of that."""
    joined: list[Run] = []
    for run in runs:
        last = joined[-1] if joined else None
        short = run.samples < MIN_RUN_SAMPLES and run.best_share >= JOIN_MIN_SHARE
        if short and last is not None and last.of_short_runs and abs(run.start - last.end) < step / 2:
            best = run if run.best_share > last.best_share else last
            joined[-1] = Run(last.start, run.end, last.samples + run.samples, best.read_time, best.regions,
                             best.best_share, best.reference, of_short_runs=True)
        else:
            joined.append(replace(run, of_short_runs=short))
    return joined


def watch_video(path: Path) -> TextWatch:
    """The presence test over a whole video in its own working-size decode (a resumed job's plan)."""
    with FrameStream(path) as stream:
        watch, fps = TextWatch(), float(stream.format.fps)
        for index, frame in enumerate(stream.frames()):
            watch.offer(index, index / fps, i420_planes(frame)[0])
    watch.finish()
    return watch


def grab_frame(path: Path, time: float, timeout: float = 60.0) -> np.ndarray:
    """The full-resolution RGB frame at ``time`` seconds (one ffmpeg seek: decodes from the keyframe before)."""
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-ss", f"{max(0.0, time):.3f}",
           "-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "pipe:1"]
    done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    if done.returncode != 0 or not done.stdout:
        raise MediaError(f"could not decode the frame at {time:.2f} s for OCR")
    with Image.open(BytesIO(done.stdout)) as image:
        return np.asarray(image.convert("RGB"))


def read_runs(path: Path, watch: TextWatch, languages: str,
              on_progress: Callable[[int, int], None] | None = None) -> list[TimedText]:
    """Read the plan's runs at full resolution and merge the lines into timed spans."""
    check_languages(languages)
    runs = watch.to_read()
    readings: list[tuple[Run, list[OcrLine]]] = []
    nothing_there: list[Presence] = []  # what texture the test took for text looks like: not read again
    for number, run in enumerate(runs, start=1):
        if not any(not changed(seen, run.reference) for seen in nothing_there):
            frame = grab_frame(path, run.read_time)
            lines = read_frame(frame, languages, regions=regions_to_read(frame, run, watch.frame_width))
            readings.append((run, lines))
            if not lines:
                nothing_there = [run.reference, *nothing_there[:FORGET_AFTER - 1]]
        if on_progress is not None:
            on_progress(number, len(runs))
    watch.frames_read = len(readings)
    return merge_readings(readings, watch.runs)


#: Two readings are the same line when their words are the same, or their boxes overlap this much (IoU)...
#: OCR reads one line a little differently from frame to frame ("новая" once as "HOBaA").
SAME_PLACE_IOU = 0.5
#: ...and their letters are this alike (difflib's ratio, Latin look-alikes of Cyrillic letters folded: "HOBaA
#: улица" / "новая улица" 0.91; two lines sharing a word, "market pharmacy" / "pharmacy theatre", 0.52; the next
#: subtitle sharing its first word, "morning summer garden" / "morning street library", 0.60: 0.6 merged those).
SAME_TEXT_RATIO = 0.7
#: Latin letters Tesseract gives for Cyrillic ones that look the same (lower case: words_of folds case).
_LOOKALIKES = str.maketrans("aehkmoptcxyb3", "аенкмортсхувз")  # upper-case B is В


def regions_to_read(frame: np.ndarray, run: Run, working_width: int) -> list[Region]:
    """Where to read on the full-resolution frame: the lines found again on it at REFINE_HEIGHT (sharper than the
    working size: an outlined subtitle's outline and fill come apart), with each of REFINE_EDGE_THRESHOLDS, and
    the run's own lines, scaled up, that those miss (large text, taller than a line may be at the finer size)."""
    height, width = frame.shape[:2]
    if height > REFINE_HEIGHT:
        size = (round(width * REFINE_HEIGHT / height), REFINE_HEIGHT)
        grey = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), size, interpolation=cv2.INTER_AREA)
        found = []
        for threshold in REFINE_EDGE_THRESHOLDS:
            found += [r for r in (r.scaled(width / size[0]) for r in text_regions(grey, threshold))
                      if not any(_inside(r, f) for f in found)]
    else:
        found = []
    factor = width / working_width if working_width else 1.0
    return found + [r for r in (r.scaled(factor) for r in run.regions) if not any(_inside(r, f) for f in found)]


def _inside(region: Region, other: Region) -> bool:
    """Whether ``region``'s centre lies in ``other`` (the same line found at both sizes)."""
    cx, cy = region.x + region.w / 2, region.y + region.h / 2
    return other.x <= cx <= other.x + other.w and other.y <= cy <= other.y + other.h


def merge_readings(readings: list[tuple[Run, list[OcrLine]]], all_runs: list[Run] | None = None) -> list[TimedText]:
    """One span per line per stretch it stays on screen: a line read in consecutive runs (or runs joined only
    by short unread runs), at the same place or with the same words, is one span from the first run's start
    to the last one's end, with the text of its most confident reading."""
    order = {id(run): i for i, run in enumerate(all_runs or [r for r, _ in readings])}
    spans: list[TimedText] = []
    open_spans: list[tuple[TimedText, int]] = []  # (span so far, index of its last run)
    for run, lines in sorted(readings, key=lambda item: item[0].start):
        position = order.get(id(run), 0)
        now: list[TimedText] = []
        taken: set[int] = set()
        for line in lines:
            if not words_of(line.text) or any(words_of(s.text) == words_of(line.text) for s in now):
                continue
            match = next((i for i, (span, last) in enumerate(open_spans)
                          if i not in taken and _adjacent(span, last, run, position, all_runs)
                          and _same_line(span, line)), None)
            if match is None:
                now.append(line.at(run.start, run.end))
                continue
            taken.add(match)
            span = open_spans[match][0]
            best = span if (span.confidence or 0) >= line.confidence else line.at(span.start, run.end)
            now.append(TimedText(span.start, run.end, best.text, best.language, best.track, best.boxes,
                                 best.confidence))
        spans.extend(span for i, (span, _) in enumerate(open_spans) if i not in taken)
        open_spans = [(span, position) for span in now]
    spans.extend(span for span, _ in open_spans)
    spans.sort(key=lambda s: (s.start, s.text))
    return spans


def _same_line(span: TimedText, line: OcrLine) -> bool:
    """Same words; or, at the same place, nearly the same letters (a misread), not other words (the next
    subtitle in the same place)."""
    before, now = " ".join(words_of(span.text)), " ".join(words_of(line.text))
    if before == now:
        return True
    before, now = before.translate(_LOOKALIKES), now.translate(_LOOKALIKES)
    return (_iou(_bounds(span.boxes), _bounds(line.boxes)) >= SAME_PLACE_IOU
            and SequenceMatcher(None, before, now).ratio() >= SAME_TEXT_RATIO)


def _bounds(boxes) -> tuple[float, float, float, float] | None:
    if not boxes:
        return None
    return (min(b.x for b in boxes), min(b.y for b in boxes), max(b.x + b.w for b in boxes),
            max(b.y + b.h for b in boxes))


def _iou(a, b) -> float:
    if a is None or b is None:
        return 0.0
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def _adjacent(span: TimedText, last: int, run: Run, position: int, all_runs: list[Run] | None) -> bool:
    """Whether ``run`` follows the span's last run with only unread short runs (or nothing) between them."""
    if all_runs is None:
        return position == last + 1
    between = all_runs[last + 1:position]
    return all(r.samples < MIN_RUN_SAMPLES for r in between) and run.start - span.end <= 1.0

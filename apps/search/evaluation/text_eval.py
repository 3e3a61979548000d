"""``manage.py evaluate text``: how well and at what cost on-screen text is read, on generated burned-in text.

The videos (:mod:`.text_media`) go through the product's own readers: the analysis decode with the presence
test riding it (:func:`analysis.video_analysis.analyze_video` + :class:`analysis.screen_text.TextWatch`), then
:func:`analysis.screen_text.read_runs`, exactly what the ingest's "reading text" stage runs.

Word recall: of the words drawn (each line's words, per line), the share found in a span that overlaps the line's
time and its box. Precision: of the words read, the share that are such a drawn word. Both per language and per
size (the font's pixel size). Cost: the presence test's and the reads' seconds against the analysis' own.
"""
from __future__ import annotations

import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from analysis.screen_text import TextWatch, read_runs
from analysis.text_terms import words_of
from analysis.timed_text import TimedText
from analysis.video_analysis import analyze_video

from .text_media import HEIGHT, WIDTH, TextItem, TextVideo, encode, text_videos
from .text_search_eval import evaluate_text_search

LANGUAGES = "eng+rus"


class _TimedWatch(TextWatch):
    """The presence test, timing itself: its seconds are OCR cost, not analysis cost."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds = 0.0

    def offer(self, index, time_s, luma) -> None:
        started = time.perf_counter()
        super().offer(index, time_s, luma)
        self.seconds += time.perf_counter() - started


def read_video(path: Path, languages: str = LANGUAGES) -> tuple[list[TimedText], dict]:
    """The spans read off ``path`` and what it cost: analysis, presence test and reading seconds."""
    watch = _TimedWatch()
    started = time.perf_counter()
    analysis = analyze_video(path, on_frame=watch.offer)
    analysed = time.perf_counter() - started
    watch.finish()
    started = time.perf_counter()
    spans = read_runs(path, watch, languages)
    reading = time.perf_counter() - started
    cost = {
        "duration_s": round(analysis.probe.duration, 2),
        "analysis_s": round(analysed - watch.seconds, 3),
        "presence_s": round(watch.seconds, 3),
        "read_s": round(reading, 3),
        "frames_tested": watch.sampled,
        "runs_to_read": len(watch.to_read()),
        "frames_read": watch.frames_read,
    }
    cost["ocr_over_analysis"] = round((watch.seconds + reading) / max(cost["analysis_s"], 1e-9), 3)
    return spans, cost


def _overlaps(item: TextItem, span: TimedText) -> bool:
    if span.end <= item.start or span.start >= item.end:
        return False
    x, y, w, h = item.box
    return any(b.x * WIDTH < x + w and x < (b.x + b.w) * WIDTH and b.y * HEIGHT < y + h and y < (b.y + b.h) * HEIGHT
               for b in span.boxes)


def score_words(videos: Sequence[tuple[TextVideo, list[TimedText]]]) -> dict:
    """Word recall and precision, overall, per language and per size (recall) / per language (precision)."""
    found, drawn = defaultdict(int), defaultdict(int)
    correct, read = defaultdict(int), defaultdict(int)
    for video, spans in videos:
        for item in video.items:
            near = [s for s in spans if _overlaps(item, s)]
            have = {word for s in near for word in words_of(s.text)}
            for word in words_of(item.text):
                for key in ("all", item.language, f"{item.size}px", f"{item.language} {item.size}px"):
                    drawn[key] += 1
                    found[key] += word in have
        for span in spans:
            truth = {word for item in video.items if _overlaps(item, span) for word in words_of(item.text)}
            for word in words_of(span.text):
                for key in ("all", span.language or "none"):
                    read[key] += 1
                    correct[key] += word in truth
    ratio = lambda a, b: round(a / b, 4) if b else None  # noqa: E731
    return {
        "recall": {key: ratio(found[key], drawn[key]) for key in sorted(drawn)},
        "words_drawn": drawn["all"],
        "precision": {key: ratio(correct[key], read[key]) for key in sorted(read)},
        "words_read": read["all"],
    }


def evaluate_text(workdir: Path | None = None, extra_videos: Sequence[Path] = (), duration: float = 8.0,
                  *, search: bool = True) -> dict:
    """The whole report; ``extra_videos`` (real footage) are measured for cost only; ``search`` adds the quoted
    queries' R1@0.5 and fusion's change to the moment metrics (an ingest of every video: text_search_eval.py)."""
    folder = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="vs-eval-text-"))
    videos = text_videos(duration=duration)
    readings, costs, encoded = [], {}, []
    for video in videos:
        encoded.append((video, encode(video, folder / video.name)))
        spans, cost = read_video(encoded[-1][1])
        readings.append((video, spans))
        costs[video.name] = cost
    for path in extra_videos:
        costs[Path(path).name] = read_video(Path(path))[1]
    heavy = [c for v, c in zip(videos, costs.values()) if v.items]
    plain = [c for v, c in zip(videos, costs.values()) if not v.items]
    return {
        "languages": LANGUAGES,
        "videos": len(videos),
        "ocr": score_words([(v, s) for v, s in readings if v.items]),
        "cost": {
            "text_heavy": _total(heavy),
            "no_text": _total(plain),
            "per_video": costs,
        },
        "search": evaluate_text_search(encoded, folder) if search else None,
    }


def _total(costs: list[dict]) -> dict:
    analysis = sum(c["analysis_s"] for c in costs)
    ocr = sum(c["presence_s"] + c["read_s"] for c in costs)
    hours = sum(c["duration_s"] for c in costs) / 3600
    return {
        "videos": len(costs),
        "analysis_s": round(analysis, 2),
        "ocr_s": round(ocr, 2),
        "ocr_over_analysis": round(ocr / analysis, 3) if analysis else None,
        "ocr_s_per_video_hour": round(ocr / hours, 1) if hours else None,
        "analysis_s_per_video_hour": round(analysis / hours, 1) if hours else None,
    }

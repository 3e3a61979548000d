"""Words a video says or shows over a stretch of time, as the readers (subtitles, OCR) hand them to storage.

Django-free so the readers stay plain functions of a file; apps/media/services/text_spans.py stores them.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class WordBox:
    """One word read off a frame: where it is, as fractions of the frame (0..1), and the OCR's confidence."""

    text: str
    x: float
    y: float
    w: float
    h: float
    confidence: float  # 0..100, Tesseract's scale

    def as_json(self) -> dict:
        return {"text": self.text, "x": round(self.x, 4), "y": round(self.y, 4), "w": round(self.w, 4),
                "h": round(self.h, 4), "conf": round(self.confidence, 1)}


@dataclass(frozen=True)
class TimedText:
    """One subtitle cue, or one line of on-screen text, shown from ``start`` to ``end`` seconds.

    ``language`` is an ISO 639-2 code where known ("eng", "rus"), else blank; ``track`` names where it came from
    ("stream 2 (ass)", "movie.ru.srt", "ocr"); ``boxes`` only for on-screen text.
    """

    start: float
    end: float
    text: str
    language: str = ""
    track: str = ""
    boxes: tuple[WordBox, ...] = field(default=())
    confidence: float | None = None

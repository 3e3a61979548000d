"""The search half of ``manage.py evaluate text``: quoted queries' R1@0.5 and what fusing the words changes.

The generated videos (:mod:`.text_media`: burned-in English and Russian lines at known times) and one video with
English and Russian subtitle streams go through the product's own ingest (``register_path`` + the job, OCR and
subtitle stages included) into a throwaway collection of the bundled model; then every drawn line and every cue is
asked as a quoted phrase (words only) and as a plain query (fused, and CLIP alone), scored against its own times
(:func:`.text_queries.evaluate_text_queries`).
"""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from analysis.timed_text import TimedText

from .moments import ingest_video, throwaway_collection
from .text_media import TextVideo
from .text_queries import evaluate_text_queries

#: Subtitle cues of the evaluation's subtitle video: (start, end, text) per language, times to the millisecond.
CUES: dict[str, list[tuple[float, float, str]]] = {
    "eng": [(0.5, 1.75, "the northern bridge is closed"), (2.125, 3.5, "take the ferry to the harbour"),
            (4.25, 5.875, "the bakery opens at seven"), (6.2, 7.6, "meet me at the library")],
    "rus": [(0.6, 1.9, "северный мост закрыт"), (2.2, 3.45, "паром идёт до гавани"),
            (4.3, 5.7, "пекарня открывается в семь"), (6.25, 7.5, "встретимся у библиотеки")],
}


def _srt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def subtitle_video(source: Path, folder: Path) -> tuple[Path, list[TimedText]]:
    """``source`` (a video without text) with an English and a Russian SRT stream muxed in, as MKV; and its cues."""
    inputs, cues = [], []
    for language, lines in CUES.items():
        srt = folder / f"cues.{language}.srt"
        srt.write_text("".join(f"{n}\n{_srt_time(s)} --> {_srt_time(e)}\n{text}\n\n"
                               for n, (s, e, text) in enumerate(lines, 1)), encoding="utf-8")
        inputs.append(srt)
        cues.extend(TimedText(s, e, text, language) for s, e, text in lines)
    out = folder / "subtitled.mkv"
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-i", str(source)]
    for srt in inputs:
        cmd += ["-i", str(srt)]
    cmd += ["-map", "0:v"] + [arg for n in range(len(inputs)) for arg in ("-map", f"{n + 1}:0")]
    cmd += ["-c:v", "copy", "-c:s", "srt"]
    for n, language in enumerate(CUES):
        cmd += [f"-metadata:s:s:{n}", f"language={language}"]
    subprocess.run([*cmd, str(out)], check=True)
    return out, cues


def evaluate_text_search(videos: Sequence[tuple[TextVideo, Path]], folder: Path, *, model: str = "testmodel",
                         top_k: int = 10) -> dict:
    """Quoted R1@0.5 and the fused-vs-CLIP moment metrics, for the burned-in lines and for the subtitle cues."""
    plain = next(path for video, path in videos if not video.items)
    subtitled, cues = subtitle_video(plain, folder)
    with throwaway_collection(model) as collection:
        burned = []
        for video, path in videos:
            if video.items:
                pk = ingest_video(collection, path).pk
                burned.extend((item.text, pk, item.start, item.end) for item in video.items)
        pk = ingest_video(collection, subtitled).pk
        spoken = [(cue.text, pk, cue.start, cue.end) for cue in cues]
        return {
            "model": model,
            "burned_in": evaluate_text_queries(collection, burned, top_k=top_k),
            "subtitles": evaluate_text_queries(collection, spoken, top_k=top_k),
        }

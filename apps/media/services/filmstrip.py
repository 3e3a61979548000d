"""A video's shots with their keyframes, for the video page, bounded for day-long recordings.

A long recording has thousands of shots and tens of thousands of keyframes; a page cannot show
them all, so the filmstrip takes the first ``max_shots`` shots and spreads at most
``max_frames`` keyframes over each, and says when it left some out.

Each frame knows its image's size (every keyframe of a video is saved at the analysis' working size,
analysis/decode.py), so the page reserves its box before it loads; all but the first few load lazily.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from analysis.decode import working_size

from ..models import Keyframe, Scene, Video

MAX_SHOTS = 300
MAX_FRAMES_PER_SHOT = 8
#: Frames loaded with the page; the rest wait until they come near the screen (loading="lazy").
EAGER_FRAMES = 6


@dataclass(frozen=True)
class FilmstripFrame:
    pk: int
    time: float
    thumbnail: str  # relative to MEDIA_ROOT
    lazy: bool


@dataclass(frozen=True)
class FilmstripShot:
    index: int
    start: float
    end: float
    keyframes: list[FilmstripFrame]  # in time order, at most MAX_FRAMES_PER_SHOT, spread over the shot


@dataclass(frozen=True)
class Filmstrip:
    shots: list[FilmstripShot]
    total_shots: int
    thumb_size: tuple[int, int] | None = None  # (width, height) of every keyframe image; None before the probe

    @property
    def truncated(self) -> bool:
        return self.total_shots > len(self.shots)


def spread(items: list, limit: int) -> list:
    """At most ``limit`` of ``items``, evenly spaced, first and last included."""
    if len(items) <= limit:
        return items
    if limit == 1:
        return items[:1]
    step = (len(items) - 1) / (limit - 1)
    return [items[round(i * step)] for i in range(limit)]


def filmstrip(video: Video, max_shots: int = MAX_SHOTS, max_frames: int = MAX_FRAMES_PER_SHOT) -> Filmstrip:
    """The video's first ``max_shots`` shots in order, each with its keyframes spread over it."""
    scenes = (Scene.objects.filter(video=video).order_by("index")
              .prefetch_related(Prefetch("keyframes", queryset=Keyframe.objects.order_by("time")))[:max_shots])
    shots, shown = [], 0
    for scene in scenes:
        frames = []
        for kf in spread(list(scene.keyframes.all()), max_frames):
            frames.append(FilmstripFrame(kf.pk, kf.time, kf.thumbnail.name, lazy=shown >= EAGER_FRAMES))
            shown += 1
        shots.append(FilmstripShot(scene.index, scene.start, scene.end, frames))
    size = working_size(video.width, video.height) if video.width and video.height else None
    return Filmstrip(shots, Scene.objects.filter(video=video).count(), size)

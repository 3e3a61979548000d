"""A video's shots with their keyframes, for the video page, bounded for day-long recordings.

A long recording has thousands of shots and tens of thousands of keyframes; a page cannot show
them all, so the filmstrip takes the first ``max_shots`` shots and spreads at most
``max_frames`` keyframes over each, and says when it left some out.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch

from ..models import Keyframe, Scene, Video

MAX_SHOTS = 300
MAX_FRAMES_PER_SHOT = 8


@dataclass(frozen=True)
class FilmstripShot:
    index: int
    start: float
    end: float
    keyframes: list[Keyframe]  # in time order, at most MAX_FRAMES_PER_SHOT, spread over the shot


@dataclass(frozen=True)
class Filmstrip:
    shots: list[FilmstripShot]
    total_shots: int

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
    shots = [FilmstripShot(s.index, s.start, s.end, spread(list(s.keyframes.all()), max_frames)) for s in scenes]
    return Filmstrip(shots, Scene.objects.filter(video=video).count())

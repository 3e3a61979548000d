"""A generated video for moment-retrieval evaluation: query scenes that recur, distractors between.

Unlike the demo video (every scene once), each *query* scene here comes back in two or three
separate shots with other shots in between, the way a person, place or object recurs in real
footage. A query must then find every occurrence, each as its own moment: the setting of
Charades-STA / QVHighlights-style metrics (R1@tIoU, mAP@tIoU, recall of all occurrences).
*Distractor* shots are distinct scenes nobody asks for; some share a background or an object
kind with a query scene, so a near-miss is possible. Every occurrence is drawn with its own
jitter and drift phase (not a copy of the first), cuts are hard, neighbouring shots differ in
background, and everything is a pure function of ``MOMENTS_SEED``.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from apps.search.testmodel.footage import drift, encode_frames
from apps.search.testmodel.scenes import ObjectGroup, SceneSpec, caption_en, caption_ru, render

MOMENTS_SEED = 2031

#: The scenes that are queried; each recurs in several shots.
QUERY_SCENES: dict[str, SceneSpec] = {
    "trees": SceneSpec("grass", (ObjectGroup("tree", "yellow", 2, "left"),)),
    "star": SceneSpec("plain", (ObjectGroup("star", "red", 1, "centre"),), "white"),
    "boats": SceneSpec("water", (ObjectGroup("boat", "orange", 3, "bottom"),)),
    "house": SceneSpec("night", (ObjectGroup("house", "white", 1, "right"),)),
}

#: Scenes that are never queried (some share a background or an object with a query scene).
DISTRACTOR_SCENES: dict[str, SceneSpec] = {
    "cars": SceneSpec("road", (ObjectGroup("car", "green", 2, "top"),)),
    "circle": SceneSpec("plain", (ObjectGroup("circle", "purple", 1, "centre"),), "yellow"),
    "triangles": SceneSpec("sky", (ObjectGroup("triangle", "white", 3, "top"),)),
    "heart": SceneSpec("grass", (ObjectGroup("heart", "red", 1, "right"),)),
    "squares": SceneSpec("plain", (ObjectGroup("square", "orange", 2, "bottom"),), "black"),
    "boat": SceneSpec("water", (ObjectGroup("boat", "white", 1, "top"),)),
}

#: (scene name, duration in seconds), in playing order: 16 shots, 10 query occurrences, 56.4 s.
MOMENTS_SHOTS: tuple[tuple[str, float], ...] = (
    ("trees", 4.0), ("cars", 3.2), ("star", 3.6), ("boats", 4.4), ("circle", 3.0), ("trees", 3.4),
    ("house", 4.2), ("triangles", 3.0), ("star", 3.8), ("heart", 3.2), ("boats", 3.6), ("house", 3.0),
    ("squares", 3.4), ("trees", 3.8), ("boat", 3.0), ("star", 3.8),
)


@dataclass(frozen=True)
class MomentShot:
    """One shot: [start, end) in seconds, the scene name and whether that scene is queried."""

    start: float
    end: float
    name: str
    spec: SceneSpec
    queried: bool


@dataclass(frozen=True)
class MomentQuery:
    """A query scene with its captions and every [start, end) where it is on screen."""

    name: str
    caption_en: str
    caption_ru: str
    occurrences: tuple[tuple[float, float], ...]


def moment_shots() -> list[MomentShot]:
    """Shot timing of the evaluation video (no rendering)."""
    shots, start = [], 0.0
    for name, duration in MOMENTS_SHOTS:
        queried = name in QUERY_SCENES
        spec = QUERY_SCENES[name] if queried else DISTRACTOR_SCENES[name]
        end = round(start + duration, 6)
        shots.append(MomentShot(start, end, name, spec, queried))
        start = end
    return shots


def moment_queries() -> list[MomentQuery]:
    """The ground truth: per query scene, all of its occurrences in time order."""
    shots = moment_shots()
    return [
        MomentQuery(name, caption_en(spec), caption_ru(spec),
                    tuple((s.start, s.end) for s in shots if s.name == name))
        for name, spec in QUERY_SCENES.items()
    ]


def make_moments_video(path: Path, *, fps: int = 25, size: tuple[int, int] = (640, 360)) -> list[MomentShot]:
    """Write the evaluation video (H.264, yuv420p) to ``path`` and return its shots."""
    shots = moment_shots()

    def frames() -> Iterator[Image.Image]:
        for k, shot in enumerate(shots):
            for f in range(round((shot.end - shot.start) * fps)):
                # One rng per shot: a recurring scene gets a new layout each time, fixed within the shot.
                rng = np.random.default_rng([MOMENTS_SEED, k])
                yield render(shot.spec, size, rng, shift=drift(f / fps, phase=k))

    encode_frames(path, frames(), fps=fps, size=size)
    return shots

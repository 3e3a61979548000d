"""A generated demo video (and photos) whose content and timing are known exactly.

The offline demo and the integration tests search it: each segment is one scene with hard cuts in
between, so shot detection should recover the segments and a segment's caption should find it.
Objects drift a little inside a segment so that frames differ, as in real footage.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from apps.search.testmodel.footage import drift, encode_frames
from apps.search.testmodel.scenes import ObjectGroup, SceneSpec, caption_en, caption_ru, distinct_specs, render


@dataclass(frozen=True)
class DemoSegment:
    """One shot of the demo video: [start, end) in seconds and what it shows."""

    start: float
    end: float
    spec: SceneSpec
    caption_en: str
    caption_ru: str


#: (scene, duration in seconds). Backgrounds, colours and objects all differ from one shot to the next.
DEMO_SCENES: tuple[tuple[SceneSpec, float], ...] = (
    (SceneSpec("road", (ObjectGroup("car", "red", 1, "centre"),)), 6.0),
    (SceneSpec("plain", (ObjectGroup("square", "blue", 2, "left"),), "white"), 5.0),
    (SceneSpec("plain", (ObjectGroup("circle", "yellow", 1, "centre"),), "green"), 6.0),
    (SceneSpec("water", (ObjectGroup("boat", "white", 1, "centre"),)), 7.0),
    (SceneSpec("night", (ObjectGroup("star", "white", 3, "top"),)), 5.0),
    (SceneSpec("plain", (ObjectGroup("heart", "purple", 2, "bottom"),), "yellow"), 6.0),
)

#: Curated photos first (distinct from the video), then random distinct scenes if more are asked for.
DEMO_PHOTO_SCENES: tuple[SceneSpec, ...] = (
    SceneSpec("grass", (ObjectGroup("house", "red", 1, "centre"),)),
    SceneSpec("sky", (ObjectGroup("triangle", "orange", 3, "top"),)),
    SceneSpec("plain", (ObjectGroup("car", "blue", 2, "bottom"),), "yellow"),
    SceneSpec("grass", (ObjectGroup("tree", "yellow", 2, "right"),)),
    SceneSpec("plain", (ObjectGroup("star", "red", 1, "centre"),), "black"),
    SceneSpec("water", (ObjectGroup("boat", "orange", 2, "centre"),)),
    SceneSpec("night", (ObjectGroup("circle", "yellow", 1, "left"),)),
    SceneSpec("plain", (ObjectGroup("square", "green", 3, "right"),), "white"),
)


def demo_segments() -> list[DemoSegment]:
    """Segment timing and captions of the demo video (no rendering)."""
    segments, start = [], 0.0
    for spec, duration in DEMO_SCENES:
        segments.append(DemoSegment(start, start + duration, spec, caption_en(spec), caption_ru(spec)))
        start += duration
    return segments


def make_demo_video(path: Path, *, fps: int = 25, size: tuple[int, int] = (640, 360)) -> list[DemoSegment]:
    """Write the demo video (H.264, yuv420p) to ``path`` and return its segments."""
    segments = demo_segments()

    def frames() -> Iterator[Image.Image]:
        for k, seg in enumerate(segments):
            for f in range(round((seg.end - seg.start) * fps)):
                # Same rng per frame: fixed background and layout; only the drift moves objects.
                rng = np.random.default_rng([2024, k])
                yield render(seg.spec, size, rng, shift=drift(f / fps, phase=k))

    encode_frames(path, frames(), fps=fps, size=size)
    return segments


def demo_photo_specs(n: int) -> list[SceneSpec]:
    """``n`` photo scenes with distinct captions: the curated ones, then deterministic random ones."""
    specs = list(DEMO_PHOTO_SCENES[:n])
    taken = {caption_en(s) for s in specs} | {caption_en(s) for s, _ in DEMO_SCENES}
    for spec in distinct_specs(np.random.default_rng([2024, 99]), 4 * n + 50):
        if len(specs) >= n:
            break
        if caption_en(spec) not in taken:
            taken.add(caption_en(spec))
            specs.append(spec)
    return specs


def make_demo_photos(directory: Path, n: int = 8) -> list[tuple[Path, str, str]]:
    """Write ``n`` JPEG photos of distinct scenes; return (path, caption_en, caption_ru) for each."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for i, spec in enumerate(demo_photo_specs(n)):
        size = (640, 480) if i % 2 == 0 else (480, 480)
        path = directory / f"demo_photo_{i:02d}.jpg"
        render(spec, size, np.random.default_rng([2024, 1000 + i])).save(path, format="JPEG", quality=90)
        out.append((path, caption_en(spec), caption_ru(spec)))
    return out

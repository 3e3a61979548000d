"""Which moment of which video an example image is a near-copy of (a screenshot, a frame grab).

Pure NumPy over the fingerprints saved at ingestion (:mod:`apps.media.services.fingerprints`).
A match is only reported when it stands out: similar enough to be a copy, and clearly closer
than anything outside its own second of video. A static scene (every moment alike) or an image
that merely resembles the footage gives no match, and the semantic ranking stands as it is.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: Cosine similarity of fingerprints from which an image counts as a copy of a frame.
MIN_SIMILARITY = 0.9
#: The best frame's distance (1 - similarity) must be this many times smaller than the distance
#: of the best frame elsewhere (another video, or more than NEIGHBOURHOOD_S away in the same one).
DECISIVE_RATIO = 3.0
NEIGHBOURHOOD_S = 1.0
#: Distances below this are noise (fingerprints are stored as float16): two frames that close are equal.
NOISE_DISTANCE = 5e-4


@dataclass(frozen=True)
class FrameMatch:
    video_id: int
    time: float
    similarity: float


def best_frame_match(query: np.ndarray, tracks: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> FrameMatch | None:
    """The moment ``query`` (a fingerprint) copies, if one stands out; ``tracks``: video id -> (times, prints)."""
    if not np.any(query):
        return None  # a flat image identifies nothing
    scored = [(video_id, times, prints @ query) for video_id, (times, prints) in tracks.items() if len(times)]
    if not scored:
        return None
    best_video, best_times, best_sims = max(scored, key=lambda item: float(item[2].max()))
    at = int(np.argmax(best_sims))
    best_sim, best_time = float(best_sims[at]), float(best_times[at])
    if best_sim < MIN_SIMILARITY:
        return None
    elsewhere = [float(np.max(sims, initial=-1.0)) for video_id, _, sims in scored if video_id != best_video]
    far = np.abs(best_times - best_time) > NEIGHBOURHOOD_S
    elsewhere.append(float(np.max(best_sims[far], initial=-1.0)))
    runner_up = max(elsewhere)
    if max(1.0 - runner_up, NOISE_DISTANCE) < DECISIVE_RATIO * max(1.0 - best_sim, NOISE_DISTANCE):
        return None
    return FrameMatch(int(best_video), best_time, min(best_sim, 1.0))

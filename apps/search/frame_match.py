"""Which moment of which video an example image is a near-copy of (a screenshot, a frame grab).

Pure NumPy over the fingerprints saved at ingestion (:mod:`analysis.fingerprints`).
A match is only reported when it stands out: similar enough to be a copy, and clearly closer
than anything outside its own second of video. When the image is as close to a whole unbroken
stretch of one video (a still shot: every moment alike), that stretch is the match: the image
copies it, just not one second of it. An image that merely resembles the footage, or that recurs
in separate places, gives no match, and the semantic ranking stands as it is.

A picture cropped from a frame, or framed by letterbox or pillarbox bars, is placed by
:mod:`.crop_match` (bars cut off by :mod:`.bars`) when the whole-frame comparison finds nothing
decisive; the same decisive-ratio rules then judge it, each frame at its own best crop.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis.fingerprints import fingerprint

from .bars import strip_bars
from .crop_match import crop_similarities

#: Cosine similarity of fingerprints from which an image counts as a copy of a frame.
MIN_SIMILARITY = 0.9
#: The best frame's distance (1 - similarity) must be this many times smaller than the distance
#: of the best frame elsewhere (another video, or more than NEIGHBOURHOOD_S away in the same one).
DECISIVE_RATIO = 3.0
NEIGHBOURHOOD_S = 1.0
#: Distances below this are noise (fingerprints are stored as float16): two frames that close are equal.
NOISE_DISTANCE = 5e-4
#: Frames as close as the best one still form one stretch across gaps up to this long (seconds).
STRETCH_GAP_S = 1.0
#: A still stretch longer than this is no answer: on a fixed camera (a motorway, a car park) every
#: second looks alike at fingerprint size, and one clip over the whole recording would hide the
#: moments the semantic ranking tells apart. The picture is then looked for as a crop, else unplaced.
STILL_STRETCH_MAX_S = 10.0


@dataclass(frozen=True)
class FrameMatch:
    """What an image copies: one moment, or a still stretch, of one video.

    ``[start, end]`` spans the fingerprints as close as the best one; the copied picture may also be
    up to ``margin`` (half the sampling step) beyond them, between two fingerprints.
    """

    video_id: int
    time: float  # the closest fingerprint's moment
    similarity: float
    start: float
    end: float
    one_moment: bool  # False for a still stretch: the image cannot say which second it is
    margin: float = 0.0


def best_copy_match(gray: np.ndarray, tracks: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> FrameMatch | None:
    """What the picture ``gray`` (a grey uint8 image) copies, whole or cropped, if it stands out.

    The whole-frame comparison goes first; unless it found one moment, or found the picture as
    close to separate places (then it stays ambiguous), the picture is looked for as a crop (bars
    cut off). The crop search only ever adds one moment: with a free rectangle, a plain picture
    (a few shapes on a flat ground) can be brought as close to a still shot of other shapes, so a
    still stretch found that way proves nothing.
    """
    whole = _judge(_whole_frame_scores(fingerprint(gray), tracks))
    if whole is _AMBIGUOUS or isinstance(whole, FrameMatch) and whole.one_moment:
        return whole if isinstance(whole, FrameMatch) else None
    sims = crop_similarities(strip_bars(gray), tracks, NEIGHBOURHOOD_S)
    cropped = _judge([(video, tracks[video][0], s) for video, s in sims.items()])
    if isinstance(cropped, FrameMatch) and cropped.one_moment:
        return cropped
    return whole if isinstance(whole, FrameMatch) else None


def best_frame_match(query: np.ndarray, tracks: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> FrameMatch | None:
    """What ``query`` (a fingerprint) copies, if it stands out; ``tracks``: video id -> (times, prints)."""
    found = _judge(_whole_frame_scores(query, tracks))
    return found if isinstance(found, FrameMatch) else None


#: Verdicts of :func:`_judge` that are not a match: nothing close enough; close to separate places;
#: close to a stretch too long to be one answer (see STILL_STRETCH_MAX_S).
_NOTHING, _AMBIGUOUS, _TOO_LONG = "nothing", "ambiguous", "too long"


def _whole_frame_scores(query: np.ndarray, tracks: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> list:
    if not np.any(query):
        return []  # a flat image identifies nothing
    return [(video_id, times, prints @ query) for video_id, (times, prints) in tracks.items() if len(times)]


def _judge(scored: list[tuple[int, np.ndarray, np.ndarray]]) -> FrameMatch | str:
    """The match that stands out among ``scored`` (video id, times, similarity of each frame), or why none."""
    scored = [item for item in scored if len(item[1])]
    if not scored:
        return _NOTHING
    best_video, best_times, best_sims = max(scored, key=lambda item: float(item[2].max()))
    at = int(np.argmax(best_sims))
    best_sim, best_time = float(best_sims[at]), float(best_times[at])
    if best_sim < MIN_SIMILARITY:
        return _NOTHING
    # Anything closer than this is as good a candidate as the best frame (a rival).
    bar = DECISIVE_RATIO * max(1.0 - best_sim, NOISE_DISTANCE)
    if any(max(1.0 - float(sims.max()), NOISE_DISTANCE) < bar for video_id, _, sims in scored if video_id != best_video):
        return _AMBIGUOUS  # as close to another video
    alike = best_times[np.maximum(1.0 - best_sims, NOISE_DISTANCE) < bar]
    far = alike[np.abs(alike - best_time) > NEIGHBOURHOOD_S]
    if len(far) and not (_unbroken(best_time - NEIGHBOURHOOD_S, far[far < best_time])
                         and _unbroken(best_time + NEIGHBOURHOOD_S, far[far > best_time])):
        return _AMBIGUOUS  # the picture recurs in separate places: which one is unknowable
    if float(alike.max() - alike.min()) > STILL_STRETCH_MAX_S:
        return _TOO_LONG
    margin = float(np.median(np.diff(best_times))) / 2 if len(best_times) > 1 else 0.0
    return FrameMatch(int(best_video), best_time, min(best_sim, 1.0), float(alike.min()), float(alike.max()),
                      one_moment=not len(far), margin=margin)


def _unbroken(edge: float, times: np.ndarray) -> bool:
    """Whether ``times`` (all on one side of ``edge``) reach out from it with no gap over STRETCH_GAP_S."""
    reach = np.concatenate([[0.0], np.sort(np.abs(times - edge))])
    return bool(np.all(np.diff(reach) <= STRETCH_GAP_S))

"""Moments found by words, as clips the rest of the search handles like any other (thumbnail, play link, strip).

A text moment keeps its spans' own time (a cue from 12.0 to 14.5 s is a clip from 12.0 to 14.5 s); its
thumbnail is the keyframe whose segment holds the best span's middle (else the nearest keyframe of the
video); its CLIP score is that keyframe's cosine with the query vector, when there is one.
"""
from __future__ import annotations

from collections.abc import Sequence
from functools import reduce
from operator import or_

import numpy as np
from django.db.models import Q

from apps.media.models import Keyframe

from .grouping import Clip
from .ids import keyframe_vector_id
from .text_index import TextMoment


def _best_time(moment: TextMoment) -> float:
    best = moment.matches[0]
    return (best.start + best.end) / 2


def clips_for_moments(moments: Sequence[TextMoment]) -> list[Clip | None]:
    """One clip per text moment, its keyframes those whose segments it overlaps (None: the video has none)."""
    if not moments:
        return []
    near = reduce(or_, (Q(video_id=m.video_id, segment_start__lt=m.end, segment_end__gt=m.start) for m in moments))
    rows = list(Keyframe.objects.filter(near, video__indexed_at__isnull=False)
                .values_list("pk", "video_id", "time", "segment_start", "segment_end"))
    clips: list[Clip | None] = []
    for moment in moments:
        inside = sorted((r for r in rows if r[1] == moment.video_id and r[3] < moment.end and r[4] > moment.start),
                        key=lambda r: (r[2], r[0]))
        at = _best_time(moment)
        if not inside:
            nearest = _nearest_keyframe(moment.video_id, at)
            if nearest is None:
                clips.append(None)
                continue
            inside = [nearest]
        best = min(inside, key=lambda r: (not (r[3] <= at < r[4]), abs(r[2] - at), r[0]))
        clips.append(Clip(video_id=moment.video_id, start=moment.start, end=moment.end, best_time=at,
                          score=0.0, best_keyframe_id=best[0], keyframe_ids=[r[0] for r in inside]))
    return clips


def _nearest_keyframe(video_id: int, at: float) -> tuple | None:
    of_video = Keyframe.objects.filter(video_id=video_id, video__indexed_at__isnull=False)
    fields = ("pk", "video_id", "time", "segment_start", "segment_end")
    before = of_video.filter(time__lte=at).order_by("-time").values_list(*fields).first()
    after = of_video.filter(time__gte=at).order_by("time").values_list(*fields).first()
    candidates = [r for r in (before, after) if r is not None]
    return min(candidates, key=lambda r: abs(r[2] - at)) if candidates else None


def keyframe_scores(index, vector: np.ndarray | None, keyframe_ids: Sequence[int]) -> dict[int, float]:
    """Each keyframe's cosine with the query vector (from the stored vectors, no model pass)."""
    if vector is None or not keyframe_ids:
        return {}
    found = index.reconstruct([keyframe_vector_id(pk) for pk in keyframe_ids])
    query = np.asarray(vector, dtype=np.float32).reshape(-1)
    return {pk: float(found[keyframe_vector_id(pk)] @ query) for pk in keyframe_ids if keyframe_vector_id(pk) in found}

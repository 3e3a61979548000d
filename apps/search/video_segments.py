"""Each indexed video's keyframe segments and their stored vectors, cached per indexed version.

Why a cache: a page of long videos has thousands of keyframes, and reading their rows from the
database and their vectors from the index costs more than the rest of a search (about 6 ms for
10 videos x 1000 keyframes, against a 22 ms search). Both change only when the video is ingested
again, which gives it a new ``indexed_at``, or when the collection is re-embedded by another model:
the key holds both, so a stale entry is never read, and ages out of the LRU.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from django.db import connections

from apps.media.models import Keyframe

from .ids import keyframe_vector_ids

#: Stored floats kept in all (64 MB): ~30 videos of 1000 keyframes at 512 dimensions, 200 trailers.
MAX_CACHED_FLOATS = 16_000_000


@dataclass(frozen=True)
class VideoVectors:
    """A video's indexed keyframes in time order: segment edges and their vectors (one row each)."""

    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray

    @property
    def size(self) -> int:
        return int(self.vectors.size) + 2 * len(self.starts)


_cache: OrderedDict[tuple, VideoVectors] = OrderedDict()
_cached = 0
_lock = threading.Lock()


def video_vectors(index, model_id: str, videos: dict[int, datetime | None],
                  using: str = "default") -> dict[int, VideoVectors]:
    """The cached or freshly read segments and vectors of ``videos`` (video id -> its ``indexed_at``).

    Keyframes without a vector in ``index`` (not embedded yet) are left out: a timeline shows a gap.
    A video never indexed (``indexed_at`` None) is read but not kept.
    """
    found: dict[int, VideoVectors] = {}
    with _lock:
        for video_id, indexed_at in videos.items():
            hit = _cache.get(_key(using, index, model_id, video_id, indexed_at))
            if hit is not None:
                _cache.move_to_end(_key(using, index, model_id, video_id, indexed_at))
                found[video_id] = hit
    missing = [video_id for video_id in videos if video_id not in found]
    if missing:
        for video_id, entry in _read(index, missing, using).items():
            found[video_id] = entry
            if videos[video_id] is not None:
                _remember(_key(using, index, model_id, video_id, videos[video_id]), entry)
    return found


def _key(using: str, index, model_id: str, video_id: int, indexed_at: datetime | None) -> tuple:
    return (using, str(index.directory), model_id, video_id, indexed_at.isoformat() if indexed_at else None)


def _read(index, video_ids: list[int], using: str) -> dict[int, VideoVectors]:
    """Rows straight from the cursor (Django's per-row machinery would cost more than the query), vectors
    in one call."""
    query = Keyframe.objects.using(using).filter(video_id__in=video_ids).values_list(
        "pk", "video_id", "segment_start", "segment_end")
    sql, params = query.query.sql_with_params()
    with connections[using].cursor() as cursor:
        cursor.execute(sql, params)
        rows = np.array(cursor.fetchall(), dtype=np.float64).reshape(-1, 4)
    wanted = keyframe_vector_ids(rows[:, 0].astype(np.int64))
    present, vectors = index.reconstruct_present(wanted)  # present is sorted
    at = np.minimum(np.searchsorted(present, wanted), max(len(present) - 1, 0))
    has = present[at] == wanted if len(present) else np.zeros(len(rows), dtype=bool)
    out = {}
    for video_id in video_ids:
        mine = np.flatnonzero((rows[:, 1] == video_id) & has)
        mine = mine[np.argsort(rows[mine, 2], kind="stable")]
        out[video_id] = VideoVectors(rows[mine, 2], rows[mine, 3],
                                     np.ascontiguousarray(vectors[at[mine]], dtype=np.float32))
    return out


def _remember(key: tuple, entry: VideoVectors) -> None:
    global _cached
    with _lock:
        if key in _cache or entry.size > MAX_CACHED_FLOATS:
            return
        _cache[key] = entry
        _cached += entry.size
        while _cached > MAX_CACHED_FLOATS:
            _, old = _cache.popitem(last=False)
            _cached -= old.size


def clear() -> None:
    """Forget every entry (benchmarks measuring the uncached path)."""
    global _cached
    with _lock:
        _cache.clear()
        _cached = 0

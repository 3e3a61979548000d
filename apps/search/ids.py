"""One int64 id space for everything stored in a collection's vector index.

Keyframes and photos live in the same index, so their primary keys would collide. A small type
tag goes into the high bits (bits 56..62); the low 56 bits carry the primary key. Bit 63 stays
clear, so a vector id is always positive and can never be FAISS's ``-1`` "no result" padding.
"""
from __future__ import annotations

from typing import Literal

import numpy as np

Kind = Literal["keyframe", "photo"]

_TAG_SHIFT = 56
_PK_MASK = (1 << _TAG_SHIFT) - 1
_TAGS: dict[str, int] = {"keyframe": 1, "photo": 2}
_KINDS: dict[int, Kind] = {1: "keyframe", 2: "photo"}

#: Largest primary key that fits (2**56 - 1); database ids will never get near it.
MAX_PK = _PK_MASK


def _encode(kind: Kind, pk: int) -> int:
    pk = int(pk)
    if pk < 0 or pk > MAX_PK:
        raise ValueError(f"{kind} primary key {pk} is outside 0..{MAX_PK}")
    return (_TAGS[kind] << _TAG_SHIFT) | pk


def keyframe_vector_id(pk: int) -> int:
    """Vector id of the keyframe with primary key ``pk``."""
    return _encode("keyframe", pk)


def keyframe_vector_ids(pks: np.ndarray) -> np.ndarray:
    """Vector ids of many keyframes at once (int64), for the thousands a timeline reads."""
    return _encode_many("keyframe", pks)


def photo_vector_id(pk: int) -> int:
    """Vector id of the photo with primary key ``pk``."""
    return _encode("photo", pk)


def photo_vector_ids(pks: np.ndarray) -> np.ndarray:
    """Vector ids of many photos at once (int64), for a consistency check of a whole collection."""
    return _encode_many("photo", pks)


def _encode_many(kind: Kind, pks: np.ndarray) -> np.ndarray:
    pks = np.asarray(pks, dtype=np.int64)
    if pks.size and (pks.min() < 0 or pks.max() > MAX_PK):
        raise ValueError(f"{kind} primary keys must be within 0..{MAX_PK}")
    return pks | np.int64(_TAGS[kind] << _TAG_SHIFT)


def decode_vector_id(vid: int) -> tuple[Kind, int]:
    """Inverse of the two encoders: ``(kind, pk)``. Raises ValueError for ids we never issue."""
    vid = int(vid)
    if vid < 0:
        raise ValueError(f"vector id {vid} is negative (FAISS padding is -1, not a real hit)")
    kind = _KINDS.get(vid >> _TAG_SHIFT)
    if kind is None:
        raise ValueError(f"vector id {vid} carries no known type tag")
    return kind, vid & _PK_MASK

"""Vector ids: keyframes and photos share one int64 space without collisions."""
from __future__ import annotations

import numpy as np
import pytest

from apps.search.ids import (
    MAX_PK,
    decode_vector_id,
    keyframe_vector_id,
    photo_vector_id,
)


@pytest.mark.parametrize("pk", [0, 1, 2, 12345, 2**31, MAX_PK])
def test_round_trip(pk: int) -> None:
    assert decode_vector_id(keyframe_vector_id(pk)) == ("keyframe", pk)
    assert decode_vector_id(photo_vector_id(pk)) == ("photo", pk)


@pytest.mark.parametrize("pk", [0, 1, 7, MAX_PK])
def test_kinds_never_collide_and_never_minus_one(pk: int) -> None:
    k, p = keyframe_vector_id(pk), photo_vector_id(pk)
    assert k != p
    assert k > 0 and p > 0
    # Fits FAISS's signed int64 labels without overflow.
    assert np.array([k, p], dtype=np.int64).tolist() == [k, p]


def test_numpy_ints_accepted() -> None:
    vid = keyframe_vector_id(np.int64(42))
    kind, pk = decode_vector_id(np.int64(vid))
    assert (kind, pk) == ("keyframe", 42) and type(pk) is int


@pytest.mark.parametrize("pk", [-1, MAX_PK + 1])
def test_out_of_range_pk_rejected(pk: int) -> None:
    with pytest.raises(ValueError):
        keyframe_vector_id(pk)
    with pytest.raises(ValueError):
        photo_vector_id(pk)


@pytest.mark.parametrize("vid", [-1, 0, 5, 3 << 56])
def test_unknown_ids_rejected(vid: int) -> None:
    with pytest.raises(ValueError):
        decode_vector_id(vid)


def test_many_keyframe_ids_at_once_match_one_at_a_time() -> None:
    import numpy as np

    from apps.search.ids import MAX_PK, keyframe_vector_id, keyframe_vector_ids

    pks = np.array([0, 1, 7, 123456789, MAX_PK])
    assert keyframe_vector_ids(pks).tolist() == [keyframe_vector_id(int(pk)) for pk in pks]
    with pytest.raises(ValueError):
        keyframe_vector_ids(np.array([3, -1]))

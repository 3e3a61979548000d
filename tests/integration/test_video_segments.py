"""The timeline cache: a video's segments and vectors are reused only for the same indexed version and model."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from apps.media.models import Collection, Keyframe, Scene, Status, Video
from apps.search import video_segments
from apps.search.ids import keyframe_vector_id
from apps.search.index import CollectionIndex

pytestmark = pytest.mark.django_db


def _video(collection: Collection, starts: list[float]) -> tuple[Video, list[Keyframe]]:
    video = Video.objects.create(collection=collection, file="v.mp4", original_name="v.mp4", sha256="0" * 64,
                                 status=Status.INDEXED, duration=100.0, indexed_at=timezone.now())
    scene = Scene.objects.create(video=video, index=0, start=0.0, end=100.0)
    keyframes = [Keyframe.objects.create(video=video, scene=scene, time=s + 0.5, segment_start=s, segment_end=s + 1,
                                         thumbnail="t.jpg") for s in starts]
    return video, keyframes


def test_a_new_indexed_version_or_model_is_read_afresh(tmp_path):
    video_segments.clear()
    collection = Collection.objects.create(name="c", embedder="testmodel")
    index = CollectionIndex(tmp_path / "index")
    video, keyframes = _video(collection, [4.0, 0.0, 2.0])
    vectors = np.eye(4, dtype=np.float32)[:3]
    index.add("m", [keyframe_vector_id(k.pk) for k in keyframes[:2]], vectors[:2])  # the third is not embedded yet

    first = video_segments.video_vectors(index, "m", {video.pk: video.indexed_at})[video.pk]
    assert first.starts.tolist() == [0.0, 4.0]  # time order; the keyframe without a vector is left out
    np.testing.assert_array_equal(first.vectors, vectors[[1, 0]])

    # Re-ingested: new keyframes, a new indexed_at. The old entry must not be served.
    Keyframe.objects.filter(video=video).delete()
    video.indexed_at += timedelta(seconds=1)
    fresh = Keyframe.objects.create(video=video, scene=video.scenes.get(), time=9.5, segment_start=9.0,
                                    segment_end=10.0, thumbnail="t.jpg")
    index.add("m", [keyframe_vector_id(fresh.pk)], vectors[2:])
    again = video_segments.video_vectors(index, "m", {video.pk: video.indexed_at})[video.pk]
    assert again.starts.tolist() == [9.0]
    # The same version is served from the cache (the rows are gone from the database by now)
    old = video.indexed_at - timedelta(seconds=1)
    assert video_segments.video_vectors(index, "m", {video.pk: old})[video.pk] is first
    # ... but not for another model, nor for a video never indexed
    assert video_segments.video_vectors(index, "other", {video.pk: old})[video.pk] is not first
    assert video_segments.video_vectors(index, "m", {video.pk: None})[video.pk].starts.tolist() == [9.0]

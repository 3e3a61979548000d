"""A search reads its rows in a fixed number of queries, however many hits and results it has.

Per-hit lookups once cost a warm search more than the encoder and FAISS together (issue 11): the ranking
reads the hits' spans as plain tuples in one query, the page's rows (keyframes with their videos) in one more.
"""
from __future__ import annotations

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.media.models import Collection, Keyframe, Scene, Status, Video
from apps.search.embedders import get_embedder
from apps.search.ids import keyframe_vector_id
from apps.search.query_spec import build_query
from apps.search.service import ClipResult, VideoResult, search
from apps.search.vectors import collection_index

pytestmark = pytest.mark.django_db
VIDEOS, PER_VIDEO, PER_SHOT = 6, 300, 10


@pytest.fixture
def collection(storage_dirs) -> Collection:
    """Videos of 2 s keyframes, 10 to a shot, each with a random unit vector of the test model."""
    collection = Collection.objects.create(name="many")
    embedder = get_embedder("testmodel")
    rng = np.random.default_rng(3)
    ids, now = [], timezone.now()
    for v in range(VIDEOS):
        video = Video.objects.create(collection=collection, file=f"v{v}.mp4", original_name=f"v{v}.mp4",
                                     sha256=f"{v:064x}", status=Status.INDEXED, indexed_at=now, duration=PER_VIDEO * 2.0)
        scenes = Scene.objects.bulk_create(Scene(video=video, index=s, start=s * 20.0, end=(s + 1) * 20.0)
                                           for s in range(PER_VIDEO // PER_SHOT))
        rows = Keyframe.objects.bulk_create(
            Keyframe(video=video, scene=scenes[k // PER_SHOT], time=k * 2.0 + 1, segment_start=k * 2.0,
                     segment_end=k * 2.0 + 2, thumbnail=f"k{k}.jpg") for k in range(PER_VIDEO))
        ids += [keyframe_vector_id(kf.pk) for kf in rows]
    vectors = rng.standard_normal((len(ids), embedder.dim)).astype(np.float32)
    collection_index(collection).add(embedder.model_id, ids, vectors / np.linalg.norm(vectors, axis=1, keepdims=True))
    return collection


def queries_of(fn) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as captured:
        result = fn()
    return len(captured.captured_queries), result


@pytest.mark.parametrize("group_by", ["clip", "video"])
def test_queries_do_not_grow_with_hits_or_results(collection, group_by):
    query = build_query(text="a red car")
    search(collection, query, top_k=1)  # the model, its calibration and the index loaded
    few, small = queries_of(lambda: search(collection, query, top_k=1, group_by=group_by))
    many, large = queries_of(lambda: search(collection, query, top_k=50, group_by=group_by, timeline=False))
    assert len(small.results) == 1 and len(large.results) >= (6 if group_by == "video" else 45)
    assert few == many <= 4, (few, many)
    clips = [c for r in large.results for c in (r.clips if isinstance(r, VideoResult) else [r])]
    assert all(isinstance(c, ClipResult) and c.keyframe.pk == c.clip.best_keyframe_id for c in clips)
    assert all(c.keyframe.video.pk == c.clip.video_id for c in clips)  # the video came with the keyframe


def test_api_answer_reads_no_row_per_result(collection, client):
    def answer(top_k: int):
        response = client.post("/api/search/", {"collection": collection.name, "text": "a red car", "top_k": top_k},
                               content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()

    answer(1)
    few, small = queries_of(lambda: answer(1))
    many, large = queries_of(lambda: answer(40))
    assert len(small["results"]) == 1 and len(large["results"]) == 40
    assert few == many, (few, many)
    assert all(r["video"]["name"].startswith("v") and r["thumbnail_url"] for r in large["results"])


def test_paging_gives_the_same_ranking_as_one_long_page(collection):
    query = build_query(text="a green circle")
    whole = search(collection, query, top_k=40).results
    pages = [r for offset in (0, 20) for r in search(collection, query, top_k=20, offset=offset).results]
    assert [(r.clip.video_id, r.clip.start) for r in pages] == [(r.clip.video_id, r.clip.start) for r in whole[:40]]

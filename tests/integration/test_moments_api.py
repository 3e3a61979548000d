"""Moments, not videos, through the REST API: every occurrence of a scene, grouped by video, paged, with timelines.

The video is the demo video played twice in a row (``-stream_loop 1``): every scene occurs twice,
35 s apart, with the other five scenes in between.
"""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest

from apps.search.temporal import temporal_iou

from .helpers import grab_frame, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def twice_video(demo_media, tmp_path_factory) -> tuple[Path, list[tuple[float, float, str, str]], float]:
    """(path, [(start, end, caption_en, caption_ru) per occurrence], length of one pass)."""
    video_path, segments, _ = demo_media
    out = tmp_path_factory.mktemp("twice") / "twice.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "1", "-i", str(video_path), "-c", "copy",
                    str(out)], check=True, timeout=60)
    length = segments[-1].end
    occurrences = [(s.start + k * length, s.end + k * length, s.caption_en, s.caption_ru)
                   for k in (0, 1) for s in segments]
    return out, occurrences, length


@pytest.fixture
def twice_collection(client, storage_dirs, twice_video) -> tuple[int, list, float]:
    path, occurrences, length = twice_video
    assert client.post("/api/collections/", {"name": "twice", "embedder": "testmodel"},
                       content_type="application/json").status_code == 201
    response = upload(client, "/api/videos/", "twice", path)
    assert response.status_code == 201, response.content
    video = client.get(f"/api/videos/{response.json()['id']}/").json()
    assert video["status"] == "indexed", video
    return video["id"], occurrences, length


def _search(client, **payload) -> dict:
    response = client.post("/api/search/", payload, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _found(occurrence: tuple, clips: list[dict]) -> bool:
    return any(temporal_iou((c["start"], c["end"]), occurrence[:2]) >= 0.5 for c in clips)


def test_every_occurrence_is_its_own_clip_near_the_top(client, twice_collection):
    _, occurrences, _ = twice_collection
    for lang in (2, 3):
        for caption in {o[lang] for o in occurrences}:
            wanted = [o for o in occurrences if o[lang] == caption]
            clips = _search(client, collection="twice", text=caption, top_k=len(wanted) + 2)["results"]
            assert all(_found(o, clips) for o in wanted), (caption, clips)
            # no clip spans both passes: a clip covers one moment, not the video
            assert all(c["end"] - c["start"] < 10 for c in clips[: len(wanted)]), clips


def test_group_by_video_lists_every_matching_moment_in_time_order(client, twice_collection):
    video_id, occurrences, _ = twice_collection
    caption = occurrences[0][2]
    body = _search(client, collection="twice", text=caption, group_by="video", top_k=5)
    assert body["group_by"] == "video"
    (entry,) = [r for r in body["results"] if r["type"] == "video"]
    assert entry["video"]["id"] == video_id
    starts = [c["start"] for c in entry["clips"]]
    assert starts == sorted(starts)
    assert all(c["matched"] for c in entry["clips"])
    assert all(_found(o, entry["clips"]) for o in occurrences if o[2] == caption), entry["clips"]
    assert entry["score"] == max(c["score"] for c in entry["clips"])


def test_pages_follow_one_ranking_without_repeats_or_gaps(client, twice_collection):
    caption = twice_collection[1][3][2]
    pages, offset, total = [], 0, None
    while offset is not None:
        body = _search(client, collection="twice", text=caption, top_k=3, offset=offset)
        assert body["offset"] == offset and total in (None, body["total"])
        total = body["total"]
        pages.extend(body["results"])
        offset = body["next_offset"]
    assert len(pages) == total > 6
    assert len({(r["start"], r["end"]) for r in pages}) == total
    scores = [r["score"] for r in pages]
    assert scores == sorted(scores, reverse=True)
    again = _search(client, collection="twice", text=caption, top_k=3, offset=3)["results"]
    assert [(r["start"], r["end"]) for r in again] == [(r["start"], r["end"]) for r in pages[3:6]]
    past = _search(client, collection="twice", text=caption, top_k=3, offset=total)
    assert past["results"] == [] and past["next_offset"] is None


def test_timeline_covers_the_video_and_marks_its_moments(client, twice_collection):
    video_id, occurrences, length = twice_collection
    caption = occurrences[1][3]
    body = _search(client, collection="twice", text=caption, top_k=3, timeline=True)
    timeline = body["timelines"][str(video_id)]
    segments = timeline["segments"]
    assert segments == sorted(segments, key=lambda s: s["start"])
    assert segments[0]["start"] < 1.0 and segments[-1]["end"] > 2 * length - 1.0
    # the strip peaks where the scene is: each occurrence holds the best-scored segments
    best = max(s["score"] for s in segments)
    peaks = [s for s in segments if s["score"] >= best - 1e-6]
    assert all(any(o[0] - 0.5 <= p["start"] and p["end"] <= o[1] + 0.5 for o in occurrences if o[3] == caption)
               for p in peaks)
    # the clip's score is the score the strip shows for its keyframe's segment
    top = body["results"][0]
    at = [s for s in segments if s["start"] <= top["best_time"] < s["end"]]
    assert at and abs(at[0]["score"] - top["score"]) < 1e-4
    wanted = [o for o in occurrences if o[3] == caption]
    assert all(_found(o, timeline["moments"]) for o in wanted), timeline["moments"]
    assert "timelines" in body and _search(client, collection="twice", text=caption)["timelines"] == {}


@pytest.mark.parametrize("payload", [
    {"group_by": "scene"}, {"offset": -1}, {"offset": 995, "top_k": 10}, {"offset": "x"}, {"timeline": "maybe"},
])
def test_bad_paging_and_grouping_fields_are_400(client, storage_dirs, payload):
    client.post("/api/collections/", {"name": "c", "embedder": "testmodel"}, content_type="application/json")
    response = client.post("/api/search/", {"collection": "c", "text": "a car", **payload},
                           content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["status"] == 400


@pytest.fixture(scope="module")
def static_camera_video(tmp_path_factory) -> Path:
    """60 s of a fixed camera on a white house; a red car fades in on the right, stays 30-34 s, fades out.

    The fades (1.5 s) keep it one shot, as a car driving into a camera's view does: no cut separates
    the event from the rest of the recording.
    """
    import numpy as np
    from PIL import Image

    from apps.search.testmodel.footage import encode_frames
    from apps.search.testmodel.scenes import ObjectGroup, SceneSpec, render

    house = ObjectGroup("house", "white", 1, "left")
    fps, size = 10, (480, 270)
    # same rng: the same grass and house in both pictures
    empty = render(SceneSpec("grass", (house,)), size, np.random.default_rng(11))
    event = render(SceneSpec("grass", (house, ObjectGroup("car", "red", 1, "right"))), size, np.random.default_rng(11))

    def frames():
        for f in range(60 * fps):
            t = f / fps
            alpha = min(max(0.0, (t - 28.5) / 1.5), 1.0, max(0.0, (35.5 - t) / 1.5))
            yield Image.blend(empty, event, alpha)

    path = tmp_path_factory.mktemp("static") / "camera.mp4"
    encode_frames(path, frames(), fps=fps, size=size)
    return path


def test_a_static_camera_with_one_event_gives_one_short_clip_not_the_recording(client, storage_dirs, tmp_path,
                                                                                  static_camera_video):
    client.post("/api/collections/", {"name": "camera", "embedder": "testmodel"}, content_type="application/json")
    response = upload(client, "/api/videos/", "camera", static_camera_video)
    assert response.status_code == 201
    assert len(client.get(f"/api/videos/{response.json()['id']}/").json()["scenes"]) == 1  # one shot, no cut
    for text in ("a red car on the right", "красная машина справа"):
        body = _search(client, collection="camera", text=text, top_k=10, timeline=True)
        top = body["results"][0]
        assert temporal_iou((top["start"], top["end"]), (30.0, 34.0)) >= 0.5, (text, body["results"])
        matched = [r for r in body["results"] if r["matched"]]
        assert all(r["end"] - r["start"] <= 8.0 for r in matched), matched
        # the rest of the recording is not one of the moments the strip marks
        (timeline,) = body["timelines"].values()
        assert all(temporal_iou((m["start"], m["end"]), (30.0, 34.0)) > 0 for m in timeline["moments"][:1])
    # A frame grab of the event: the camera's other 56 s look almost the same, but not quite.
    frame = grab_frame(static_camera_video, 32.0, tmp_path / "grab.png")
    buf = io.BytesIO()
    frame.save(buf, format="PNG")
    buf.seek(0)
    buf.name = "grab.png"
    response = client.post("/api/search/", {"collection": "camera", "image": buf, "top_k": 10})
    assert response.status_code == 200, response.content
    body = response.json()
    top = body["results"][0]
    assert top["start"] <= 32.0 <= top["end"] and top["end"] - top["start"] <= 8.0, body["results"][:3]

"""Weighted, negative and combined queries through the real API, page and CLI with the bundled model.

The collection holds rendered scenes whose captions differ in one attribute at a time (a red house on the
grass / at night, a red car on a road / on the grass, ...), so each feature has a ranking it must flip.
"""
from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from apps.media.models import Photo
from apps.search.testmodel.scenes import ObjectGroup, SceneSpec, render

from .helpers import grab_frame, upload

pytestmark = pytest.mark.django_db(transaction=True)

SCENES = {
    "house_grass": SceneSpec("grass", (ObjectGroup("house", "red", 1, "centre"),)),
    "house_night": SceneSpec("night", (ObjectGroup("house", "red", 1, "centre"),)),
    "car_road": SceneSpec("road", (ObjectGroup("car", "red", 1, "centre"),)),
    "car_grass": SceneSpec("grass", (ObjectGroup("car", "red", 1, "centre"),)),
    "tree_night": SceneSpec("night", (ObjectGroup("tree", "green", 1, "centre"),)),
    "boat_water": SceneSpec("water", (ObjectGroup("boat", "yellow", 1, "centre"),)),
    "stars_plain": SceneSpec("plain", (ObjectGroup("star", "blue", 2, "left"),), "white"),
    "blue_house_grass": SceneSpec("grass", (ObjectGroup("house", "blue", 1, "centre"),)),
}


def scene_image(name: str, seed: int):
    return render(SCENES[name], (320, 240), np.random.default_rng([7, seed]))


@pytest.fixture
def scenes(storage_dirs, tmp_path) -> dict[str, int]:
    """The SCENES as photos of collection "scenes"; name -> photo id."""
    folder = tmp_path / "scenes"
    folder.mkdir()
    for seed, name in enumerate(SCENES):
        scene_image(name, seed).save(folder / f"{name}.jpg", quality=92)
    call_command("ingest", str(folder), collection="scenes", model="testmodel", stdout=io.StringIO())
    ids = {Path(p.original_name).stem: p.pk for p in Photo.objects.filter(status="indexed")}
    assert set(ids) == set(SCENES)
    return ids


def post(client, **payload) -> dict:
    response = client.post("/api/search/", {"collection": "scenes", "top_k": 8, **payload}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def ranking(body: dict) -> list[str]:
    return [Path(r["photo"]["name"]).stem for r in body["results"]]


def above(order: list[str], first: str, second: str) -> bool:
    return order.index(first) < order.index(second)


def test_negative_and_weighted_terms_flip_the_ranking(client, scenes):
    plain = ranking(post(client, text="red car"))
    assert plain[0] == "car_road"  # the road scene is the model's first pick without help...
    assert ranking(post(client, text="red car -road"))[0] == "car_grass"  # ...and subtracting "road" demotes it
    assert ranking(post(client, text="red car + road"))[0] == "car_road"

    assert above(ranking(post(client, text="red house")), "house_grass", "house_night")
    negative = ranking(post(client, text="red house -night"))
    assert negative[0] == "house_grass" and negative.index("house_night") >= 3
    assert ranking(post(client, text="red house + night"))[0] == "house_night"
    assert ranking(post(client, text="red house:1 + night:0.5"))[0] == "house_night"
    assert ranking(post(client, text="красный дом + ночью"))[0] == "house_night"
    assert above(ranking(post(client, text="красный дом -ночью")), "house_grass", "house_night")


def test_the_response_shows_how_the_query_was_read(client, scenes):
    body = post(client, text="red car:2 -at night")
    assert body["query"]["terms"] == [{"text": "red car", "weight": 2.0}, {"text": "at night", "weight": -1.0}]
    body = post(client, like_photo=scenes["car_road"], query=[{"text": "night", "weight": -0.5}])
    assert body["query"]["terms"] == [{"like_photo": scenes["car_road"], "weight": 1.0},
                                      {"text": "night", "weight": -0.5}]
    assert body["query"]["kind"] == "combined"


def test_the_json_list_is_the_text_syntax_spelled_out(client, scenes):
    typed = post(client, text="red house:2 -night")
    listed = post(client, query=[{"text": "red house", "weight": 2}, {"text": "night", "weight": -1}])
    assert [(r["photo"]["id"], r["score"]) for r in typed["results"]] == [
        (r["photo"]["id"], r["score"]) for r in listed["results"]]
    assert typed["query"]["kind"] == listed["query"]["kind"] == "text"
    assert typed["query"]["embedded_texts"] == listed["query"]["embedded_texts"]


def test_a_plain_query_ranks_exactly_as_a_one_term_list(client, scenes):
    plain = post(client, text="a red house on the grass")
    listed = post(client, query=[{"text": "a red house on the grass"}])
    assert [(r["photo"]["id"], r["score"]) for r in plain["results"]] == [
        (r["photo"]["id"], r["score"]) for r in listed["results"]]


def test_an_example_image_and_text_are_searched_together(client, scenes, tmp_path):
    probe = tmp_path / "probe.png"
    scene_image("house_grass", 99).save(probe)  # not the stored photo: another rendering of the scene
    with open(probe, "rb") as fh:
        alone = client.post("/api/search/", {"collection": "scenes", "image": fh}).json()
    assert ranking(alone)[0] == "house_grass" and alone["query"]["kind"] == "image"
    assert ranking(alone).index("house_night") >= 3
    # An image matches images far better than any text does, so a text term at weight 1 only nudges...
    with open(probe, "rb") as fh:
        nudged = client.post("/api/search/", {"collection": "scenes", "image": fh, "text": "night"}).json()
    assert above(ranking(nudged), "house_night", "house_grass") and nudged["query"]["kind"] == "combined"
    # ...and a heavier one decides
    with open(probe, "rb") as fh:
        night = client.post("/api/search/", {"collection": "scenes", "image": fh, "text": "night:2"}).json()
    assert ranking(night)[0] == "house_night"
    assert night["query"]["embedded_texts"]  # the text part is shown like any text query
    with open(probe, "rb") as fh:
        blue = client.post("/api/search/", {"collection": "scenes", "image": fh, "text": "blue"}).json()
    assert ranking(blue)[0] == "blue_house_grass"
    # the image's weight is honoured: weighted far above the text, the picture itself wins again
    with open(probe, "rb") as fh:
        heavy = client.post("/api/search/", {"collection": "scenes", "image": fh, "text": "night:2",
                                             "image_weight": "10"}).json()
    assert ranking(heavy)[0] == "house_grass"
    # and a multipart form can carry the term list as JSON next to the image
    with open(probe, "rb") as fh:
        listed = client.post("/api/search/", {"collection": "scenes", "image": fh,
                                              "query": json.dumps([{"text": "night", "weight": 2}])}).json()
    assert [r["score"] for r in listed["results"]] == [r["score"] for r in night["results"]]


def moving_video(path: Path, fps: int = 25) -> list[tuple[float, float, str]]:
    """A red car crossing a road (0-6 s), then white stars drifting at night (6-11 s): every second of it
    looks different, so a frame grab is a copy of one moment. Returns (start, end, name) per shot."""
    shots = [(SceneSpec("road", (ObjectGroup("car", "red", 1, "centre"),)), 6.0, "car"),
             (SceneSpec("night", (ObjectGroup("star", "white", 3, "top"),)), 5.0, "stars")]
    size = (320, 240)
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "320x240",
           "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
           str(path)]
    frames = b"".join(
        render(spec, size, np.random.default_rng([5, k]), shift=(0.6 * f / (duration * fps) - 0.3, 0.0)).tobytes()
        for k, (spec, duration, _) in enumerate(shots) for f in range(round(duration * fps)))
    subprocess.run(cmd, input=frames, check=True, timeout=120)
    starts = np.cumsum([0.0] + [d for _, d, _ in shots])
    return [(float(starts[k]), float(starts[k + 1]), name) for k, (_, _, name) in enumerate(shots)]


def test_a_copied_frame_is_still_found_when_text_is_added(client, storage_dirs, tmp_path):
    """The copied-moment path runs for any query holding the example image with a positive weight."""
    video = tmp_path / "moving.mp4"
    (car_start, _, _), (night_start, _, _) = moving_video(video)
    client.post("/api/collections/", {"name": "clips", "embedder": "testmodel"}, content_type="application/json")
    assert upload(client, "/api/videos/", "clips", video).status_code == 201
    second = car_start + 3.0
    frame = tmp_path / "frame.png"
    grab_frame(video, second, frame)

    def find(**fields) -> dict:
        with open(frame, "rb") as fh:
            response = client.post("/api/search/", {"collection": "clips", "image": fh, "media": "videos", **fields})
        assert response.status_code == 200, response.content
        return response.json()["results"][0]

    # the text pulls towards the night shot, yet the moment the image copies stays first
    for fields in ({}, {"text": "stars at night:2"}, {"query": json.dumps([{"text": "stars at night", "weight": 3}])}):
        top = find(**fields)
        assert top["exact_frame"] is True and abs(top["best_time"] - second) <= 1.0, (fields, top)
    pushed_away = find(image_weight="-1", text="white stars at night")  # "not like this": no copy is looked for
    assert pushed_away["exact_frame"] is False and pushed_away["start"] >= night_start - 0.2


def test_more_like_a_photo_but_at_night(client, scenes):
    like = post(client, like_photo=scenes["house_grass"])
    assert ranking(like)[0] != "house_night" and "house_grass" not in ranking(like)  # the example is no result
    night = post(client, query=[{"like_photo": scenes["house_grass"]}, {"text": "night", "weight": 2}])
    assert ranking(night)[0] == "house_night" and "house_grass" not in ranking(night)
    assert night["results"] == post(client, like_photo=scenes["house_grass"], text="night:2")["results"]


def test_get_takes_the_same_syntax_and_list(client, scenes):
    body = client.get("/api/search/", {"collection": "scenes", "text": "red car -road"}).json()
    assert ranking(body)[0] == "car_grass"
    body = client.get("/api/search/", {"collection": "scenes", "query": json.dumps([{"text": "red car"},
                                                                                    {"text": "road", "weight": -1}])})
    assert ranking(body.json())[0] == "car_grass"


HOSTILE = [
    ({"text": "-night"}, "only negative terms"),
    ({"text": "-night -road"}, "only negative terms"),
    ({"text": "house:nan"}, "finite"),
    ({"text": "house:1e999"}, "finite"),
    ({"text": "house:1000"}, "out of range"),
    ({"text": "house:0"}, "out of range"),
    ({"text": "house:2x"}, "not a number"),
    ({"text": "house +"}, "followed by a term"),
    ({"text": "red:2 house"}, "end of its term"),
    ({"text": " + ".join(["car"] * 9)}, "too many terms"),
    ({"text": "red house -red house"}, "cancel out"),
    ({"text": "red house", "query": [{"text": "a"}] * 8}, "too many terms"),
    ({"query": []}, "non-empty list"),
    ({"query": "not json"}, "not valid JSON"),
    ({"query": {"text": "car"}}, "list"),
    ({"query": [1, 2]}, "term 1"),
    ({"query": [{"text": "car", "weight": "heavy"}]}, "term 1"),
    ({"query": [{"text": "car", "weight": -20}]}, "out of range"),
    ({"query": [{"text": "car", "like_photo": 1}]}, "exactly one"),
    ({"query": [{"txt": "car"}]}, "unknown key"),
    ({"query": [{"weight": 2}]}, "exactly one"),
    ({"query": [{"text": "   "}]}, "term 1"),
    ({"query": [{"text": "car"}, {"like_keyframe": True}]}, "term 2"),
    ({"query": [{"like_keyframe": -3}]}, "term 1"),
    ({"query": [{"text": "night", "weight": -1}]}, "only negative terms"),
    ({"query": [{"text": "car"}] * 9}, "too many terms"),
    ({"image_weight": 2, "text": "car"}, "needs an image"),
    ({"like_photo": 0}, "positive integer"),
    ({"like_keyframe": 10**30}, "positive integer"),
    ({"query": [{"like_photo": 2**63}]}, "positive integer"),
    ({"text": "car", "like_keyframe": 999999}, "not in collection"),
]


@pytest.mark.parametrize("payload, message", HOSTILE)
def test_bad_queries_are_400_json_with_a_readable_error(client, storage_dirs, payload, message):
    client.post("/api/collections/", {"name": "scenes", "embedder": "testmodel"}, content_type="application/json")
    response = client.post("/api/search/", {"collection": "scenes", **payload}, content_type="application/json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == 400 and message in body["error"], body


@pytest.mark.parametrize("weight", ["NaN", "Infinity", "1e999", "-1e999", "true", "null", '"2"x'])
def test_non_numbers_in_a_raw_json_body_are_a_400(client, storage_dirs, weight):
    client.post("/api/collections/", {"name": "scenes", "embedder": "testmodel"}, content_type="application/json")
    raw = '{"collection": "scenes", "query": [{"text": "car", "weight": ' + weight + "}]}"
    response = client.post("/api/search/", raw, content_type="application/json")
    assert response.status_code == 400 and response.json()["status"] == 400, response.content


def test_the_page_combines_a_dropped_image_with_the_typed_text(client, scenes, tmp_path):
    probe = tmp_path / "probe.png"
    scene_image("house_grass", 99).save(probe)
    collection = Photo.objects.get(pk=scenes["house_grass"]).collection_id
    with open(probe, "rb") as fh:
        page = client.post("/", {"collection": collection, "q": "night:2", "image": fh})
    assert page.status_code == 200
    names = [r["photo"]["name"] for r in page.context["result"]["results"]]
    assert Path(names[0]).stem == "house_night"
    assert page.context["result"]["query"]["kind"] == "combined"
    assert "the image ×1" in page.content.decode() and "«night» ×2" in page.content.decode()
    typed = client.get("/", {"collection": collection, "q": "red car -road"})
    assert Path(typed.context["result"]["results"][0]["photo"]["name"]).stem == "car_grass"
    bad = client.get("/", {"collection": collection, "q": "-night"})
    assert bad.status_code == 400 and "only negative terms" in bad.context["error"]


def test_the_cli_takes_text_and_image_together(scenes, tmp_path):
    from django.core.management.base import CommandError

    probe = tmp_path / "probe.png"
    scene_image("house_grass", 99).save(probe)
    out = io.StringIO()
    call_command("search", collection="scenes", image=probe, text="night:2", json=True, stdout=out)
    assert Path(json.loads(out.getvalue())["results"][0]["photo"]["name"]).stem == "house_night"
    out = io.StringIO()
    call_command("search", collection="scenes", text="red car -road", stdout=out)
    assert "car_grass" in out.getvalue().splitlines()[1]
    with pytest.raises(CommandError, match="give a query"):
        call_command("search", collection="scenes", stdout=io.StringIO())
    with pytest.raises(CommandError, match="finite"):
        call_command("search", collection="scenes", text="car:inf", stdout=io.StringIO())


def test_why_explains_the_query_as_the_search_reads_it(client, scenes):
    photo = scenes["house_night"]
    explained = client.get("/api/explain/", {"photo": photo, "text": "red house -night"})
    assert explained.status_code == 200 and explained["Content-Type"] == "image/png"
    refused = client.get("/api/explain/", {"photo": photo, "text": "-night"})
    assert refused.status_code == 400 and "only negative terms" in refused.json()["error"]


def test_the_schema_documents_the_query_syntax_and_terms(client, storage_dirs):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    request = schema["components"]["schemas"]["SearchRequest"]["properties"]
    assert "-night" in request["text"]["description"]
    assert request["query"]["type"] == "array" and "weight" in request["query"]["description"]
    assert "image_weight" in request
    term = schema["components"]["schemas"]["QueryTerm"]["properties"]
    assert set(term) == {"text", "like_keyframe", "like_photo", "weight"}


def test_a_deeply_nested_query_string_is_a_400(client, storage_dirs):
    client.post("/api/collections/", {"name": "scenes", "embedder": "testmodel"}, content_type="application/json")
    nested = "[" * 100_000 + "]" * 100_000
    response = client.post("/api/search/", {"collection": "scenes", "query": nested})  # a multipart form field
    assert response.status_code == 400 and "JSON" in response.json()["error"]
    body = '{"collection": "scenes", "query": ' + nested + "}"  # the whole JSON body
    for endpoint in ("/api/search/", "/api/collections/"):
        response = client.post(endpoint, body, content_type="application/json")
        assert response.status_code == 400 and "nested too deeply" in response.json()["error"]

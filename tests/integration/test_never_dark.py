"""The index never goes dark: rebuilds and re-ingests leave every indexed item searchable throughout.

A rebuild writes a new index generation beside the live one and swaps it in when complete, so a
``manage.py rebuild_index`` SIGKILLed at any point leaves the old index answering in full, and the
next rebuild removes what it left. A re-ingest keeps the video's old keyframes and vectors until
its new ones replace them in one step. The moments are made exact with named checkpoints
(``apps.media.services.checkpoints``): a real subprocess is held there, looked at, then killed or
let go; in-process, a callback runs there.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.db import connection

from apps.media.models import Collection, Photo, Status, Video
from apps.media.services import checkpoints, storage
from apps.media.services.register import create_job, register_path
from apps.search.embedders.registry import get_embedder
from apps.search.ids import keyframe_vector_id, photo_vector_id
from apps.search.index import CURRENT_FILE, read_current
from apps.search.index_rebuild import IndexBuild
from apps.search.query_spec import build_query
from apps.search.reindex import catch_up
from apps.search.service import ClipResult, PhotoResult, search
from apps.search.vectors import collection_index
from bench.search_load import Probe, SearchLoad
from tests.conftest import REPO, session_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@dataclass
class Indexed:
    """The demo video and three photos, indexed in one collection, and what searching them answers."""

    collection: Collection
    video: Video
    photos: list[Photo]
    captions: list[str]
    probes: list[Probe]
    count: int
    answers: dict[str, list[tuple]]


def answers(collection: Collection, captions: list[str]) -> dict[str, list[tuple]]:
    """Per caption, the top results as (kind, item id, start, end): what a user sees, not float noise."""
    out = {}
    for caption in captions:
        top = []
        for r in search(collection, build_query(text=caption), top_k=3).results:
            if isinstance(r, ClipResult):
                top.append(("clip", r.clip.video_id, round(r.clip.start, 1), round(r.clip.end, 1)))
            elif isinstance(r, PhotoResult):
                top.append(("photo", r.photo.pk))
        out[caption] = top
    return out


def vector_ids(collection: Collection) -> set[int]:
    """The vector ids the database says the collection's index must hold."""
    video_ids = {keyframe_vector_id(pk) for video in collection.videos.all()
                 for pk in video.keyframes.values_list("pk", flat=True)}
    return video_ids | {photo_vector_id(pk) for pk in collection.photos.values_list("pk", flat=True)}


def live_ids(collection: Collection, candidates: set[int]) -> set[int]:
    return collection_index(collection).contains(candidates)


@pytest.fixture
def indexed(storage_dirs, demo_media) -> Indexed:
    video_path, segments, photos = demo_media
    collection = Collection.objects.create(name="never-dark", embedder="testmodel")
    video = register_path(collection, video_path).item
    items = [register_path(collection, path).item for path, _, _ in photos[:3]]
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    captions = [seg.caption_en for seg in segments] + [caption for _, caption, _ in photos[:3]]
    probes = [Probe(seg.caption_en, video.pk) for seg in segments] + [Probe(c) for _, c, _ in photos[:3]]
    count = collection_index(collection).info().count
    assert count == len(vector_ids(collection)) > len(segments)
    return Indexed(collection, video, items, captions, probes, count, answers(collection, captions))


# ----------------------------------------------------------------------------- subprocess helpers
def manage_env(settings, hold_dir: Path | None = None, hold_at: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": session_database_url(),
        "VIDEOSEARCH_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "VIDEOSEARCH_INDEX_ROOT": str(settings.INDEX_ROOT),
        "VIDEOSEARCH_EMBEDDER": settings.EMBEDDER,
        "VIDEOSEARCH_EMBED_BATCH": "4",  # many small batches: "mid-embedding" is a real place
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    env.pop(checkpoints.HOLD_AT_ENV, None)
    if hold_at is not None:
        env.update({checkpoints.HOLD_AT_ENV: hold_at, checkpoints.HOLD_DIR_ENV: str(hold_dir)})
    return env


def start_rebuild(settings, collection: Collection, **hold) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "rebuild_index", "--collection", collection.name],
                            cwd=REPO, env=manage_env(settings, **hold), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def finish(proc: subprocess.Popen, timeout: float = 180) -> str:
    out, _ = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, out
    return out


def wait_held(proc: subprocess.Popen, marker: Path, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if proc.poll() is not None:
            pytest.fail(f"rebuild ended before reaching {marker.name}:\n{proc.stdout.read()}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"rebuild did not reach {marker.name} in {timeout}s")
        time.sleep(0.05)
    assert int(marker.read_text()) == proc.pid


def generations(collection: Collection) -> list[str]:
    return sorted(p.name for p in collection.index_dir.glob("gen-*"))


# ----------------------------------------------------------------------------- rebuilds
@pytest.mark.parametrize("point", ["rebuild.started", "rebuild.batch", "rebuild.swap"],
                         ids=["right-after-start", "mid-embedding", "just-before-swap"])
def test_a_killed_rebuild_leaves_the_old_index_answering(indexed, settings, tmp_path, point):
    collection = indexed.collection
    hold_dir = tmp_path / "hold"
    proc = start_rebuild(settings, collection, hold_dir=hold_dir, hold_at=point)
    wait_held(proc, hold_dir / point)
    # stopped there (just before the swap it even holds the writer lock): searches answer as before
    assert answers(collection, indexed.captions) == indexed.answers
    assert collection_index(collection).info().count == indexed.count
    left = generations(collection)
    assert len(left) == 1 and read_current(collection.index_dir) == collection.index_dir  # built beside, not live

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert answers(collection, indexed.captions) == indexed.answers
    index = collection_index(collection)
    assert index.info().count == indexed.count
    assert live_ids(collection, vector_ids(collection)) == vector_ids(collection)

    out = finish(start_rebuild(settings, collection))  # the next rebuild completes and cleans up
    assert f"re-embedded {indexed.count} vectors" in out
    assert left[0] not in generations(collection) and len(generations(collection)) == 1
    assert (collection.index_dir / CURRENT_FILE).read_text() == generations(collection)[0]
    assert not (collection.index_dir / "index.bin").exists()  # the first generation went after the swap
    assert answers(collection, indexed.captions) == indexed.answers
    assert index.info().count == indexed.count
    assert live_ids(collection, vector_ids(collection)) == vector_ids(collection)


def test_searches_during_rebuilds_never_come_back_empty(indexed, settings):
    collection = indexed.collection
    with SearchLoad(collection.pk, indexed.probes, threads=4) as load:
        load.wait_for(20)
        for _ in range(2):  # real processes; the second drops the first one's generation under the readers
            finish(start_rebuild(settings, collection))
        call_command("rebuild_index", collection=collection.name, stdout=io.StringIO())  # and one in this process
        load.wait_for(load.report.searches + 20)
    report = load.report
    assert report.searches >= 60, report.summary()
    assert (report.errors, report.empty, report.missing_video) == (0, 0, 0), report.summary()
    assert collection_index(collection).info().count == indexed.count
    assert answers(collection, indexed.captions) == indexed.answers


def test_ingests_during_a_rebuild_are_carried_over(indexed, settings, tmp_path, demo_media):
    """A re-ingest, a deletion and a new photo while the rebuild is mid-embedding all show in its result."""
    collection = indexed.collection
    hold_dir = tmp_path / "hold"
    proc = start_rebuild(settings, collection, hold_dir=hold_dir, hold_at="rebuild.batch")
    wait_held(proc, hold_dir / "rebuild.batch")
    old_ids = vector_ids(collection)
    create_job(indexed.video)  # in-process (eager): new keyframes, new vector ids
    indexed.photos[0].delete()
    new_photo = register_path(collection, demo_media[2][3][0]).item
    expected = vector_ids(collection)
    assert expected != old_ids and photo_vector_id(new_photo.pk) in expected
    (hold_dir / "rebuild.batch.go").touch()
    finish(proc)
    assert read_current(collection.index_dir) != collection.index_dir  # the rebuilt generation is live
    index = collection_index(collection)
    assert index.info().count == len(expected)
    assert index.contains(expected | old_ids) == expected
    caption = demo_media[2][3][1]
    assert ("photo", new_photo.pk) in answers(collection, [caption])[caption]


def test_a_rebuild_for_another_model_embeds_again_what_it_must_carry_over(indexed):
    """The live index holds another model's vectors: ids to carry over are embedded again from their rows."""
    collection = indexed.collection
    live = collection_index(collection)
    ids = sorted(vector_ids(collection))
    expected = live.reconstruct(ids)  # what ingests computed with the collection's model
    live.reset("another-model")
    rng = np.random.default_rng(0)
    noise = rng.standard_normal((len(ids), 8)).astype(np.float32)
    live.add("another-model", ids, noise / np.linalg.norm(noise, axis=1, keepdims=True))
    embedder = get_embedder(collection.embedder_spec)
    with IndexBuild(live, embedder.model_id) as build:
        delta = build.delta()  # nothing built yet: every live id is missing
        assert delta.missing.tolist() == ids
        catch_up(collection, embedder, build, delta, live)
        rebuilt = build.target.reconstruct(ids)
    assert sorted(rebuilt) == ids
    for vid in ids:
        assert np.allclose(rebuilt[vid], expected[vid], atol=1e-4), vid


# ----------------------------------------------------------------------------- re-ingests
def in_thread(fn):
    """fn() in another thread with its own database connection, as another request would run; its result."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(120)
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_reingested_video_is_found_until_its_new_keyframes_replace_the_old(indexed, client):
    collection, video = indexed.collection, indexed.video
    old_keyframes = set(video.keyframes.values_list("pk", flat=True))
    old_images = [storage.absolute(name) for name in video.keyframes.values_list("thumbnail", flat=True)]
    seen: dict = {}

    def between_analysis_and_final_write() -> None:
        seen["api"] = in_thread(lambda: client.get(f"/api/videos/{video.pk}/").json())
        seen["answers"] = in_thread(lambda: answers(collection, indexed.captions))
        seen["hit_keyframes"] = in_thread(lambda: {
            r.keyframe.pk for c in indexed.captions
            for r in search(collection, build_query(text=c), top_k=3).results if isinstance(r, ClipResult)})
        seen["images"] = all(path.is_file() for path in old_images)

    with checkpoints.listening("ingest.before_swap", between_analysis_and_final_write):
        response = client.post(f"/api/videos/{video.pk}/reingest/")  # runs the job in-process
    assert response.status_code == 202, response.content
    assert seen["api"]["status"] == Status.EMBEDDING and seen["api"]["reingesting"] is True
    assert {kf["id"] for kf in seen["api"]["keyframes"]} == old_keyframes
    assert seen["answers"] == indexed.answers  # the old keyframes answer, as before
    assert seen["hit_keyframes"] and seen["hit_keyframes"] <= old_keyframes
    assert seen["images"]

    video.refresh_from_db()
    new_keyframes = set(video.keyframes.values_list("pk", flat=True))
    assert video.status == Status.INDEXED and not video.reingesting
    assert new_keyframes and new_keyframes.isdisjoint(old_keyframes)
    index = collection_index(collection)
    assert index.contains({keyframe_vector_id(pk) for pk in old_keyframes}) == set()
    assert index.info().count == indexed.count == len(vector_ids(collection))
    assert all(storage.absolute(kf.thumbnail.name).is_file() for kf in video.keyframes.all())
    assert answers(collection, indexed.captions) == indexed.answers


def test_searches_during_a_reingest_keep_finding_the_video(indexed, client):
    with SearchLoad(indexed.collection.pk, indexed.probes, threads=4) as load:
        load.wait_for(10)
        assert client.post(f"/api/videos/{indexed.video.pk}/reingest/").status_code == 202
        load.wait_for(load.report.searches + 10)
    report = load.report
    indexed.video.refresh_from_db()
    assert indexed.video.status == Status.INDEXED
    assert report.searches >= 20, report.summary()
    assert (report.errors, report.empty, report.missing_video) == (0, 0, 0), report.summary()


def test_a_reingest_committing_between_a_searchs_index_read_and_row_read_keeps_the_video_found(indexed, client,
                                                                                              monkeypatch):
    """The race the 8-client load test met once in 1121 answers: a search reads the index (old vectors only),
    a re-ingest commits (old rows gone, new rows and vectors in), then the search reads the rows. Without a
    second index read, the video of those old vectors would be missing from the answer."""
    from apps.search.index import CollectionIndex

    collection, video = indexed.collection, indexed.video
    old_keyframes = set(video.keyframes.values_list("pk", flat=True))
    real_search = CollectionIndex.search
    reads: list[set[int]] = []

    def read_then_reingest(self, *args, **kwargs):
        hits = real_search(self, *args, **kwargs)
        reads.append({vector_id for vector_id, _ in hits})
        if len(reads) == 1:  # the first read: let a whole re-ingest commit before the rows are read
            response = in_thread(lambda: client.post(f"/api/videos/{video.pk}/reingest/"))  # runs the job
            assert response.status_code == 202, response.content
        return hits

    monkeypatch.setattr(CollectionIndex, "search", read_then_reingest)
    caption = indexed.captions[0]
    results = search(collection, build_query(text=caption), top_k=10).results
    assert set(video.keyframes.values_list("pk", flat=True)).isdisjoint(old_keyframes)  # it did re-ingest
    assert reads[0] & {keyframe_vector_id(pk) for pk in old_keyframes}  # the first read found the old vectors
    assert video.pk in {r.clip.video_id for r in results if isinstance(r, ClipResult)}

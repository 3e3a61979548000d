"""`manage.py verify`: each kind of inconsistency made for real, reported (exit 1), repaired, then clean (exit 0);
and deleting an item or a collection at any stage of its ingest leaves nothing behind to find."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from apps.media.models import Collection, Keyframe, Photo, Status, Video
from apps.media.services import locks, storage
from apps.media.services.register import register_path
from apps.search import indexing, vectors
from apps.search.ids import keyframe_vector_id, photo_vector_id
from tests.conftest import session_database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
OLD = time.time() - 3600  # an hour ago: older than any --stuck-after used here


def verify(**options) -> tuple[int, dict]:
    """Run the command as --json; (exit status, report)."""
    out = io.StringIO()
    try:
        call_command("verify", json=True, stdout=out, stderr=io.StringIO(), **options)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    return code, json.loads(out.getvalue())


def text(**options) -> str:
    out = io.StringIO()
    try:
        call_command("verify", stdout=out, stderr=io.StringIO(), **options)
    except CommandError:
        pass
    return out.getvalue()


def strays_of(report: dict) -> dict[str, str]:
    """{root/path: reason} of every stray in a report."""
    found = [*report["strays"], *(s for c in report["collections"] for s in c["strays"])]
    return {f"{s['root']}/{s['path']}": s["reason"] for s in found}


def unit_vector(dim: int, seed: int) -> np.ndarray:
    vec = np.random.default_rng(seed).normal(size=(1, dim)).astype(np.float32)
    return vec / np.linalg.norm(vec)


def traces(root: Path, *names: str) -> list[str]:
    """Paths under the test's MEDIA_ROOT and INDEX_ROOT named ``names`` (or ``name.*``), and any .new/.tmp."""
    return sorted(str(p.relative_to(root)) for base in ("media", "indexes") for p in (root / base).rglob("*")
                  if p.name in names or p.name.split(".")[0] in names or p.suffix in (".new", ".tmp"))


def item_traces(root: Path, item: Video | Photo) -> list[str]:
    kind = "video" if isinstance(item, Video) else "photo"
    return traces(root, f"{kind}{item.pk}", f"{kind}-{item.pk}", Path(item.file.name).name)


@pytest.fixture
def indexed(storage_dirs, demo_media):
    """A collection with the demo video and three photos, ingested (tasks run in-process)."""
    video_path, _, photos = demo_media
    collection = Collection.objects.create(name="checked", embedder="testmodel")
    video = register_path(collection, video_path).item
    photo_items = [register_path(collection, path).item for path, _, _ in photos[:3]]
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    assert all(Photo.objects.get(pk=p.pk).status == Status.INDEXED for p in photo_items)
    return collection, video, photo_items


def test_a_collection_after_normal_ingest_verifies_clean(indexed, storage_dirs):
    collection, video, photos = indexed
    code, report = verify()
    assert code == 0 and report["ok"] and report["report"]["problems"] == 0
    (found,) = report["report"]["collections"]
    expected = video.keyframes.count() + len(photos)
    assert found["vectors"] == {**found["vectors"], "in_index": expected, "expected": expected, "missing": 0,
                                "orphaned": 0}
    assert found["unfinished"] == [] and found["strays"] == [] and report["report"]["strays"] == []
    assert "- ok" in text(collection="checked") and "consistent" in text()
    # the real exit status of the command line, both ways
    env = {**os.environ, "DATABASE_URL": session_database_url(),
           "VIDEOSEARCH_MEDIA_ROOT": str(storage_dirs / "media"), "VIDEOSEARCH_INDEX_ROOT": str(storage_dirs / "indexes")}
    clean = subprocess.run([sys.executable, "manage.py", "verify"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)
    assert clean.returncode == 0, clean.stderr
    (storage_dirs / "media" / "locks" / "video-987654.lock").touch()
    dirty = subprocess.run([sys.executable, "manage.py", "verify"], cwd=REPO, env=env, capture_output=True, text=True,
                           timeout=120)
    assert dirty.returncode == 1 and "lock file of deleted video 987654" in dirty.stdout
    assert "inconsistent: 1 problem(s)" in dirty.stderr


def test_orphaned_and_missing_vectors_are_found_and_repaired(indexed, client):
    collection, video, photos = indexed
    index = vectors.collection_index(collection)
    info = index.info()
    keyframes = list(video.keyframes.order_by("pk"))
    # an orphan keyframe vector, the vector of a photo that does not exist, one of a failed photo; a lost vector
    index.add(info.model_id, [keyframe_vector_id(10**9), photo_vector_id(10**9)],
              np.concatenate([unit_vector(info.dim, 1), unit_vector(info.dim, 2)]))
    Photo.objects.filter(pk=photos[0].pk).update(status=Status.FAILED, error="made up")
    index.remove([keyframe_vector_id(keyframes[3].pk)])

    code, report = verify(collection="checked")
    assert code == 1 and not report["ok"]
    vec = report["report"]["collections"][0]["vectors"]
    assert vec["missing"] == 1 and vec["missing_ids"] == [keyframe_vector_id(keyframes[3].pk)]
    assert vec["missing_items"] == [{"kind": "video", "id": video.pk, "name": video.original_name, "missing": 1}]
    assert vec["orphaned"] == 3 and set(vec["orphaned_ids"]) == {
        keyframe_vector_id(10**9), photo_vector_id(10**9), photo_vector_id(photos[0].pk)}
    assert vec["orphan_reasons"] == {"keyframe row is gone": 1, "photo row is gone": 1, "photo of a failed item": 1}
    assert "missing: 1 vector(s)" in text() and "orphaned: 3 vector(s)" in text()
    # the admin shows the same report, read-only
    page = client.get(f"/admin/media/collection/{collection.pk}/consistency/").content.decode()
    assert "4 problems" in page and "1 &times; photo of a failed item" in page
    assert f"video {video.pk} {video.original_name}</a>: 1" in page

    code, fixed = verify(collection="checked", repair=True)
    assert code == 0 and fixed["ok"] and fixed["after"]["ok"]
    assert fixed["repair"]["dropped_vectors"] == 3
    assert fixed["repair"]["requeued"] == [f"video {video.pk} (1 vector(s) missing)"]
    video.refresh_from_db()
    assert video.status == Status.INDEXED  # re-ingested (in-process): every keyframe has its vector again
    assert index.contains([keyframe_vector_id(kf.pk) for kf in video.keyframes.all()]) == {
        keyframe_vector_id(kf.pk) for kf in video.keyframes.all()}
    assert verify()[0] == 0


def test_stuck_items_are_requeued_and_running_ones_left_alone(indexed, settings):
    collection, video, photos = indexed
    old = timezone.now() - timedelta(hours=1)
    Photo.objects.filter(pk=photos[1].pk).update(status=Status.EMBEDDING, updated_at=old)
    Photo.objects.filter(pk=photos[2].pk).update(status=Status.QUEUED, updated_at=timezone.now())  # just queued
    Video.objects.filter(pk=video.pk).update(status=Status.DETECTING, updated_at=old)

    with locks.hold(storage.lock_path("video", video.pk)):  # an ingest of the video runs (a long one)
        code, report = verify(stuck_after=600)
    found = {(u["kind"], u["id"]): u for u in report["report"]["collections"][0]["unfinished"]}
    assert code == 1 and report["report"]["collections"][0]["stuck"] == 1
    assert found[("photo", photos[1].pk)]["stuck"] and found[("photo", photos[1].pk)]["age_s"] >= 3600
    assert not found[("photo", photos[2].pk)]["stuck"] and not found[("photo", photos[2].pk)]["running"]
    assert found[("video", video.pk)]["running"] and not found[("video", video.pk)]["stuck"]
    assert f"STUCK: photo {photos[1].pk}" in text(stuck_after=600)

    # a stuck photo whose file is gone can never finish: it is marked failed instead
    Photo.objects.filter(pk=photos[0].pk).update(status=Status.PROBING, updated_at=old)
    storage.absolute(photos[0].file.name).unlink()
    Video.objects.filter(pk=video.pk).update(status=Status.INDEXED)
    code, fixed = verify(repair=True, stuck_after=600)
    repair = fixed["repair"]
    assert repair["requeued"] == [f"photo {photos[1].pk} (stuck in embedding for 3600 s)"]
    assert repair["marked_failed"] == [f"photo {photos[0].pk} (stuck in probing for 3600 s)"]
    assert Photo.objects.get(pk=photos[1].pk).status == Status.INDEXED
    assert Photo.objects.get(pk=photos[0].pk).status == Status.FAILED
    # the failed photo's vector is now an orphan the same repair could not know of; the next one drops it
    assert code == 1 and fixed["after"]["collections"][0]["vectors"]["orphan_reasons"] == {"photo of a failed item": 1}
    code, again = verify(repair=True, stuck_after=600)
    assert code == 0 and again["repair"]["dropped_vectors"] == 1
    assert verify(stuck_after=600)[0] == 0


def test_stray_files_folders_temp_files_and_locks_are_found_and_removed(indexed, storage_dirs, client, anon_client):
    collection, video, photos = indexed
    media, index_root = storage_dirs / "media", storage_dirs / "indexes"
    c = collection.pk
    thumbs = media / storage.thumbnail_dir(c, "video", video.pk)
    made = {
        f"media/videos/c{c}/0123456789ab-lost.mp4": "stored file that no video refers to",
        f"media/thumbs/c{c}/video987654": "thumbnails of deleted video 987654",
        f"media/thumbs/c{c}/photo987654": "thumbnails of deleted photo 987654",
        f"media/thumbs/c{c}/video{video.pk}.new": f"staging folder of an ingest of video {video.pk} that no longer runs",
        f"media/thumbs/c{c}/video{video.pk}/999999999.jpg": f"thumbnail file that no row of video {video.pk} refers to",
        f"index/collection-{c}/.index.bin.abc123.tmp": "temp file of an index write that was killed",
        f"index/collection-{c}/log-0123456789abcdef.bin": "change log of a replaced index snapshot",
        "media/locks/video-987654.lock": "lock file of deleted video 987654",
        "media/locks/collection-987654.lock": "lock file of deleted collection 987654",
        "media/tmp/upload-k1ll3d": "temp file of an upload that never finished",
        "media/videos/c987654": "folder of deleted collection 987654",
        "media/thumbs/c987654": "folder of deleted collection 987654",
        "index/collection-987654": "index of deleted collection 987654",
    }
    for name in made:
        path = (media if name.startswith("media/") else index_root) / name.split("/", 1)[1]
        if path.suffix or path.name.startswith("upload-"):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"x")
        else:
            (path / "inside").mkdir(parents=True)
        os.utime(path, (OLD, OLD))
    # not strays: a fresh upload still arriving, a stored file younger than --stuck-after, and an ingest's
    # staging folder while it runs (its lock is held)
    (media / "tmp" / "upload-arriving").write_bytes(b"x")
    (media / f"videos/c{c}/0123456789ab-just-placed.mp4").write_bytes(b"x")
    photo_staging = media / storage.staging_dir(c, "photo", photos[0].pk)
    photo_staging.mkdir(parents=True)

    with locks.hold(storage.lock_path("photo", photos[0].pk)):
        code, report = verify()
        assert code == 1 and strays_of(report["report"]) == made
        page = client.get("/admin/media/collection/consistency/").content.decode()
        assert f"{len(made)} problems" in page and "<code>media/locks/video-987654.lock</code>" in page
        assert anon_client.get("/admin/media/collection/consistency/").status_code == 302  # to the login
        assert 'href="/admin/media/collection/consistency/"' in client.get("/admin/media/collection/").content.decode()
        assert f'href="/admin/media/collection/{collection.pk}/consistency/"' in client.get(
            f"/admin/media/collection/{collection.pk}/change/").content.decode()
        code, fixed = verify(repair=True)
        assert fixed["repair"]["removed_strays"] == len(made)
    assert code == 0 and strays_of(fixed["after"]) == {}
    for name in made:
        assert not ((media if name.startswith("media/") else index_root) / name.split("/", 1)[1]).exists(), name
    assert (media / "tmp" / "upload-arriving").exists() and photo_staging.is_dir()
    # the live item's own files are untouched and it is still found
    assert all(storage.absolute(kf.thumbnail.name).is_file() for kf in video.keyframes.all())
    assert (thumbs / "fingerprints.npz").is_file() and storage.is_stored(video.file.name)
    # with its ingest gone, the photo's staging folder is a stray too
    code, report = verify()
    assert code == 1 and list(strays_of(report["report"])) == [f"media/{storage.staging_dir(c, 'photo', photos[0].pk)}"]
    assert verify(repair=True)[0] == 0 and not photo_staging.exists()


class _DeletingEmbedder:
    """The real embedder, but ``delete`` runs right after it embedded (before the index write)."""

    def __init__(self, real, delete) -> None:
        self._real, self._delete = real, delete

    def __getattr__(self, name):
        return getattr(self._real, name)

    def encode_images(self, images):
        vectors_ = self._real.encode_images(images)
        self._delete()
        return vectors_


def delete_after_embedding(monkeypatch, delete) -> None:
    real = indexing.get_embedder
    monkeypatch.setattr(indexing, "get_embedder", lambda spec=None: _DeletingEmbedder(real(spec), delete))


def test_a_video_deleted_between_embedding_and_the_index_write_leaves_nothing(storage_dirs, demo_media, monkeypatch):
    video_path, _, photos = demo_media
    collection = Collection.objects.create(name="racing", embedder="testmodel")
    photo = register_path(collection, photos[0][0]).item  # something that stays
    delete_after_embedding(monkeypatch, lambda: Video.objects.filter(collection=collection).delete())
    video = register_path(collection, video_path).item
    assert not Video.objects.filter(pk=video.pk).exists() and not Keyframe.objects.exists()
    assert vectors.collection_index(collection).ids().tolist() == [photo_vector_id(photo.pk)]  # none of its ~50
    assert item_traces(storage_dirs, video) == []  # file, thumbnails, staging folder, lock
    code, report = verify()
    assert code == 0, report


def test_a_video_deleted_during_its_analysis_leaves_nothing(storage_dirs, demo_media, monkeypatch):
    video_path, _, _ = demo_media
    collection = Collection.objects.create(name="racing", embedder="testmodel")
    real = indexing.analyze_video

    def analyze_then_delete(*args, **kwargs):
        result = real(*args, **kwargs)  # the staging folder is full of keyframes now
        Video.objects.filter(collection=collection).delete()
        return result

    monkeypatch.setattr(indexing, "analyze_video", analyze_then_delete)
    video = register_path(collection, video_path).item
    assert not Video.objects.exists() and not Keyframe.objects.exists()
    assert vectors.collection_index(collection).info().count == 0
    assert item_traces(storage_dirs, video) == []
    assert verify()[0] == 0


def test_a_photo_deleted_during_its_batch_leaves_nothing_and_the_others_are_indexed(storage_dirs, demo_media,
                                                                                    monkeypatch):
    from apps.media.services.queue import photo_batches

    _, _, photos = demo_media
    collection = Collection.objects.create(name="racing", embedder="testmodel")
    doomed: list[int] = []
    delete_after_embedding(monkeypatch, lambda: Photo.objects.filter(pk__in=doomed).delete())
    with photo_batches():
        items = [register_path(collection, path).item for path, _, _ in photos[:3]]
        doomed.append(items[1].pk)
    assert [Photo.objects.get(pk=p.pk).status for p in (items[0], items[2])] == [Status.INDEXED, Status.INDEXED]
    assert sorted(vectors.collection_index(collection).ids().tolist()) == sorted(
        photo_vector_id(p.pk) for p in (items[0], items[2]))
    assert item_traces(storage_dirs, items[1]) == []
    assert verify()[0] == 0


def test_a_collection_deleted_mid_ingest_leaves_nothing(storage_dirs, demo_media, monkeypatch):
    video_path, _, photos = demo_media
    collection = Collection.objects.create(name="racing", embedder="testmodel")
    register_path(collection, photos[0][0])
    assert vectors.collection_index(collection).info().count == 1
    delete_after_embedding(monkeypatch, lambda: Collection.objects.filter(pk=collection.pk).delete())
    register_path(collection, video_path)
    assert not Collection.objects.exists() and not Video.objects.exists() and not Photo.objects.exists()
    assert traces(storage_dirs, f"c{collection.pk}", f"collection-{collection.pk}") == []
    assert not any((storage_dirs / "media" / "locks").iterdir())  # no item's lock, no collection's lock
    assert verify()[0] == 0


def test_a_delete_during_the_ingests_final_write_waits_for_it_then_removes_everything(storage_dirs, demo_media,
                                                                                    monkeypatch):
    """The other order, with real threads (own database connections): the ingest has checked that its video exists
    and is adding its vectors (inside the transaction that swaps its rows in) when the delete comes; the delete
    waits for that transaction, then takes the rows, and its cleanup drops the vectors and images."""
    import threading

    from django.db import connection as thread_connection

    from apps.media.services.deletion import delete_rows
    from apps.search.index import CollectionIndex

    video_path, _, _ = demo_media
    collection = Collection.objects.create(name="racing", embedder="testmodel")
    adding, go = threading.Event(), threading.Event()
    real_add = CollectionIndex.add

    def slow_add(self, model_id, ids, vecs):
        adding.set()
        assert go.wait(60)
        return real_add(self, model_id, ids, vecs)

    monkeypatch.setattr(CollectionIndex, "add", slow_add)
    registered: list[Video] = []
    errors: list[BaseException] = []

    def in_thread(work):
        def run():
            try:
                work()
            except BaseException as exc:
                errors.append(exc)
                raise
            finally:
                thread_connection.close()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    ingesting = in_thread(lambda: registered.append(register_path(collection, video_path).item))  # runs the ingest
    assert adding.wait(120)  # inside replace_keyframes: row checked and written, collection lock held
    deleting = in_thread(lambda: delete_rows(Video.objects.filter(collection=collection)))  # as the API, the admin
    time.sleep(0.5)
    assert deleting.is_alive() and Video.objects.exists(), errors  # the delete waits for the ingest's transaction
    go.set()
    ingesting.join(60)
    deleting.join(60)
    assert vectors.collection_index(collection).info().count == 0
    assert item_traces(storage_dirs, registered[0]) == []
    assert verify()[0] == 0

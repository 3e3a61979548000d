"""Photos added together are ingested in batches: one task, one embedding call and one index write per batch."""
from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from apps.media.models import Collection, IngestJob, Photo, Status
from apps.search.ids import photo_vector_id
from apps.search.index import CollectionIndex
from apps.search.indexing import run_photo_jobs
from apps.search.vectors import collection_index

from ..conftest import wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def album(demo_media, tmp_path):
    """Six good photos and two that are JPEG only by their first bytes (so they are stored, then fail)."""
    _, _, photos = demo_media
    root = tmp_path / "album-source"
    root.mkdir()
    for path, _, _ in photos:
        (root / path.name).symlink_to(path)
    (root / "garbled.jpg").write_bytes(b"\xff\xd8\xff" + b"this is not a picture" * 20)
    (root / "truncated.jpg").write_bytes(photos[0][0].read_bytes()[:300])
    return root


def count_index_writes(monkeypatch) -> list[int]:
    """Record the size of each CollectionIndex.add call (the real method still runs)."""
    calls: list[int] = []
    real_add = CollectionIndex.add

    def add(self, model_id, ids, vectors):
        calls.append(len(list(ids)))
        return real_add(self, model_id, ids, vectors)

    monkeypatch.setattr(CollectionIndex, "add", add)
    return calls


def test_a_folder_of_photos_is_embedded_and_indexed_in_batches(storage_dirs, settings, album, monkeypatch):
    settings.PHOTO_TASK_BATCH = 4
    writes = count_index_writes(monkeypatch)
    call_command("ingest", str(album), collection="album", model="testmodel", stdout=io.StringIO())
    photos = {p.original_name: p for p in Photo.objects.all()}
    assert {p.status for name, p in photos.items() if name not in {"garbled.jpg", "truncated.jpg"}} == {Status.INDEXED}
    assert photos["garbled.jpg"].status == Status.FAILED and photos["garbled.jpg"].error
    assert photos["truncated.jpg"].status == Status.FAILED and "truncated" in photos["truncated.jpg"].error
    # 8 files in sorted order, batches of 4: four good photos, then two good and the two bad ones
    # (which fail alone): two index writes for the 6 good photos, not 6
    assert writes == [4, 2]
    index = collection_index(Collection.objects.get(name="album"))
    good = {photo_vector_id(p.pk) for p in photos.values() if p.status == Status.INDEXED}
    assert index.info().count == len(good) == 6
    assert set(index.reconstruct(good)) == good


def test_running_a_finished_batch_again_changes_nothing(storage_dirs, settings, album, monkeypatch):
    call_command("ingest", str(album), collection="again", model="testmodel", stdout=io.StringIO())
    job_ids = list(IngestJob.objects.values_list("pk", flat=True))
    attempts = dict(IngestJob.objects.values_list("pk", "attempts"))
    writes = count_index_writes(monkeypatch)
    results = run_photo_jobs(job_ids)  # e.g. a redelivered task whose first run had finished
    assert sorted(set(results.values())) == [Status.FAILED, Status.INDEXED]
    assert writes == [] and dict(IngestJob.objects.values_list("pk", "attempts")) == attempts
    assert run_photo_jobs([10_000]) == {"10000": "missing"}


@pytest.mark.worker
def test_a_real_worker_ingests_a_batch_the_web_page_queues(client, celery_worker, demo_media):
    _, _, photos = demo_media
    celery_worker("w1")
    collection = Collection.objects.create(name="web-album", embedder="testmodel")
    handles = [open(path, "rb") for path, _, _ in photos]
    try:
        response = client.post(f"/collections/{collection.pk}/", {"files": handles})
    finally:
        for handle in handles:
            handle.close()
    assert response.status_code == 302
    job_ids = list(IngestJob.objects.values_list("pk", flat=True))
    assert len(job_ids) == len(photos)
    wait_for(lambda: IngestJob.objects.filter(status=Status.INDEXED).count() == len(photos),
             what="the worker to index the batch")
    assert collection_index(collection).info().count == len(photos)

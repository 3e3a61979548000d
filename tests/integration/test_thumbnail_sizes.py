"""Keyframes get a small copy at ingest, which the result grid offers in ``srcset`` (a screen of ordinary
density loads about half the bytes); the copies count as the keyframes' own files, not strays; media access
rules hold for them; thumbnails ingested before there were copies are shown as before."""
from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote, urlparse

import pytest
from PIL import Image

from apps.media.models import Collection, Status
from apps.media.services import storage, thumbnails
from apps.media.services.register import register_path
from apps.media.services.strays import item_strays

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]  # jobs run on commit


@pytest.fixture
def ingested(storage_dirs, demo_media):
    video_path, segments, _ = demo_media
    collection = Collection.objects.create(name="sizes", embedder="testmodel")
    video = register_path(collection, video_path).item
    video.refresh_from_db()
    assert video.status == Status.INDEXED
    return collection, video, segments


def test_every_keyframe_has_a_small_copy_that_is_not_a_stray(ingested):
    collection, video, _ = ingested
    keyframes = list(video.keyframes.all())
    assert keyframes
    for kf in keyframes:
        with Image.open(storage.absolute(kf.thumbnail.name)) as full, \
                Image.open(storage.absolute(thumbnails.small_name(kf.thumbnail.name))) as small:
            assert full.width > thumbnails.SMALL_WIDTH and small.width == thumbnails.SMALL_WIDTH
            assert abs(small.height - full.height * thumbnails.SMALL_WIDTH / full.width) <= 1
    assert item_strays(collection.pk, "video", video.pk) == []

    orphan = thumbnails.small_name(keyframes[0].thumbnail.name).replace(".w", "9.w")  # a copy of no keyframe
    storage.absolute(orphan).write_bytes(b"x")
    assert [s.absolute.name for s in item_strays(collection.pk, "video", video.pk)] == [orphan.rsplit("/", 1)[1]]


def test_result_grid_offers_the_small_copy_to_those_who_may_see_it(ingested, client, anon_client):
    collection, video, segments = ingested
    page = client.get(f"/?collection={collection.pk}&q={quote(segments[0].caption_en)}").content.decode()
    offers = re.findall(r'srcset="([^"]+)" sizes="([^"]+)"', page)
    assert offers, "no result picture offers a srcset"
    for srcset, sizes in offers:
        (small, small_w), (full, full_w) = (part.split() for part in unescape(srcset).split(", "))
        assert small == thumbnails.small_name(full) and small_w == "320w" and int(full_w[:-1]) > 320
        assert sizes.endswith("px")
    small_path = urlparse(small).path
    answer = client.get(small_path)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/jpeg"
    assert anon_client.get(small_path).status_code == 404  # a private collection's picture, like the keyframe's

    for kf in video.keyframes.all():  # ingested before there were small copies: the src alone, as before
        storage.absolute(thumbnails.small_name(kf.thumbnail.name)).unlink()
    page = client.get(f"/?collection={collection.pk}&q={quote(segments[0].caption_en)}").content.decode()
    assert 'class="result clip' in page and "srcset=" not in page

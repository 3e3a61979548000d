"""The web page in a real headless Chromium: search by text, see clips, click one, the video plays from its start."""
from __future__ import annotations

import pytest

from apps.media.models import Collection
from apps.media.services.register import register_path

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_search_page_finds_and_plays_a_moment(live_server, storage_dirs, signed_in_page, demo_media):
    video_path, segments, _ = demo_media
    collection = Collection.objects.create(name="street", embedder="testmodel")
    register_path(collection, video_path)
    page = signed_in_page
    page.goto(f"{live_server.url}/?collection={collection.pk}")
    target = segments[1]
    page.fill("#q", target.caption_ru)
    page.click("#search-button")
    page.wait_for_selector(".result.clip")
    first = page.locator(".result.clip").first
    start, end = float(first.get_attribute("data-start")), float(first.get_attribute("data-end"))
    assert abs(start - target.start) < 0.5 and abs(end - target.end) < 0.5
    assert "embedded" in page.inner_text("#summary")
    page.screenshot(path=str(storage_dirs / "search.png"))

    first.locator(".play").click()
    page.wait_for_selector("#player-dialog[open]")
    page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=20_000)
    page.wait_for_function(
        f"document.getElementById('player').currentTime >= {start - 0.05}", timeout=20_000
    )
    current = page.evaluate("document.getElementById('player').currentTime")
    assert start - 0.05 <= current <= end + 0.5

    page.goto(f"{live_server.url}/collections/{collection.pk}/")
    assert page.locator("#grid .card[data-kind=video][data-status='indexed']").count() == 1

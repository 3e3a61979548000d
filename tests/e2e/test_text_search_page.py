"""Words in the footage on the search page, in headless Chromium under the Content-Security-Policy: a quoted
query lists the matched words under the result and outlines their boxes where they stand on its thumbnail."""
from __future__ import annotations

import pytest

from analysis.timed_text import TimedText, WordBox
from apps.media.models import Collection, TextSource
from apps.media.services.register import register_path
from apps.media.services.text_spans import replace_spans
from tests.e2e.helpers import wait_until
from tests.e2e.test_content_security_policy import Watch

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_matched_words_and_their_boxes_on_the_thumbnail(live_server, storage_dirs, csp_browser_page, demo_media):
    collection = Collection.objects.create(name="signs", embedder="testmodel", public=True)
    video = register_path(collection, demo_media[0]).item
    boxes = (WordBox("EXlT", 0.25, 0.50, 0.20, 0.10, 80.0), WordBox("23", 0.50, 0.50, 0.10, 0.10, 90.0))
    replace_spans(video, TextSource.SCREEN, [TimedText(12.0, 14.0, "EXlT 23", "eng", "ocr", boxes=boxes)])
    page = csp_browser_page
    watch = Watch(page)
    watch.visit(f"{live_server.url}/?collection={collection.pk}")
    page.fill("#q", '"exit 23"')
    page.click("#search-button")
    page.wait_for_selector(".result.clip .word-box")
    result = page.locator(".result.clip").first
    assert result.locator(".matched-words mark").all_inner_texts() == ["EXlT", "23"]
    assert "on screen" in result.locator(".text-match .when").inner_text()
    thumb = result.locator(".thumb img").bounding_box()
    first = result.locator(".word-box").first.bounding_box()
    assert abs(first["x"] - (thumb["x"] + 0.25 * thumb["width"])) < 3, (first, thumb)
    assert abs(first["y"] - (thumb["y"] + 0.50 * thumb["height"])) < 3, (first, thumb)
    assert abs(first["width"] - 0.20 * thumb["width"]) < 3 and abs(first["height"] - 0.10 * thumb["height"]) < 3
    watch.assert_clean("search page with words")

    watch.visit(f"{live_server.url}/videos/{video.pk}/")
    row = page.locator("#video-words tr.span").first
    assert "EXlT 23" in row.inner_text()
    row.locator("a[data-play]").click()
    wait_until(page, "document.getElementById('player').readyState >= 1 && document.getElementById('player').currentTime >= 11.7")
    watch.assert_clean("video page with words")

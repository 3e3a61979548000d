"""Switch the interface to Russian in a real headless Chromium (under the site's Content-Security-Policy):
the header's switch, then the page, its plural forms and the scripts' words are Russian; and back."""
from __future__ import annotations

import shutil
import subprocess
from urllib.parse import urlencode

import pytest

from apps.media.models import Collection
from apps.media.services.register import register_path

from .helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_switch_to_russian_and_back(live_server, storage_dirs, csp_browser_page, demo_media):
    video_path, segments, _ = demo_media
    collection = Collection.objects.create(name="street", embedder="testmodel", public=True)  # seen signed out
    # the demo video and a copy with other bytes (so not a duplicate): 2 videos, 8 clips in all
    copy = storage_dirs / "copy.mp4"
    subprocess.run([shutil.which("ffmpeg"), "-v", "error", "-i", str(video_path), "-c", "copy", "-metadata",
                    "title=copy", str(copy)], check=True)
    register_path(collection, video_path)
    register_path(collection, copy)
    page = csp_browser_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))

    def search(top_k: int) -> None:
        # every clip of the video is returned (the weaker ones below the matches), so top_k is the count shown
        query = urlencode({"collection": collection.pk, "q": segments[1].caption_en, "top_k": top_k})
        page.goto(f"{live_server.url}/?{query}")
        page.wait_for_selector(".result.clip")

    # Chromium asks for English (Playwright's default locale, en-US): the page is English
    search(top_k=2)
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#result-counts") == "2 clips"
    assert page.locator("#language-switch button[value=en]").get_attribute("aria-pressed") == "true"

    # the switch in the header, by keyboard: focus "Русский", press Enter
    russian = page.locator("#language-switch button[value=ru]")
    assert russian.inner_text() == "Русский" and russian.get_attribute("lang") == "ru"
    russian.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(".result.clip")  # back on the same search
    assert page.get_attribute("html", "lang") == "ru"
    assert page.inner_text("#result-counts") == "2 клипа"
    assert "мс · модель" in page.inner_text("#summary")
    header = page.inner_text("header")
    assert "Поиск" in header and "Коллекции" in header and "Войти" in header and "Search" not in header
    first = page.locator(".result.clip").first
    assert first.locator(".like").inner_text() == "похожие"
    assert "релевантность" in first.inner_text()
    assert page.locator("#search-button").inner_text() == "Поиск"
    # the scripts' words come from the page's JSON data block: the "why?" heat map's caption
    first.locator(".explain").click()
    wait_until(page, "document.getElementById('player-dialog').open")
    assert page.inner_text("#player-caption") == "Где кадр соответствует запросу (красный — сильнее всего)"
    page.keyboard.press("Escape")

    # the choice stays (a cookie) for the next pages, and the plural forms follow the count
    search(top_k=5)
    assert page.inner_text("#result-counts") == "5 клипов"
    search(top_k=1)
    assert page.inner_text("#result-counts") == "1 клип"
    by_video = {"collection": collection.pk, "q": segments[1].caption_ru, "top_k": 5, "group_by": "video"}
    page.goto(f"{live_server.url}/?{urlencode(by_video)}")
    page.wait_for_selector(".result.video")
    assert page.inner_text("#result-counts").startswith("2 видео, ")
    moments = page.locator(".result.video .count").first.inner_text()
    assert moments.split()[1] == {1: "момент", 2: "момента", 3: "момента", 4: "момента"}.get(int(moments.split()[0]), "моментов")

    # and back to English
    with page.expect_navigation():
        page.click("#language-switch button[value=en]")
    page.wait_for_selector(".result.video")
    assert page.get_attribute("html", "lang") == "en" and page.inner_text("#result-counts").startswith("2 videos, ")
    assert errors == []

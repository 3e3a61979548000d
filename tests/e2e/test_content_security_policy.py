"""Every page under the strict Content-Security-Policy, in headless Chromium: nothing is refused, and
what the scripts do (play from a heat strip, explain, poll while ingesting, the admin) still works.

A refused inline script, style attribute or resource fires a `securitypolicyviolation` event and logs a
console error; both are collected on every page. A control at the start shows the collecting works.
"""
from __future__ import annotations

import pytest

from apps.media.models import Collection, Video
from apps.media.services.register import register_path
from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

COLLECT_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample}`));
"""
PLAYER_TIME = "document.getElementById('player').currentTime"


class Watch:
    """Console errors and CSP violations of the pages visited, checked page by page."""

    def __init__(self, page) -> None:
        self.page = page
        self.console: list[str] = []
        page.add_init_script(COLLECT_VIOLATIONS)
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.console.append(str(e)))

    def _console(self, message) -> None:
        # the admin's pages have no icon of their own: the browser's /favicon.ico 404 is no page's doing
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.console.append(message.text)

    def visit(self, url: str) -> None:
        response = self.page.goto(url)
        assert response.ok, (url, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"], url
        self.page.wait_for_load_state("load")

    def violations(self) -> list[str]:
        found = self.page.evaluate("window.__violations") + self.console
        self.console.clear()
        return found

    def assert_clean(self, where: str) -> None:
        found = self.violations()
        assert not found, (where, found)


def _wait_playing_from(page, second: float) -> float:
    wait_until(page, f"document.getElementById('player').readyState >= 1 && {PLAYER_TIME} >= {second - 0.3}")
    return float(page.evaluate(PLAYER_TIME))


def test_pages_run_under_the_policy(live_server, storage_dirs, csp_browser_page, demo_media, django_user_model):
    video_path, segments, photos = demo_media
    collection = Collection.objects.create(name="street", embedder="testmodel", public=True)  # seen signed out
    video = register_path(collection, video_path).item
    register_path(collection, photos[0][0])
    page = csp_browser_page
    watch = Watch(page)
    target = segments[3]

    # control: an inline style and an inline script are refused and seen
    watch.visit(f"{live_server.url}/collections/")
    page.evaluate("""document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
                     const s = document.createElement("script"); s.textContent = "window.ran = 1"; document.body.append(s);""")
    wait_until(page, "window.__violations.length >= 2", timeout=5_000)
    assert page.evaluate("window.ran") is None
    assert {v.split()[0] for v in watch.violations()} >= {"style-src-attr", "script-src-elem"}

    # the search page: results with heat strips, outlines placed by SVG attributes, playing from the strip
    watch.visit(f"{live_server.url}/?collection={collection.pk}")
    page.fill("#q", target.caption_en)
    page.click("#search-button")
    page.wait_for_selector(".result.clip .heat-strip")
    strip = page.locator(".result.clip .heat-strip").first
    strip.scroll_into_view_if_needed()
    track = strip.locator(".heat-track").bounding_box()
    duration = float(strip.get_attribute("data-duration"))
    moment = strip.locator(".moment").first
    start, end = float(moment.get_attribute("data-start")), float(moment.get_attribute("data-end"))
    outline = moment.locator(".line").bounding_box()
    assert abs(outline["x"] - (track["x"] + track["width"] * start / duration)) < 3, (outline, track, start)
    assert abs(outline["width"] - track["width"] * (end - start) / duration) < 3 + track["width"] * 0.008
    assert outline["height"] > track["height"]  # reaches past the track above and below

    second = target.start + 2.0
    page.mouse.click(track["x"] + track["width"] * second / duration, track["y"] + track["height"] / 2)
    page.wait_for_selector("#player-dialog[open]")
    assert second - 0.3 <= _wait_playing_from(page, second) <= second + 1.5
    page.click("#player-dialog button")
    moment.focus()
    page.keyboard.press("Enter")  # the moment's link plays here, it does not navigate to the file
    assert start - 0.3 <= _wait_playing_from(page, start) <= start + 1.5
    assert page.url.startswith(f"{live_server.url}/")
    page.click("#player-dialog button")

    page.locator(".result.clip .explain").first.click()  # "why?": the heat map image from the API
    wait_until(page, "document.getElementById('heatmap').complete && document.getElementById('heatmap').naturalWidth > 0")
    page.click("#player-dialog button")
    page.check("input[name=group_by][value=video]")
    page.wait_for_selector("#results[data-group-by=video] .result.video .heat-strip")
    video_page = page.locator(".result.video .video-link").first.get_attribute("href")
    watch.assert_clean("search page")

    # the video page from a result: its strip and shots play in the inline player
    watch.visit(live_server.url + video_page)
    page.wait_for_selector("#search-strip .heat-strip .moment")
    page.locator("#filmstrip .frame").nth(3).click()
    wait_until(page, "document.getElementById('player').readyState >= 1")
    watch.assert_clean("video page")

    # collection pages; while an item is being ingested the page polls its cards (a static script), never reloading
    watch.visit(f"{live_server.url}/collections/")
    watch.visit(f"{live_server.url}/collections/{collection.pk}/")
    assert page.locator("#grid .card[data-kind=photo] img").first.evaluate("img => img.complete && img.naturalWidth > 0")
    wait_until(page, "document.getElementById('index-size').dataset.vectors > 0")  # read from the collections API
    watch.assert_clean("collection pages")
    waiting = Collection.objects.create(name="waiting", embedder="testmodel", public=True)
    Video.objects.create(collection=waiting, file="videos/none.mp4", original_name="none.mp4", sha256="0" * 64)
    watch.visit(f"{live_server.url}/collections/{waiting.pk}/")
    page.evaluate("window.stillHere = true")
    for _ in range(2):
        with page.expect_response(lambda r: "/cards/?video=" in r.url and r.status == 200, timeout=10_000):
            pass  # a poll every 1.5 s while the item is queued
    assert page.evaluate("window.stillHere") is True  # no reload
    watch.assert_clean("a collection being ingested")

    # the admin: sign in (a form posted to 'self'), lists with thumbnails, a change form
    django_user_model.objects.create_superuser("admin", "admin@example.org", "pw-for-the-test")
    watch.visit(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "pw-for-the-test")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    for path in ("/admin/", "/admin/media/video/", "/admin/media/photo/", f"/admin/media/video/{video.pk}/change/",
                 "/admin/media/keyframe/"):
        watch.visit(live_server.url + path)
    watch.assert_clean("admin")

    # DRF's browsable API (its inline styles are allowed there, inline scripts are not)
    for path in ("/api/", "/api/collections/", f"/api/videos/{video.pk}/"):
        watch.visit(live_server.url + path)
    watch.assert_clean("browsable API")

"""Moments on the web page, in headless Chromium: heat strips, "by video", paging and the video page.

Two videos: the demo video and the demo video played twice in a row (every scene occurs twice,
35 s apart). What the page shows is checked from the DOM and, for the heat strip, from the
pixels of a screenshot: a gradient is drawn, bright where the query's scene is, and the matching
moments are outlined. Clicking the strip must play from the clicked second.
"""
from __future__ import annotations

import io
import statistics
import subprocess
from pathlib import Path
from urllib.parse import urlencode

import pytest
from PIL import Image

from apps.media.models import Collection, Video
from apps.media.services.register import register_path
from apps.search.temporal import temporal_iou

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

PLAYER_TIME = "document.getElementById('player').currentTime"


@pytest.fixture
def two_videos(storage_dirs, demo_media, tmp_path) -> tuple[Collection, Video, Video, list]:
    """(collection, demo video, demo video twice, demo segments), ingested."""
    video_path, segments, _ = demo_media
    twice_path = tmp_path / "twice.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "1", "-i", str(video_path), "-c", "copy",
                    str(twice_path)], check=True, timeout=60)
    collection = Collection.objects.create(name="street", embedder="testmodel")
    once = register_path(collection, video_path).item
    twice = register_path(collection, twice_path).item
    once.refresh_from_db()
    twice.refresh_from_db()
    assert once.status == twice.status == "indexed"
    return collection, once, twice, segments


def _luminance(rgb: tuple[int, ...]) -> float:
    r, g, b = rgb[:3]
    return 0.299 * r + 0.587 * g + 0.114 * b


def _is_outline(rgb: tuple[int, ...]) -> bool:
    """A moment's border: white, or cyan for the result's own moment. No heat colour has that much blue
    (the ramp ends at #ffe14d) nor cyan's lack of red."""
    r, g, b = rgb[:3]
    return min(r, g, b) >= 225 or (r < 80 and g > 200 and b > 225)


def _seconds(page, expression: str) -> float:
    return float(page.evaluate(expression))


def _wait_player_at(page, second: float, timeout: float = 20_000) -> float:
    """Wait until the player has loaded and reached ``second``; return its time then."""
    page.wait_for_selector("#player-dialog[open]")
    try:
        page.wait_for_function("document.getElementById('player').readyState >= 1", timeout=timeout)
        page.wait_for_function(f"{PLAYER_TIME} >= {second - 0.3}", timeout=timeout)
    except Exception as exc:
        state = page.evaluate("(p => ({src: p.currentSrc, time: p.currentTime, ready: p.readyState, paused: p.paused, "
                              "error: p.error && p.error.message, duration: p.duration}))(document.getElementById('player'))")
        raise AssertionError(f"the player did not reach {second} s: {state}") from exc
    return _seconds(page, PLAYER_TIME)


def _close_player(page) -> None:
    page.click("#player-dialog button")
    page.wait_for_selector("#player-dialog:not([open])", state="attached")


def test_heat_strips_by_video_paging_and_the_video_page(live_server, two_videos, signed_in_page, tmp_path):
    collection, once, twice, segments = two_videos
    target = segments[3]  # the boat on water, 17-24 s (and 52-59 s in the twice video)
    page = signed_in_page
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # --- clip view: each clip has its video's heat strip ---
    page.goto(f"{live_server.url}/?collection={collection.pk}")
    page.fill("#q", target.caption_en)
    page.click("#search-button")
    page.wait_for_selector(".result.clip .heat-strip")
    clips = page.locator(".result.clip")
    assert clips.count() >= 3
    assert page.locator(".result.clip .heat-strip").count() == clips.count()

    # the strip of the demo video's best clip, read from the DOM and from a screenshot
    once_clip = page.locator(f".result.clip[data-video-id='{once.pk}']").first
    strip = once_clip.locator(".heat-strip")
    strip.scroll_into_view_if_needed()
    duration = float(strip.get_attribute("data-duration"))
    assert abs(duration - once.duration) < 0.1
    moments = [(float(m.get_attribute("data-start")), float(m.get_attribute("data-end")))
               for m in strip.locator(".moment").all()]
    assert moments == sorted(moments)
    assert any(temporal_iou(m, (target.start, target.end)) >= 0.5 for m in moments), moments
    assert strip.locator(".moment.current").count() == 1
    video_page = once_clip.locator(".video-link").get_attribute("href")

    page.screenshot(path=str(tmp_path / "search-clips.png"), full_page=True)
    shot = Image.open(io.BytesIO(strip.screenshot(path=str(tmp_path / "heat-strip.png")))).convert("RGB")
    strip_box, track_box = strip.bounding_box(), strip.locator(".heat-track").bounding_box()
    scale = shot.width / strip_box["width"]

    def x_of(second: float) -> int:
        return round((track_box["x"] - strip_box["x"] + track_box["width"] * second / duration) * scale)

    mid_y = round((track_box["y"] - strip_box["y"] + track_box["height"] / 2) * scale)
    row = [shot.getpixel((x, mid_y)) for x in range(x_of(0) + 1, x_of(duration) - 1)]
    heat = [px for px in row if not _is_outline(px)]
    assert len(set(heat)) >= 4, "the strip is (nearly) uniform: no heat gradient drawn"
    assert statistics.pstdev(_luminance(px) for px in heat) > 15

    def mean_luminance(start: float, end: float) -> float:
        xs = range(x_of(start) + 4, x_of(end) - 4)
        return statistics.mean(_luminance(shot.getpixel((x, mid_y))) for x in xs if not _is_outline(shot.getpixel((x, mid_y))))

    inside = mean_luminance(target.start, target.end)
    others = [mean_luminance(s.start, s.end) for s in segments if s is not target]
    assert inside > max(others) + 20, (inside, others)  # bright where the query's scene is
    for start, end in moments:  # each moment is outlined: white columns at its left and right edges
        for edge in (x_of(start), x_of(end)):
            column = [shot.getpixel((x, mid_y)) for x in range(max(edge - 3, 0), min(edge + 3, shot.width))]
            assert any(_is_outline(px) for px in column), (start, end, column)

    # a click on the strip plays this video from the clicked second
    second = target.start + 2.5
    page.mouse.click(track_box["x"] + track_box["width"] * second / duration, track_box["y"] + track_box["height"] / 2)
    reached = _wait_player_at(page, second)
    assert second - 0.3 <= reached <= second + 1.5, reached
    assert once.file.name.split("/")[-1] in page.evaluate("document.getElementById('player').currentSrc")
    _close_player(page)

    # the moments are keyboard-operable: focus one, press Enter, it plays from its start
    moment = strip.locator(".moment").first
    moment.focus()
    page.keyboard.press("Enter")
    reached = _wait_player_at(page, moments[0][0])
    assert moments[0][0] - 0.3 <= reached <= moments[0][0] + 1.5, reached
    _close_player(page)

    # --- by video: each video once, its moments as chips in time order ---
    page.check("input[name=group_by][value=video]")  # switching the view repeats the search
    page.wait_for_selector("#results[data-group-by=video] .result.video")
    entries = page.locator(".result.video")
    ids = [e.get_attribute("data-video-id") for e in entries.all()]
    assert sorted(ids) == sorted({str(once.pk), str(twice.pk)}), ids
    twice_entry = page.locator(f".result.video[data-video-id='{twice.pk}']")
    chips = [(float(c.get_attribute("data-start")), float(c.get_attribute("data-end")))
             for c in twice_entry.locator(".chip").all()]
    assert chips == sorted(chips) and len(chips) >= 2
    for k in (0, 1):  # both occurrences of the scene are moments of the twice video
        occurrence = (target.start + k * once.duration, target.end + k * once.duration)
        assert any(temporal_iou(c, occurrence) >= 0.5 for c in chips), (occurrence, chips)
    assert entries.locator(".heat-strip").count() == entries.count()
    twice_entry.locator(".chip .play").nth(1).click()
    reached = _wait_player_at(page, chips[1][0])
    assert chips[1][0] - 0.3 <= reached <= chips[1][1] + 0.5
    _close_player(page)
    page.screenshot(path=str(tmp_path / "search-by-video.png"), full_page=True)

    # --- paging: the next page shows the next results, same view and page size ---
    query = urlencode({"collection": collection.pk, "q": target.caption_en, "group_by": "clip", "top_k": 2})
    page.goto(f"{live_server.url}/?{query}")

    def shown() -> list[tuple[str, str]]:
        return [(c.get_attribute("data-video-id"), c.get_attribute("data-start")) for c in page.locator(".result.clip").all()]

    page_one = shown()
    assert len(page_one) == 2 and page.locator(".paging .previous").count() == 0
    page.click(".paging .next")
    page.wait_for_selector(".paging .previous")
    page_two = shown()
    assert len(page_two) == 2 and not set(page_two) & set(page_one), (page_one, page_two)
    assert page.inner_text(".paging .position").startswith("3–4 of")
    assert "top_k=2" in page.get_attribute(".paging .previous", "href")
    page.click(".paging .previous")
    page.wait_for_selector(".paging .next")
    assert shown() == page_one

    # --- the video page, from a result: metadata, the same strip, shots that play ---
    assert video_page.startswith(f"/videos/{once.pk}/?") and "q=" in video_page
    page.goto(live_server.url + video_page)
    assert page.inner_text("#meta-size") == f"{once.width} × {once.height}"
    assert once.codec in page.inner_text("#meta-codec") and "fps" in page.inner_text("#meta-fps")
    assert "0:35" in page.inner_text("#meta-duration")
    video_strip = page.locator("#search-strip .heat-strip")
    assert [(float(m.get_attribute("data-start")), float(m.get_attribute("data-end")))
            for m in video_strip.locator(".moment").all()] == moments
    shots = page.locator("#filmstrip .shot")
    assert shots.count() == len(segments)
    assert page.inner_text("#meta-rotation") == "none" and page.inner_text("#meta-file-size")
    history = page.locator("#job-history tbody tr")  # one ingest, with its counts, one attempt, no reason
    assert history.count() == 1
    keyframes = once.keyframes.count()
    assert history.locator(".status").inner_text() == f"indexed {keyframes}/{keyframes} keyframes"
    assert history.locator(".attempts").inner_text() == "1" and history.locator(".reason").inner_text() == "–"
    first = page.locator("#filmstrip .frame img").first  # sized before it loads, at its real size
    first.evaluate("img => img.complete || new Promise(done => img.addEventListener('load', done))")
    natural, box = first.evaluate("img => [[img.naturalWidth, img.naturalHeight], "
                                  "[+img.getAttribute('width'), +img.getAttribute('height')]]")
    assert natural == box and first.get_attribute("loading") is None
    shown = first.bounding_box()  # still drawn in the filmstrip's 16:9 box, not stretched to the attributes
    assert abs(shown["height"] / shown["width"] - 9 / 16) < 0.05, shown
    assert page.locator("#filmstrip .frame img").last.get_attribute("loading") == "lazy"
    frame = shots.nth(4).locator(".frame").first
    frame_time = float(frame.get_attribute("data-start"))
    assert segments[4].start <= frame_time < segments[4].end
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    frame.click()  # the player seeks to the frame's time (and comes into view)
    page.wait_for_function("(p => p.readyState >= 1 && !p.seeking && "
                           f"Math.abs(p.currentTime - {frame_time}) < 0.5)(document.getElementById('player'))",
                           timeout=20_000)
    assert page.evaluate("(p => { const r = p.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; })"
                         "(document.getElementById('player'))")
    page.screenshot(path=str(tmp_path / "video-page.png"), full_page=True)

    page.goto(f"{live_server.url}/collections/{collection.pk}/")
    assert page.locator(f"#grid a[href='/videos/{once.pk}/']").count() == 1
    assert not problems, problems
    assert Path(tmp_path / "heat-strip.png").stat().st_size > 0

"""The collection page in headless Chromium under the site's Content-Security-Policy: two videos dropped on it
are sent with a progress bar each, then ingested by a real Celery worker (through a real Redis) while the page
shows each one's stage, until "indexed", without reloading; the cards, their controls and the keyboard."""
from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.media.models import Collection, CollectionShare, IngestJob, Status, Video
from tests.conftest import free_port, reset_connections
from tests.e2e.helpers import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

#: Everything the upload rows and cards showed, in order, collected in the page as it changes.
RECORD_STAGES = """
window.__seen = {};
const note = (key, text) => { const list = (window.__seen[key] = window.__seen[key] || []);
  if (list[list.length - 1] !== text) list.push(text); };
new MutationObserver(() => {
  for (const row of document.querySelectorAll('#upload-list .upload')) {
    const name = row.querySelector('.upload-name').textContent;
    note('row ' + name, (row.dataset.status || '') + ' | ' + row.querySelector('.stage').textContent);
    note('sent ' + name, row.querySelector('.sent').textContent);
  }
  for (const card of document.querySelectorAll('#grid .card')) {
    note('card ' + card.querySelector('.card-name').textContent, card.dataset.status);
  }
}).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
"""

DROP = """([files, zone]) => {
  const transfer = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.data), (c) => c.charCodeAt(0));
    transfer.items.add(new File([bytes], f.name, {type: f.type}));
  }
  const target = document.querySelector(zone);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    const event = new DragEvent(type, {bubbles: true, cancelable: true, dataTransfer: transfer});
    target.dispatchEvent(event);
    if (type === 'dragover') window.__dragoverAccepted = event.defaultPrevented;
  }
}"""


def make_clip(path: Path, source: str) -> Path:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-pix_fmt", "yuv420p",
                    "-c:v", "libx264", "-preset", "ultrafast", str(path)], check=True, timeout=60)
    return path


def sign_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])


def test_two_videos_dropped_show_their_upload_then_their_stages_until_indexed(
        live_server, celery_worker, csp_browser_page, tmp_path):
    celery_worker("w1")  # ingestion happens there, after the upload answered
    users = get_user_model().objects
    owner, writer = users.create_user("olga", password="x"), users.create_user("wim", password="x")
    collection = Collection.objects.create(name="drops", embedder="testmodel", owner=owner)
    CollectionShare.objects.create(collection=collection, user=writer, can_write=True)  # no staff rights
    clips = [make_clip(tmp_path / "bars.mp4", "smptebars=duration=6:size=320x180:rate=25"),
             make_clip(tmp_path / "pattern.mp4", "testsrc=duration=6:size=320x180:rate=25")]
    page = csp_browser_page
    sign_in(page, live_server, writer)
    page.goto(f"{live_server.url}/collections/{collection.pk}/")
    assert page.locator("#grid .card").count() == 0
    page.evaluate("window.__samePage = 'not reloaded'")
    page.evaluate(RECORD_STAGES)

    files = [{"name": clip.name, "type": kind, "data": base64.b64encode(clip.read_bytes()).decode()}
             for clip, kind in zip(clips, ("video/mp4", ""))]  # a browser gives no type for some files: content decides
    page.evaluate(DROP, [files, "#upload"])
    assert page.evaluate("window.__dragoverAccepted") is True  # the zone takes the drop (the browser would open it)

    # each file's bar of bytes sent reaches 100%
    wait_until(page, "document.querySelectorAll('#upload-list .upload[data-sent=\"100\"]').length === 2", timeout=30_000)
    for clip in clips:
        row = page.locator("#upload-list .upload", has_text=clip.name)
        assert row.locator("progress").evaluate("bar => bar.value") == 100
        assert row.locator(".sent").inner_text() == "100%"

    # then the stages advance, polled, until both are indexed, rows and cards alike
    try:
        wait_until(page, """document.querySelectorAll('#upload-list .upload[data-status="indexed"]').length === 2
                            && document.querySelectorAll('#grid .card[data-status="indexed"]').length === 2""",
                   timeout=120_000)
    except AssertionError:
        print("uploads:", page.inner_html("#upload-list"), "grid:", page.inner_html("#grid"), "seen:",
              page.evaluate("window.__seen"), "rows:", list(Video.objects.values("original_name", "status", "error")),
              "worker log:", (tmp_path / "worker-w1.log").read_text()[-3000:], sep="\n")
        raise
    assert page.evaluate("window.__samePage") == "not reloaded"
    seen = page.evaluate("window.__seen")
    print("\nwhat the page showed:", *(f"{k}: {v}" for k, v in sorted(seen.items())), sep="\n  ")
    for clip in clips:
        rows = seen[f"row {clip.name}"]
        assert rows[-1] == "indexed | indexed", rows
        assert any(s.split(" | ")[0] in ("queued", "probing", "detecting", "embedding") for s in rows[:-1]), rows
        cards = seen[f"card {clip.name}"]
        assert cards[-1] == "indexed" and len(cards) >= 2, cards  # it was shown at an earlier stage first
        assert seen[f"sent {clip.name}"][-1] == "100%"
    assert sorted(Video.objects.filter(collection=collection, status=Status.INDEXED).values_list("original_name", flat=True)) \
        == sorted(clip.name for clip in clips)

    # the new cards carry their poster and link, the index size follows, and polling has stopped
    card = page.locator("#grid .card", has_text="bars.mp4")
    wait_until(page, "document.querySelector('#grid .card img') && [...document.querySelectorAll('#grid .card img')]"
                     ".every(img => img.complete && img.naturalWidth > 0)", timeout=10_000)
    video = Video.objects.get(collection=collection, original_name="bars.mp4")
    assert card.locator(".card-link").get_attribute("href") == f"/videos/{video.pk}/"
    wait_until(page, "Number(document.getElementById('index-size').dataset.vectors) > 0")
    polls = []
    page.on("request", lambda r: polls.append(r.url) if "/cards/" in r.url else None)
    page.wait_for_timeout(3500)
    assert polls == []


def test_cards_answer_the_keyboard_and_deleting_asks_first(live_server, csp_browser_page, storage_dirs):
    users = get_user_model().objects
    owner = users.create_user("kim", password="x")
    collection = Collection.objects.create(name="keys", embedder="testmodel", owner=owner)
    for i in range(5):
        Video.objects.create(collection=collection, file=f"videos/c{collection.pk}/k{i}.mp4", original_name=f"k{i}.mp4",
                             sha256=f"{i:064x}", status=Status.FAILED, error="not a video file, or it is damaged")
    page = csp_browser_page
    sign_in(page, live_server, owner)
    page.goto(f"{live_server.url}/collections/{collection.pk}/")
    names = page.locator("#grid .card-name").all_inner_texts()
    assert names == [f"k{i}.mp4" for i in range(4, -1, -1)]

    page.locator("#grid .card-link").first.focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent").strip().endswith("k3.mp4")
    page.keyboard.press("End")
    assert page.evaluate("document.activeElement.textContent").strip().endswith("k0.mp4")
    outline = page.evaluate("getComputedStyle(document.activeElement.closest('.card')).boxShadow")
    assert "0px 0px 0px 3px" in outline  # the focused card is outlined

    delete = page.locator(f"#card-video-{Video.objects.get(original_name='k0.mp4').pk} [data-action=delete]")
    delete.click()
    assert page.locator("#confirm-dialog[open]").count() == 1
    page.keyboard.press("Escape")  # cancelled: nothing happens
    assert page.locator("#confirm-dialog[open]").count() == 0 and Video.objects.filter(original_name="k0.mp4").exists()
    delete.click()
    page.click("#confirm-ok")
    page.wait_for_selector("#collection-message:has-text('deleted')")
    assert not Video.objects.filter(original_name="k0.mp4").exists()
    assert page.locator("#grid .card").count() == 4

    reingest = page.locator("#grid .card [data-action=reingest]").first  # its file was never stored: a 409
    reingest.click()
    page.click("#confirm-ok")
    page.wait_for_selector("#collection-message.error")
    assert "upload the file again" in page.inner_text("#collection-message")

    page.set_viewport_size({"width": 360, "height": 800})
    wide = page.evaluate("""[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > 361)
                            .map(e => `${e.tagName}#${e.id}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`)""")
    assert wide == [], wide  # the page's own content fits a phone (the header is base.html's)


@pytest.fixture
def broker_down(settings):
    """Tasks sent to a Redis that is not there (nothing listens on the port), as during an outage."""
    from videosearch.celery import app

    old = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = f"redis://127.0.0.1:{free_port()}/0", False
    reset_connections(app)
    yield
    app.conf.broker_url, app.conf.task_always_eager = old
    reset_connections(app)


def test_while_the_queue_is_down_the_page_says_the_upload_is_kept_and_a_rebuild_was_not_queued(
        live_server, csp_browser_page, storage_dirs, broker_down, tmp_path, admin_user):
    collection = Collection.objects.create(name="outage", embedder="testmodel")
    clip = make_clip(tmp_path / "kept.mp4", "testsrc=duration=2:size=160x90:rate=10")
    page = csp_browser_page
    sign_in(page, live_server, admin_user)
    page.goto(f"{live_server.url}/collections/{collection.pk}/")
    page.set_input_files("#upload input[type=file]", str(clip))  # the file picker, then the form's button
    page.click("#upload button[type=submit]")
    wait_until(page, "document.querySelector('#upload-list .upload[data-sent=\"100\"]')", timeout=30_000)
    row = page.locator("#upload-list .upload")
    assert row.locator(".note").inner_text().startswith("the job queue is unavailable; the upload is kept")
    page.wait_for_selector("#grid .card[data-status=queued]")  # its card is there, queued
    video = Video.objects.get(collection=collection)
    assert IngestJob.objects.get(video=video).status == Status.QUEUED

    page.click("#rebuild")
    page.click("#confirm-ok")
    page.wait_for_selector("#collection-message.error")
    assert page.inner_text("#collection-message").startswith("the job queue is unavailable; the rebuild was not queued")

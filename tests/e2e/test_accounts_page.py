"""Accounts in a real headless Chromium: log in, create a collection, upload, search, log out; an anonymous
visitor sees only public collections, and a private one's pages and files are not there for them."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.media.models import Collection, Photo

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_log_in_create_upload_search_log_out(live_server, storage_dirs, browser_page, demo_media):
    _, _, photos = demo_media
    owner = get_user_model().objects.create_user("frank", password="frank-pw")
    Collection.objects.create(name="open-street", embedder="testmodel", public=True, owner=owner)
    Collection.objects.create(name="franks-secret", embedder="testmodel", owner=owner)
    get_user_model().objects.create_user("erin", password="erin-correct-horse")
    page = browser_page

    # anonymous: only the public collection, no way to create or upload
    page.goto(f"{live_server.url}/collections/")
    assert page.locator("#collections").inner_text().count("open-street") == 1
    assert "franks-secret" not in page.content()
    assert page.locator("#new-collection").count() == 0
    assert page.locator("#collection option").count() == 0 or "franks-secret" not in page.content()
    page.goto(f"{live_server.url}/")
    assert [o.inner_text() for o in page.locator("#collection option").all()] == ["open-street"]

    # a wrong password is refused, the right one signs in
    page.click("#login-link")
    page.fill("#id_username", "erin")
    page.fill("#id_password", "wrong")
    page.click("#login button[type=submit]")
    assert page.locator("#login").count() == 1 and page.locator("#whoami").count() == 0
    page.fill("#id_username", "erin")
    page.fill("#id_password", "erin-correct-horse")
    page.click("#login button[type=submit]")
    assert page.inner_text("#whoami") == "erin"

    # create a private collection and upload three photos through the page's form
    page.goto(f"{live_server.url}/collections/")
    page.fill("#id_name", "erins-album")
    page.click("#new-collection button[type=submit]")
    page.wait_for_selector("#upload")
    album = Collection.objects.get(name="erins-album")
    assert album.owner.username == "erin" and not album.public
    page.set_input_files("#upload input[type=file]", [str(p[0]) for p in photos[:3]])
    page.click("#upload button[type=submit]")  # the page's script sends each file and shows its card
    page.wait_for_function("document.querySelectorAll(\"#grid .card[data-kind=photo][data-status='indexed']\").length === 3")
    assert Photo.objects.filter(collection=album, status="indexed").count() == 3

    # search it: every photo is found by its own caption, first
    for path, caption_en, _ in photos[:3]:
        page.goto(f"{live_server.url}/?collection={album.pk}")
        page.fill("#q", caption_en)
        page.click("#search-button")
        page.wait_for_selector("#results .result")
        assert path.stem in page.locator("#results .result").first.inner_text(), caption_en
    thumb = page.locator("#results .result img").first.get_attribute("src")
    thumb = thumb if thumb.startswith("http") else live_server.url + thumb
    assert page.request.get(thumb).status == 200

    # log out: the album, its page and its thumbnails are gone for the anonymous visitor
    page.click("#logout button")
    assert page.locator("#whoami").count() == 0
    page.goto(f"{live_server.url}/collections/")
    assert "erins-album" not in page.content() and "open-street" in page.content()
    assert page.request.get(f"{live_server.url}/collections/{album.pk}/").status == 404
    assert page.request.get(thumb).status == 404

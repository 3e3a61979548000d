"""Headless Chromium for the page tests (Playwright driving the system's Debian chromium, offline)."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def chromium_page(bypass_csp: bool) -> Iterator:
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=bypass_csp)
        yield page
        browser.close()


@pytest.fixture
def browser_page():
    """A page that ignores the site's Content-Security-Policy: Playwright's wait_for_function evaluates its
    expression with eval(), which the policy (no 'unsafe-eval') refuses. test_content_security_policy.py
    checks the pages under the policy, with ``csp_browser_page``."""
    with chromium_page(bypass_csp=True) as page:
        yield page


@pytest.fixture
def csp_browser_page():
    """A page that enforces the site's Content-Security-Policy, as every user's browser does.
    Wait with ``helpers.wait_until`` there, not ``page.wait_for_function``."""
    with chromium_page(bypass_csp=False) as page:
        yield page


@pytest.fixture(autouse=True)
def media_through_the_app(monkeypatch):
    """Let /media/ requests reach the app's range-capable ``serve_media``, as in production.

    Django's live server otherwise answers MEDIA_URL itself, whole files without byte ranges: the
    browser then reports the video as not seekable (seekable = [0, 0]) and seeking silently fails.
    """
    from django.test.testcases import _MediaFilesHandler

    monkeypatch.setattr(_MediaFilesHandler, "_should_handle", lambda self, path: False)


@pytest.fixture
def signed_in_page(browser_page, live_server, admin_user):
    """The browser with a superuser's session cookie: page tests of features see every collection."""
    from django.test import Client

    client = Client()
    client.force_login(admin_user)
    browser_page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return browser_page

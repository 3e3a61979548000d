"""Response headers that keep pages safe: the Content-Security-Policy on every response."""
from __future__ import annotations

import pytest

from videosearch.security_headers import BROWSABLE_API_EXTRA, STRICT_POLICY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/", "/collections/", "/admin/login/", "/api/search/", "/api/collections/",
                                 "/no-such-page/", "/static/css/app.css"])
def test_every_response_has_the_strict_policy(client, url):
    response = client.get(url)
    assert response.status_code in (200, 400, 404), (url, response.status_code)
    assert response["Content-Security-Policy"] == STRICT_POLICY
    assert "'unsafe-inline'" not in STRICT_POLICY and "script-src 'self'" in STRICT_POLICY
    assert response["X-Content-Type-Options"] == "nosniff"


def test_the_policy_comes_from_settings(client, settings):
    settings.CONTENT_SECURITY_POLICY = "default-src 'none';"
    assert client.get("/").headers["Content-Security-Policy"] == "default-src 'none'"
    settings.CONTENT_SECURITY_POLICY = ""  # VIDEOSEARCH_CSP set but empty: no header at all
    assert "Content-Security-Policy" not in client.get("/").headers


def test_only_the_browsable_api_may_use_inline_styles(client):
    """DRF's HTML pages (not ours) have inline styles; its JSON answers and our pages keep the strict policy."""
    html = client.get("/api/collections/", HTTP_ACCEPT="text/html")
    assert html["Content-Type"].startswith("text/html")
    assert html["Content-Security-Policy"] == f"{STRICT_POLICY}; {BROWSABLE_API_EXTRA}"
    assert client.get("/api/collections/", HTTP_ACCEPT="application/json")["Content-Security-Policy"] == STRICT_POLICY

"""Rate limits on search, explain and uploads: 429 JSON with Retry-After past the limit, anonymous
clients counted per address, each signed-in user on their own, rates read from settings per request."""
from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

pytestmark = pytest.mark.django_db

# An unknown collection: the throttle is checked before any work, so a 404 costs a request like a search.
SEARCH = ("/api/search/", {"collection": "nowhere", "text": "car"})


@pytest.fixture
def rates(settings):
    """Low limits for this test, on an empty count (the session's other tests used the same cache)."""
    cache.clear()
    settings.THROTTLE_RATES = {"search_anon": "2/min", "search_user": "3/min", "upload_anon": "1/hour",
                               "upload_user": "2/min"}
    yield settings.THROTTLE_RATES
    cache.clear()


def signed_in(django_user_model, name: str) -> Client:
    client = Client()
    client.force_login(django_user_model.objects.create_user(username=name, password="not-used-here"))
    return client


def assert_throttled(response, period_s: int) -> None:
    assert response.status_code == 429, response.content
    body = response.json()
    assert body["status"] == 429 and "throttled" in body["error"]
    assert 0 < int(response["Retry-After"]) <= period_s


@pytest.fixture
def client(anon_client):
    """Here ``client`` is an anonymous one: its counts are per address."""
    return anon_client


def test_anonymous_search_is_limited_per_address(client, rates):
    assert [client.get(*SEARCH).status_code for _ in range(2)] == [404, 404]
    assert_throttled(client.get(*SEARCH), 60)
    assert_throttled(client.post(SEARCH[0], SEARCH[1], content_type="application/json"), 60)
    # explain is a model call too and shares the search count
    assert_throttled(client.get("/api/explain/", {"text": "car", "keyframe": 1}), 60)
    # another client at the same address is the same anonymous client; X-Forwarded-For is not believed
    assert_throttled(Client().get(*SEARCH, HTTP_X_FORWARDED_FOR="203.0.113.9"), 60)
    # a client at another address has its own count
    assert Client(REMOTE_ADDR="198.51.100.7").get(*SEARCH).status_code == 404


def test_each_signed_in_user_has_their_own_count(client, rates, django_user_model):
    for _ in range(2):
        client.get(*SEARCH)
    assert_throttled(client.get(*SEARCH), 60)  # the anonymous count is used up ...

    alice = signed_in(django_user_model, "alice")  # ... a user at the same address is not counted in it
    assert [alice.get(*SEARCH).status_code for _ in range(3)] == [404] * 3
    assert_throttled(alice.get(*SEARCH), 60)
    assert signed_in(django_user_model, "bob").get(*SEARCH).status_code == 404  # nor in another user's


def test_uploads_are_limited_but_listing_is_not(client, rates, django_user_model):
    # anonymous clients may not upload at all (401, before any count); signed-in users are counted
    assert [client.post(f"/api/{kind}/", {"collection": "nowhere"}).status_code for kind in ("photos", "videos")] == [401] * 2
    assert [client.get("/api/photos/").status_code for _ in range(3)] == [200] * 3
    assert client.get(*SEARCH).status_code == 404  # searching has its own count

    carol = signed_in(django_user_model, "carol")
    assert [carol.post("/api/videos/", {"collection": "nowhere"}).status_code for _ in range(2)] == [400, 400]
    assert_throttled(carol.post("/api/photos/", {"collection": "nowhere"}), 60)


def test_rates_are_read_per_request(client, rates, settings):
    for _ in range(2):
        client.get(*SEARCH)
    assert client.get(*SEARCH).status_code == 429
    settings.THROTTLE_RATES = {**rates, "search_anon": "off"}
    assert client.get(*SEARCH).status_code == 404
    settings.THROTTLE_RATES = {**rates, "search_anon": "100/min"}
    assert client.get(*SEARCH).status_code == 404
    settings.THROTTLE_RATES = {**rates, "search_anon": "lots"}
    with pytest.raises(ImproperlyConfigured, match="search_anon"):
        client.get(*SEARCH)

"""Requests an attacker would send to the search endpoints: each ends in a clear, small error, fast.

(The other bad inputs of the "Accounts, access and safe input" issue have their tests next to their
feature: test_access.py, test_upload_safety.py, test_embedder_choice.py, test_api_flow.py, test_safe_defaults.py.)
"""
from __future__ import annotations

import json
import time

import pytest

from apps.media.models import Collection
from apps.search.query_spec import MAX_TEXT_CHARS

pytestmark = pytest.mark.django_db


@pytest.fixture
def public(storage_dirs) -> Collection:
    return Collection.objects.create(name="open", embedder="testmodel", public=True)


def test_a_body_over_the_memory_limit_is_a_json_413(anon_client, public, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2**20
    body = json.dumps({"collection": "open", "text": "x" * (3 * 2**20)})
    answer = anon_client.post("/api/search/", body, content_type="application/json")
    assert answer.status_code == 413 and answer["Content-Type"] == "application/json"
    assert "limit is 1 MB" in answer.json()["error"]


def test_a_100k_deep_json_body_is_a_json_400(anon_client, public):
    deep = "[" * 100_000 + "]" * 100_000
    for body in (deep, '{"collection": "open", "query": ' + deep + "}"):
        answer = anon_client.post("/api/search/", body, content_type="application/json")
        assert answer.status_code == 400 and "nested too deeply" in answer.json()["error"]


def test_the_page_refuses_a_huge_query_without_echoing_it(anon_client, public):
    huge = "red car " * (9 * 2**20 // 8)  # 9 MB of query text
    started = time.monotonic()
    answer = anon_client.post("/", {"collection": str(public.pk), "q": huge})
    elapsed = time.monotonic() - started
    page = answer.content.decode()
    assert answer.status_code == 400 and f"over {MAX_TEXT_CHARS} characters" in page
    assert len(answer.content) < 100_000, len(answer.content)  # the box holds at most MAX_TEXT_CHARS of it
    assert f'maxlength="{MAX_TEXT_CHARS}"' in page
    assert elapsed < 5, elapsed  # a generous bound: it used to take 11 s and answer 54 MB


def test_an_oversized_api_query_is_a_json_400(anon_client, public):
    answer = anon_client.get("/api/search/", {"collection": "open", "text": "car " * 1000})
    assert answer.status_code == 400 and answer["Content-Type"] == "application/json"
    assert str(MAX_TEXT_CHARS) in answer.json()["error"]


@pytest.mark.parametrize("value", ["\u00b3", "\u0661", "99999999999999999999", "-1", "1e3"])
def test_the_page_takes_only_ascii_whole_numbers_as_ids(anon_client, public, value):
    answer = anon_client.get("/", {"collection": str(public.pk), "like_keyframe": value, "like_photo": value})
    assert answer.status_code == 200  # no id given: the empty page, not a 500

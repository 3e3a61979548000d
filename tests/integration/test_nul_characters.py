"""A NUL character in a parameter is a clear 4xx, never a 500. PostgreSQL refuses text that holds one
(SQLite compared it quietly), and schemathesis sends them: every place that looks a user's string up in
the database is tried here, on both databases."""
from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from apps.media.models import Collection

pytestmark = pytest.mark.django_db

NUL = "a\x00b"


@pytest.fixture
def collection(storage_dirs, admin_user) -> Collection:
    return Collection.objects.create(name="nul", embedder="testmodel", owner=admin_user)


@pytest.mark.parametrize("url", ["/api/videos/", "/api/photos/", "/api/jobs/"])
def test_a_collection_reference_with_a_nul_names_no_collection(client, collection, url):
    response = client.get(url, {"collection": NUL, "text": "car"})
    assert response.status_code == 404, response.content
    assert "unknown collection" in response.json()["error"]


def test_a_search_in_a_collection_with_a_nul_is_a_400(client, collection):
    for response in (client.get("/api/search/", {"collection": NUL, "text": "car"}),
                     client.post("/api/search/", {"collection": NUL, "text": "car"}, content_type="application/json")):
        assert response.status_code == 400, response.content
        assert "Null characters are not allowed" in response.json()["error"]


@pytest.mark.parametrize("url", ["/api/videos/", "/api/photos/", "/api/jobs/"])
def test_a_status_filter_with_a_nul_matches_nothing(client, collection, url):
    response = client.get(url, {"collection": "nul", "status": NUL})  # as any status no item has
    assert response.status_code == 200 and response.json()["count"] == 0, response.content


def test_sharing_with_a_username_with_a_nul_finds_no_one(client, collection):
    get_user_model().objects.create_user("ab", password="not-used")
    response = client.post(f"/collections/{collection.pk}/sharing/", {"user": NUL, "access": "read"}, follow=True)
    assert response.status_code == 200 and "no active user" in response.content.decode()
    api = client.post(f"/api/collections/{collection.pk}/shares/", {"user": NUL, "access": "read"},
                      content_type="application/json")
    assert api.status_code == 400, api.content
    assert not collection.shares.exists()


@pytest.mark.parametrize("url", ["/admin/media/collection/", "/admin/media/video/", "/admin/media/photo/",
                                 "/admin/auth/user/"])
def test_the_admin_search_box_takes_a_nul(client, collection, url):
    assert client.get(url, {"q": NUL}).status_code == 200


def test_signing_in_with_a_nul_is_a_form_error(anon_client, db):
    response = anon_client.post("/accounts/login/", {"username": NUL, "password": "x"})
    assert response.status_code == 200 and response.context["form"].errors

"""The interface in Russian and English through Django's test client: the language comes from the browser
(Accept-Language) or the header's switch (set_language, a cookie); English when neither asks for Russian.
Pages, plural forms and API errors (ours and DRF's) follow it."""
from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.utils import translation

from apps.media.models import Collection, Status
from apps.media.services.register import register_path
from apps.search.testmodel.demo_video import make_demo_photos

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english_afterwards():
    """The test client runs requests in this thread, and LocaleMiddleware leaves their language active."""
    yield
    translation.activate("en")


@pytest.fixture
def album(storage_dirs, tmp_path) -> Collection:
    """A public collection of five indexed photos: a search shows all five."""
    collection = Collection.objects.create(name="album", embedder="testmodel", public=True)
    for path, _, _ in make_demo_photos(tmp_path / "photos", n=5):
        item = register_path(collection, path).item
        item.refresh_from_db()
        assert item.status == Status.INDEXED
    return collection


def search_page(client: Client, collection: Collection, **headers) -> str:
    response = client.get("/", {"collection": collection.pk, "q": "a red car"}, **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_the_search_page_speaks_the_browsers_language(anon_client, album):
    russian = search_page(anon_client, album, HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9,en;q=0.8")
    assert '<html lang="ru">' in russian
    for words in ("Поиск", "Коллекции", "Войти", "5 фото", "мс · модель", "релевантность", "похожие", "почему?",
                  'placeholder="Опишите момент'):
        assert words in russian, words
    script_words = re.search(r'<script id="js-strings" type="application/json">(.*?)</script>', russian).group(1)
    assert json.loads(script_words)["play_from_time"] == "Смотреть с {time}"
    assert "more like this" not in russian and "Log in" not in russian

    for headers in ({}, {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, {"HTTP_ACCEPT_LANGUAGE": "de-DE,fr;q=0.5"}):
        english = search_page(anon_client, album, **headers)
        assert '<html lang="en">' in english and "5 photos" in english and "more like this" in english, headers
        assert "Поиск" not in english


def test_the_header_switch_sets_the_language_for_the_next_pages(anon_client, album):
    page = search_page(anon_client, album)
    assert 'action="/i18n/setlang/"' in page and 'name="language" value="ru" lang="ru"' in page
    back = f"/?collection={album.pk}&q=a+red+car"
    switched = anon_client.post("/i18n/setlang/", {"language": "ru", "next": back})
    assert switched.status_code == 302 and switched["Location"] == back
    assert anon_client.cookies["django_language"].value == "ru"
    russian = search_page(anon_client, album, HTTP_ACCEPT_LANGUAGE="en-US")  # the choice beats the browser's
    assert '<html lang="ru">' in russian and "5 фото" in russian and 'aria-pressed="true">Русский' in russian
    anon_client.post("/i18n/setlang/", {"language": "en", "next": back})
    assert "5 photos" in search_page(anon_client, album)
    # a foreign next is not followed
    away = anon_client.post("/i18n/setlang/", {"language": "ru", "next": "https://evil.example/"})
    assert away.status_code in (204, 302) and "evil" not in away.get("Location", "")


def test_api_errors_are_in_the_clients_language(anon_client, album):
    ru = {"HTTP_ACCEPT_LANGUAGE": "ru"}
    unknown = anon_client.post("/api/search/", {"collection": "nope", "text": "car"}, content_type="application/json", **ru)
    assert unknown.status_code == 404 and unknown.json()["error"] == "неизвестная коллекция «nope» (есть: album)"
    empty = anon_client.post("/api/search/", {"collection": album.pk}, content_type="application/json", **ru)
    assert empty.status_code == 400 and empty.json()["error"].startswith("задайте запрос: text"), empty.json()
    too_long = anon_client.post("/api/search/", {"collection": album.pk, "text": "x" * 1001},
                                content_type="application/json", **ru)
    assert too_long.json()["error"] == "text: длиннее 1000 символов"
    # DRF's own messages come from DRF's Russian catalog
    missing = anon_client.get("/api/collections/999999/", **ru)
    assert missing.status_code == 404 and missing.json()["error"] == "Страница не найдена."
    write = anon_client.post("/api/collections/", {"name": "x"}, content_type="application/json", **ru)
    assert write.status_code == 401 and write.json()["error"] == "Учетные данные не были предоставлены."
    nowhere = anon_client.get("/api/nothing-here/", **ru)
    assert nowhere.status_code == 404 and nowhere.json()["error"] == "по адресу /api/nothing-here/ нет метода API"
    # and in English by default
    assert anon_client.get("/api/collections/999999/").json()["error"] == "Not found."
    english = anon_client.post("/api/search/", {"collection": "nope", "text": "car"}, content_type="application/json")
    assert english.json()["error"] == "unknown collection 'nope' (existing: album)"

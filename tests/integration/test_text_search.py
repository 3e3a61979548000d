"""Words in the footage, searched: subtitle cues and on-screen text stored as TextSpan rows (through
``replace_spans``, as the readers store them) on the demo video ingested with the bundled test model.

The demo video (35 s): a red car 0-6 s, two blue squares 6-11, a yellow circle 11-17, a white boat 17-24,
three white stars 24-29, two purple hearts 29-35.
"""
from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from analysis.timed_text import TimedText, WordBox
from apps.media.models import Collection, TextSource, Video
from apps.media.services.text_spans import replace_spans
from apps.search.evaluation.text_queries import evaluate_text_queries

from .helpers import upload

pytestmark = pytest.mark.django_db(transaction=True)

BOAT = "a white boat in the centre on the water"
EXIT_BOXES = (WordBox("EXlT", 0.10, 0.20, 0.12, 0.08, 81.0), WordBox("23", 0.24, 0.20, 0.05, 0.08, 90.0))


def _collection(client, name: str, video_path) -> Video:
    made = client.post("/api/collections/", {"name": name, "embedder": "testmodel"}, content_type="application/json")
    assert made.status_code == 201, made.content
    response = upload(client, "/api/videos/", name, video_path)
    assert response.status_code == 201, response.content
    video = Video.objects.get(pk=response.json()["id"])
    assert video.status == "indexed", video.error
    return video


def _store(video: Video) -> None:
    replace_spans(video, TextSource.SUBTITLE, [
        TimedText(2.0, 4.0, BOAT.capitalize() + ".", "eng", "0:s:0"),         # words only: the red car's shot
        TimedText(18.0, 20.0, BOAT.upper(), "eng", "0:s:0"),                  # words and picture: the boat
        TimedText(7.0, 8.0, "23 exit", "eng", "0:s:0"),                       # both words, the wrong order
        TimedText(20.5, 22.0, "Красные машины едут мимо", "rus", "0:s:1"),
        TimedText(30.0, 32.0, "Two cars passed the exit ramp slowly today", "eng", "0:s:0"),
    ])
    replace_spans(video, TextSource.SCREEN, [
        TimedText(12.0, 14.0, "EXlT 23", "eng", "ocr", boxes=EXIT_BOXES, confidence=85.0),
    ])


@pytest.fixture
def words_video(client, storage_dirs, demo_media) -> Video:
    video = _collection(client, "words", demo_media[0])
    _store(video)
    return video


def _search(client, **payload) -> dict:
    response = client.post("/api/search/", {"collection": "words", **payload}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()


def _times(results: list[dict]) -> list[tuple[float, float]]:
    return [(r["start"], r["end"]) for r in results]


def test_words_are_found_by_stem_by_phrase_and_despite_ocr_errors(client, words_video):
    found = _search(client, text_in_video="машина")
    assert _times(found["results"]) == [(20.5, 22.0)] and found["query"]["kind"] == "words"
    assert found["results"][0]["text_matches"][0]["words"] == ["машины"]
    assert _times(_search(client, text='"car"')["results"]) == [(30.0, 32.0)]       # "cars" -> car

    quoted = _search(client, text='"exit 23"')["results"]                         # in order: not "23 exit"
    assert _times(quoted) == [(12.0, 14.0)]
    match = quoted[0]["text_matches"][0]
    assert match["source"] == "screen" and match["words"] == ["EXlT", "23"] and match["text"] == "EXlT 23"
    assert [b["text"] for b in match["boxes"]] == ["EXlT", "23"]
    assert match["boxes"][0] == {"text": "EXlT", "x": 0.1, "y": 0.2, "w": 0.12, "h": 0.08, "conf": 81.0}
    assert (match["start"], match["end"]) == (12.0, 14.0)

    loose = _search(client, text_in_video="exit 23")["results"]                  # any order: exact above fuzzy
    assert _times(loose) == [(7.0, 8.0), (12.0, 14.0)]
    assert loose[0]["text_score"] > loose[1]["text_score"]
    assert _search(client, text_in_video="23 -exit")["results"][0]["text_matches"][0]["text"] == "EXlT 23"


def test_the_text_evaluation_scores_quoted_and_fused_queries(words_video):
    truth = [("exit 23", words_video.pk, 12.0, 14.0), ("Красные машины", words_video.pk, 20.5, 22.0),
             ("two cars passed", words_video.pk, 30.0, 32.0)]
    report = evaluate_text_queries(words_video.collection, truth)
    assert report["queries"] == 3 and report["quoted_R1@0.5"] == 1.0 and report["quoted_misses"] == []
    assert set(report["fused"]) == set(report["clip_only"]) == set(report["change"])
    assert report["fused"]["occurrence_recall@0.5"] >= report["clip_only"]["occurrence_recall@0.5"]
    out = io.StringIO()
    call_command("search", "--collection", "words", "--text-in-video", "exit 23", stdout=out)
    assert "7.00-8.00s" in out.getvalue() and "screen 12.00-14.00s: 'EXlT 23'  words: EXlT, 23" in out.getvalue()


def test_a_quoted_query_searches_words_only(client, words_video):
    answer = _search(client, text=f'"{BOAT}"')
    assert answer["query"]["kind"] == "words" and answer["query"]["embedded_texts"] == []
    assert answer["query"]["words"] == {"phrases": [BOAT], "words": [], "exclude": []}
    assert _times(answer["results"]) == [(2.0, 4.0), (18.0, 20.0)]   # the cue alone, first by time on a tie
    assert all(r["text_matches"] and r["relevance"] is None for r in answer["results"])
    nothing = _search(client, text='"flying saucer"')
    assert nothing["results"] == [] and nothing["warnings"]


def test_a_plain_query_fuses_words_and_picture(client, storage_dirs, demo_media):
    video = _collection(client, "words", demo_media[0])
    before = _search(client, text=BOAT, top_k=20)
    replace_spans(video, TextSource.SUBTITLE, [TimedText(1.0, 2.0, "nothing to see here", "eng")])
    unrelated = _search(client, text=BOAT, top_k=20)
    for key in ("results", "total", "no_good_match"):
        assert unrelated[key] == before[key], key           # no words matched: fusion is a no-op
    assert not any(r["text_matches"] for r in before["results"])

    _store(video)
    fused = _search(client, text=BOAT, top_k=20)
    first = fused["results"][0]
    assert (first["start"], first["end"]) == (18.0, 20.0) and first["matched"]   # picture and words: the cue's time
    assert [m["start"] for m in first["text_matches"]] == [18.0]
    assert 17.0 <= first["best_time"] <= 24.0 and first["keyframe_id"] in before["results"][0]["keyframe_ids"]
    text_only = next(r for r in fused["results"] if (r["start"], r["end"]) == (2.0, 4.0))
    assert text_only["text_matches"][0]["source"] == "subtitle" and text_only["matched"]
    picture_only = before["results"][0]
    assert picture_only["start"] <= 17.0 and picture_only["end"] >= 24.0               # the boat was first already
    ranks = {(r["start"], r["end"]): i for i, r in enumerate(fused["results"])}
    assert ranks[(first["start"], first["end"])] < ranks[(2.0, 4.0)]
    assert fused["total"] == before["total"]     # the cue alone is a new moment; the boat's cue merged into its clip
    grouped = _search(client, text=BOAT, group_by="video", timeline=True)
    moments = [(m["start"], m["end"]) for m in grouped["timelines"][str(video.pk)]["moments"]]
    assert (2.0, 4.0) in moments


def test_words_never_leak_across_collections_or_to_strangers(client, storage_dirs, demo_media, anon_client):
    secret = _collection(client, "secret", demo_media[0])
    replace_spans(secret, TextSource.SUBTITLE, [TimedText(3.0, 5.0, "launch codes zebra", "eng")])
    owner = get_user_model().objects.create_user("olga", password="x")
    Collection.objects.filter(pk=secret.collection_id).update(owner=owner, public=False)
    open_video = _collection(client, "open", demo_media[0])
    Collection.objects.filter(pk=open_video.collection_id).update(public=True)
    replace_spans(open_video, TextSource.SUBTITLE, [TimedText(9.0, 10.0, "nothing secret", "eng")])

    for who in (anon_client, client):
        answer = who.post("/api/search/", {"collection": "open", "text": '"launch codes"'},
                          content_type="application/json")
        assert answer.status_code == 200 and answer.json()["results"] == []
        plain = who.post("/api/search/", {"collection": "open", "text": "zebra"}, content_type="application/json")
        assert not any(r["text_matches"] for r in plain.json()["results"])
    stranger = Client()
    stranger.force_login(get_user_model().objects.create_user("mallory", password="x"))
    for who in (anon_client, stranger):
        for payload in ({"text": '"launch codes"'}, {"text_in_video": "zebra"}):
            answer = who.post("/api/search/", {"collection": "secret", **payload}, content_type="application/json")
            assert answer.status_code == 404, answer.content
            assert b"zebra" not in answer.content and b"launch" not in answer.content
    mine = client.post("/api/search/", {"collection": "secret", "text_in_video": "zebra"}, content_type="application/json")
    assert _times(mine.json()["results"]) == [(3.0, 5.0)]


HOSTILE = ['"', '""', '"*"', 'exit*', '"exit" NEAR("23")', 'NEAR(exit 23)', "exit -", "- -", "col:exit",
           "terms:exit", '"a" OR "b"', "AND OR NOT", "^exit", "exit}", "{terms}: exit", "'exit'", "\\", "%", "_",
           '"\'); DROP TABLE media_textspan; --"', "exit\u0000", "\u200b", "«»", "ё Ё", "ﬁ", "1e309", "-exit"]


def test_hostile_text_is_an_answer_or_a_400_never_a_500(client, words_video):
    for field in ("text", "text_in_video"):
        for text in HOSTILE:
            response = client.post("/api/search/", {"collection": "words", field: text}, content_type="application/json")
            assert response.status_code in (200, 400), (field, text, response.status_code, response.content)
            assert response.status_code == 200 or response.json()["status"] == 400
        for long in ('"' + "exit " * 2000 + '"', "x" * 10_000):
            response = client.post("/api/search/", {"collection": "words", field: long}, content_type="application/json")
            assert response.status_code == 400, response.content
    on_page = client.get("/", {"collection": words_video.collection_id, "q": '"exit" NEAR("23") *'})
    assert on_page.status_code == 200
    assert _times(_search(client, text='"exit 23"')["results"]) == [(12.0, 14.0)]   # the index is still there


def test_the_schema_documents_the_words(client):
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]
    clip = schema["ClipResult"]["properties"]
    assert {"text_matches", "text_score"} <= set(clip)
    assert {"source", "start", "end", "text", "language", "words", "boxes"} <= set(schema["TextMatch"]["properties"])
    for request in ("SearchRequest", "SearchJsonRequest"):
        assert "text_in_video" in schema[request]["properties"]


def test_the_pages_show_the_words_and_their_boxes(client, words_video):
    page = client.get("/", {"collection": words_video.collection_id, "q": '"exit 23"'})
    html = page.content.decode()
    assert page.status_code == 200 and "EXlT 23" in html and "word-box" in html
    assert 'x="10.0%" y="20.0%" width="12.0%" height="8.0%"' in html and "style=" not in html.split("<main", 1)[-1]
    video_page = client.get(f"/videos/{words_video.pk}/").content.decode()
    assert "Красные машины едут мимо" in video_page and "EXlT 23" in video_page
    assert "#t=20.50" in video_page
    from_search = client.get(f"/videos/{words_video.pk}/", {"q": '"exit 23"'}).content.decode()
    assert "heat-strip" in from_search and 'data-start="12.0" data-end="14.0"' in from_search   # the words' moment
    admin = client.get(f"/admin/media/video/{words_video.pk}/change/").content.decode()
    assert "Красные машины едут мимо" in admin


@pytest.mark.django_db
def test_the_index_follows_every_write_and_survives_a_rebuilt_table():
    from django.db import connection
    from django.utils import timezone

    from apps.search.query_spec import words_query
    from apps.search.text_index import search_text
    from apps.search.text_index_schema import ensure_text_index

    collection = Collection.objects.create(name="rows")
    video = Video.objects.create(collection=collection, file="v.mp4", original_name="v.mp4", indexed_at=timezone.now())

    def found(text: str) -> list[str]:
        return [m.text for m in search_text(collection.pk, words_query(text))]

    replace_spans(video, TextSource.SUBTITLE, [TimedText(1, 2, "Exit 23 ahead"), TimedText(3, 4, "Выезд 23")])
    assert found("exit") == ["Exit 23 ahead"] and found("выезды") == ["Выезд 23"]
    replace_spans(video, TextSource.SUBTITLE, [TimedText(1, 2, "Bridge closed")])     # replaced: old words gone
    assert found("exit") == [] and found("bridges") == ["Bridge closed"]
    if connection.vendor == "sqlite":  # a later migration that rebuilds media_textspan drops the triggers
        with connection.cursor() as cursor:
            for name in ("search_textspan_ai", "search_textspan_ad", "search_textspan_au"):
                cursor.execute(f"DROP TRIGGER {name}")
        replace_spans(video, TextSource.SCREEN, [TimedText(5, 6, "Tunnel")])
        ensure_text_index(connection)                                           # what post_migrate runs
        assert found("tunnel") == ["Tunnel"] and found("bridge") == ["Bridge closed"]
    video.delete()
    assert found("bridge") == []

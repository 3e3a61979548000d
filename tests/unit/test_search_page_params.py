"""The search page's own parameters and links: view, page size and offset within the service's limits."""
from __future__ import annotations

from urllib.parse import parse_qs

import pytest

from apps.search.page import DEFAULT_PAGE_SIZE, PageParams, attach_strips, paging, query_of, video_page_query
from apps.search.service import MAX_DEPTH, MAX_TOP_K
from apps.search.templatetags.timecode import timecode


@pytest.mark.parametrize("params, expected", [
    ({}, PageParams("clip", DEFAULT_PAGE_SIZE, 0)),
    ({"group_by": "video", "top_k": "5", "offset": "10"}, PageParams("video", 5, 10)),
    ({"group_by": "scene", "top_k": "x", "offset": "-3"}, PageParams("clip", DEFAULT_PAGE_SIZE, 0)),
    ({"top_k": str(MAX_TOP_K + 50)}, PageParams("clip", MAX_TOP_K, 0)),
    ({"top_k": "0"}, PageParams("clip", 1, 0)),
    ({"top_k": "10", "offset": str(MAX_DEPTH)}, PageParams("clip", 10, MAX_DEPTH - 10)),
])
def test_page_params_stay_within_the_service_limits(params, expected):
    assert PageParams.from_params(params) == expected


def test_query_of_takes_what_the_view_searches_for():
    assert query_of({"q": "a red car", "collection": "1", "top_k": "3"}) == {"q": "a red car"}
    assert query_of({"q": "a red car", "like_keyframe": "4"}) == {"like_keyframe": "4", "q": "a red car"}  # both searched
    assert query_of({"q": "   "}) == {}


def _links(p: str | None) -> dict:
    return {k: v[0] for k, v in parse_qs(p.lstrip("?")).items()} if p else {}


def test_paging_links_keep_the_query_view_and_page_size():
    base = {"collection": "2", "q": "boat"}
    middle = paging({"results": [{}] * 5, "next_offset": 15, "total": 40}, PageParams("video", 5, 10), base)
    assert (middle.first, middle.last, middle.total) == (11, 15, 40)
    assert _links(middle.next_url) == {"collection": "2", "q": "boat", "group_by": "video", "top_k": "5", "offset": "15"}
    assert _links(middle.previous_url)["offset"] == "5"
    first = paging({"results": [{}] * 5, "next_offset": 5, "total": 40}, PageParams("clip", 5, 3), base)
    assert _links(first.previous_url)["offset"] == "0"
    last = paging({"results": [{}] * 2, "next_offset": None, "total": 12}, PageParams("clip", 5, 10), base)
    assert last.next_url is None and (last.first, last.last) == (11, 12)
    image = paging({"results": [{}] * 5, "next_offset": 5, "total": 40}, PageParams("clip", 5, 0), None)
    assert image.next_url is None and image.previous_url is None


def test_video_entries_and_clips_get_their_strips():
    timeline = {"video_id": 3, "duration": 10.0, "segments": [{"start": 0.0, "end": 10.0, "score": 0.2}],
                "moments": [{"start": 2.0, "end": 4.0, "best_time": 3.0, "score": 0.2}]}
    result = {"timelines": {"3": timeline}, "results": [
        {"type": "clip", "video": {"id": 3}, "start": 2.0, "end": 4.0},
        {"type": "video", "video": {"id": 3}, "clips": []},
        {"type": "clip", "video": {"id": 9}, "start": 0.0, "end": 1.0},
        {"type": "photo"},
    ]}
    attach_strips(result)
    clip, video, other, photo = result["results"]
    assert clip["strip"].moments[0].current and not video["strip"].moments[0].current
    assert other["strip"] is None and "strip" not in photo


def test_video_page_link_carries_the_query_and_page_size():
    assert _links(video_page_query({"q": "boat"}, PageParams("clip", 7, 14))) == {"q": "boat", "top_k": "7"}
    assert video_page_query(None, PageParams()) == ""


@pytest.mark.parametrize("seconds, text", [
    (0, "0:00"), (6.0, "0:06"), (65.5, "1:05.5"), (3723.04, "1:02:03"), (59.96, "1:00"), (None, ""), ("x", ""),
])
def test_timecode(seconds, text):
    assert timecode(seconds) == text

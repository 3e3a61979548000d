"""What the search page and the video page add to a search answer: view, paging, strips and links.

Kept out of the views so they stay thin: turning the page's parameters into the API's search request
(:func:`search_request`, validated by the API's ``SearchRequestSerializer``), with the view, page size and
offset kept within the service's limits, the links that repeat the same query on another page or on a
video's page, and a heat strip for each video result.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.translation import gettext, ngettext

from apps.core.api_errors import first_message
from apps.media.models import Video

from .embedders.base import ModelUnavailableError
from .heat_strip import HeatStrip, heat_strip
from .index import IndexModelMismatchError
from .query_spec import MAX_ITEM_ID, QueryError
from .serializers import QUERY_INPUTS, SearchRequestSerializer, timeline_to_dict
from .service import GROUP_BY, MAX_DEPTH, MAX_TOP_K, SearchError, video_timeline

#: Results per page when the request does not say.
DEFAULT_PAGE_SIZE = 12


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() else default


def _id(value: str | None) -> int | None:
    """An id from the page's parameters; anything else (even "³", a digit to isdigit()) is none."""
    return int(value) if value and value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ITEM_ID else None


@dataclass(frozen=True)
class PageParams:
    """The view and the page asked for, within the service's limits (never an error: a page link may be stale)."""

    group_by: str = "clip"
    top_k: int = DEFAULT_PAGE_SIZE
    offset: int = 0

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> PageParams:
        group_by = params.get("group_by") if params.get("group_by") in GROUP_BY else "clip"
        top_k = min(max(_int(params.get("top_k"), DEFAULT_PAGE_SIZE), 1), MAX_TOP_K)
        offset = min(_int(params.get("offset"), 0), MAX_DEPTH - top_k)
        return cls(group_by=group_by, top_k=top_k, offset=offset)


def search_request(params: Mapping[str, str], collection_id: int, *, image: object = None) -> dict:
    """The API's search request (``SearchRequestSerializer``'s input) for the page's parameters.

    The box ``q`` is ``text``; "more like this" ids that are no whole numbers are left out (a stale or
    edited link searches without them); the view, page size and offset are those of :class:`PageParams`.
    Holds none of QUERY_INPUTS when nothing was asked for (the page then shows its empty form).
    """
    page = PageParams.from_params(params)
    request: dict = {"collection": str(collection_id), "top_k": page.top_k, "offset": page.offset,
                     "group_by": page.group_by, "timeline": True}
    if params.get("q", "").strip():
        request["text"] = params["q"]
    for key in ("like_keyframe", "like_photo"):
        if (value := _id(params.get(key))) is not None:
            request[key] = value
    if image is not None:
        request["image"] = image
    return request


def asks_something(request: Mapping) -> bool:
    return any(key in request for key in QUERY_INPUTS)


def validated(request: dict) -> dict:
    """``SearchRequestSerializer``'s validated data, or QueryError with its first error as one sentence."""
    fields = SearchRequestSerializer(data=request)
    if not fields.is_valid():
        raise QueryError(first_message(fields.errors))
    return fields.validated_data


def query_of(params: Mapping[str, str]) -> dict[str, str]:
    """The parameters that say what was searched, as given (text and "more like this" are searched together)."""
    query = {key: params[key] for key in ("like_keyframe", "like_photo") if params.get(key)}
    if params.get("q", "").strip():
        query["q"] = params["q"]
    return query


@dataclass(frozen=True)
class Paging:
    first: int  # 1-based position of the page's first result
    last: int
    total: int
    previous_url: str | None
    next_url: str | None


def paging(result: dict, page: PageParams, base: dict[str, str] | None) -> Paging:
    """Previous/next links that repeat the search with the same view and page size.

    ``base`` is the collection and query parameters, or None when the search cannot be repeated
    from a link (an uploaded image): then there are no links.
    """
    shown = len(result["results"])
    previous_url = next_url = None
    if base is not None:
        keep = {**base, "group_by": page.group_by, "top_k": str(page.top_k)}
        if page.offset > 0:
            previous_url = "?" + urlencode({**keep, "offset": max(page.offset - page.top_k, 0)})
        if result.get("next_offset") is not None:
            next_url = "?" + urlencode({**keep, "offset": result["next_offset"]})
    return Paging(page.offset + 1 if shown else page.offset, page.offset + shown, result.get("total", shown),
                  previous_url, next_url)


def attach_strips(result: dict) -> None:
    """Give each clip and video entry of an answer dict its video's heat strip (``entry["strip"]``)."""
    timelines = result.get("timelines", {})
    for entry in result["results"]:
        if entry["type"] not in ("clip", "video"):
            continue
        timeline = timelines.get(str(entry["video"]["id"]))
        current = (entry["start"], entry["end"]) if entry["type"] == "clip" else None
        entry["strip"] = heat_strip(timeline, current=current) if timeline else None


def word_boxes(entry: dict) -> list[dict]:
    """The boxes to draw on a clip's thumbnail: the matched words of its best line of on-screen text, in percent
    of the frame (the thumbnail shows the whole frame at the video's 16:9; other shapes are cropped to it)."""
    screen = next((m for m in entry.get("text_matches", ()) if m["source"] == "screen" and m["boxes"]), None)
    if screen is None:
        return []
    return [{"text": b["text"], **{side: f"{min(max(b[key], 0.0), 1.0) * 100:.1f}" for side, key in
                                   (("left", "x"), ("top", "y"), ("width", "w"), ("height", "h"))}}
            for b in screen["boxes"]]


def attach_word_boxes(result: dict) -> None:
    """Give each clip of an answer dict (a video entry's clips too) the boxes for its thumbnail (``word_boxes``)."""
    for entry in result["results"]:
        for clip in entry.get("clips", [entry]) if entry["type"] in ("clip", "video") else ():
            clip["word_boxes"] = word_boxes(clip)


def video_page_query(query: dict[str, str] | None, page: PageParams) -> str:
    """The query string a result links to the video page with, so that page shows the same strip."""
    if not query:
        return ""
    return urlencode({**query, "top_k": page.top_k})


@dataclass(frozen=True)
class VideoPageStrip:
    strip: HeatStrip | None
    label: str  # what was searched, for the heading
    search_query: str  # the query string that repeats the search on the search page
    error: str | None = None


def video_page_strip(video: Video, params: Mapping[str, str]) -> VideoPageStrip | None:
    """The strip of the search a visitor came from (its parameters in the link), or None without one."""
    query = query_of(params)
    if not query:
        return None
    label = " + ".join(part for part in (
        gettext("more like keyframe %(id)s") % {"id": query["like_keyframe"]} if "like_keyframe" in query else "",
        gettext("more like photo %(id)s") % {"id": query["like_photo"]} if "like_photo" in query else "",
        query.get("q", "")) if part)
    search_query = urlencode({"collection": video.collection_id, **query})
    try:
        request = validated(search_request(params, video.collection_id))
        timeline = video_timeline(video, request["query"], top_k=request["top_k"])
    except (QueryError, SearchError, IndexModelMismatchError, ModelUnavailableError) as exc:
        return VideoPageStrip(None, label, search_query, str(exc))
    return VideoPageStrip(heat_strip(timeline_to_dict(timeline)), label, search_query)


def result_counts(result: dict) -> str:
    """What a page of results holds, in words with the language's plural forms: "3 clips, 1 photo",
    "2 videos, 5 moments" (the moments of the videos shown), "no results"."""
    entries = result["results"]
    videos = [e for e in entries if e["type"] == "video"]
    clips = sum(1 for e in entries if e["type"] == "clip")
    photos = sum(1 for e in entries if e["type"] == "photo")
    moments = sum(len(e["clips"]) for e in videos)
    parts = []
    if videos:
        parts.append(ngettext("%(count)d video", "%(count)d videos", len(videos)) % {"count": len(videos)})
        parts.append(ngettext("%(count)d moment", "%(count)d moments", moments) % {"count": moments})
    if clips:
        parts.append(ngettext("%(count)d clip", "%(count)d clips", clips) % {"count": clips})
    if photos:
        parts.append(ngettext("%(count)d photo", "%(count)d photos", photos) % {"count": photos})
    return ", ".join(parts) if parts else gettext("no results")


def page_context(result: dict, page: PageParams, params: Mapping[str, str], collection_id: int,
                 linkable: bool) -> dict:
    """Everything the search page shows around an answer dict (whose entries get their strips here)."""
    attach_strips(result)
    attach_word_boxes(result)
    query = query_of(params) if linkable else None
    base = {"collection": str(collection_id), **query} if query else None
    other = "video" if page.group_by == "clip" else "clip"
    other_view_url = "?" + urlencode({**base, "group_by": other, "top_k": page.top_k}) if base else None
    return {"paging": paging(result, page, base), "video_query": video_page_query(query, page),
            "other_view_url": other_view_url, "result_counts": result_counts(result)}

"""The search page: pick a collection, type a query and/or drop an image, watch the matching moments.

The box takes the same syntax as the API's ``text`` (``red car -night``, ``car:2 + road``); an image
dropped while the box holds text is searched for together with it.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from apps.media.access import visible_collections

from .embedders.base import ModelUnavailableError
from .images import ImageLoadError, open_image
from .index import IndexModelMismatchError
from .page import PageParams, page_context
from .query_spec import MAX_TEXT_CHARS, QueryError, build_query
from .serializers import response_to_dict
from .service import SearchError, search


def _int_or_none(value: str | None) -> int | None:
    """An id from the page's parameters; anything else (even "³", a digit to isdigit()) is none."""
    return int(value) if value and value.isascii() and value.isdigit() and int(value) < 2**63 else None


def search_page(request: HttpRequest) -> HttpResponse:
    collections = list(visible_collections(request.user))
    params = request.POST if request.method == "POST" else request.GET
    selected = next((c for c in collections if str(c.pk) == params.get("collection")), collections[0] if collections else None)
    text = params.get("q", "")
    # the box echoes at most what a query may hold: an oversized one is refused, not sent back whole
    context: dict = {"collections": collections, "selected": selected, "text": text[:MAX_TEXT_CHARS], "result": None,
                     "max_text_chars": MAX_TEXT_CHARS}
    page = context["page"] = PageParams.from_params(params)
    like_keyframe, like_photo = _int_or_none(params.get("like_keyframe")), _int_or_none(params.get("like_photo"))
    image_file = request.FILES.get("image")
    if selected is None or not (text.strip() or image_file or like_keyframe or like_photo):
        return render(request, "search/search.html", context)
    try:
        image = open_image(image_file, max_pixels=settings.MAX_IMAGE_PIXELS) if image_file else None
        query = build_query(text=text, image=image, like_keyframe=like_keyframe, like_photo=like_photo)
        response = search(selected, query, top_k=page.top_k, offset=page.offset, group_by=page.group_by, timeline=True)
        context["result"] = response_to_dict(response, request)
        context.update(page_context(context["result"], page, params, selected.pk, linkable=image_file is None))
    except (QueryError, SearchError, ImageLoadError, IndexModelMismatchError, ModelUnavailableError) as exc:
        context["error"] = str(exc)
    return render(request, "search/search.html", context, status=400 if context.get("error") else 200)

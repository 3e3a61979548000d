"""The search page: pick a collection, type a query and/or drop an image, watch the matching moments;
and a video's page, which shows the strip of the search it was reached from.

The box takes the same syntax as the API's ``text`` (``red car -night``, ``car:2 + road``); an image
dropped while the box holds text is searched for together with it.
"""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from apps.media.access import visible_collections
from apps.media.models import Video
from apps.media.services.filmstrip import filmstrip
from apps.media.services.job_history import job_history

from .embedders.base import ModelUnavailableError
from .index import IndexModelMismatchError
from .page import PageParams, asks_something, page_context, search_request, validated, video_page_strip
from .query_spec import MAX_TEXT_CHARS, QueryError
from .serializers import response_to_dict
from .service import SearchError, search_validated
from .video_words import video_words


def search_page(request: HttpRequest) -> HttpResponse:
    collections = list(visible_collections(request.user))
    params = request.POST if request.method == "POST" else request.GET
    selected = next((c for c in collections if str(c.pk) == params.get("collection")), collections[0] if collections else None)
    text = params.get("q", "")
    # the box echoes at most what a query may hold: an oversized one is refused, not sent back whole
    context: dict = {"collections": collections, "selected": selected, "text": text[:MAX_TEXT_CHARS], "result": None,
                     "max_text_chars": MAX_TEXT_CHARS}
    page = context["page"] = PageParams.from_params(params)
    image_file = request.FILES.get("image")
    asked = search_request(params, selected.pk, image=image_file) if selected is not None else {}
    if not asks_something(asked):
        return render(request, "search/search.html", context)
    try:
        response = search_validated(selected, validated(asked))
        context["result"] = response_to_dict(response, request)
        context.update(page_context(context["result"], page, params, selected.pk, linkable=image_file is None))
    except (QueryError, SearchError, IndexModelMismatchError, ModelUnavailableError) as exc:
        context["error"] = str(exc)
    return render(request, "search/search.html", context, status=400 if context.get("error") else 200)


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0


def video_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One video: player, metadata, its shots; arriving from a search (its parameters in the link), the query's strip."""
    video = get_object_or_404(
        Video.objects.select_related("collection").filter(collection__in=visible_collections(request.user)), pk=pk)
    indexed = video.indexed_at is not None  # a re-ingest keeps the indexed version searchable
    context = {
        "video": video,
        "filmstrip": filmstrip(video),
        "start": _seconds(request.GET.get("t")),
        "search": video_page_strip(video, request.GET) if indexed else None,
        "keyframe_count": video.keyframes.count(),
        "history": job_history(video),
        "words": video_words(video),
    }
    return render(request, "media/video_detail.html", context)

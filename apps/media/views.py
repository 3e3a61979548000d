"""Collection pages: list and create collections, upload media, watch ingestion state; a video's own page."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from apps.search.page import video_page_strip

from .forms import CollectionForm, UploadForm
from .models import Collection, Status, Video
from .services.filmstrip import filmstrip
from .services.queue import photo_batches
from .services.register import register_stream
from .upload_limits import upload_refusal


def collection_list(request: HttpRequest) -> HttpResponse:
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        collection = form.save()
        messages.success(request, f"Collection '{collection.name}' created.")
        return redirect("collection-detail", pk=collection.pk)
    collections = Collection.objects.all()
    return render(request, "media/collection_list.html", {"collections": collections, "form": form})


def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    collection = get_object_or_404(Collection, pk=pk)
    if request.method == "POST" and (refusal := upload_refusal(request)):  # over the size limit: stopped, not stored
        messages.error(request, refusal)
        return redirect("collection-detail", pk=collection.pk)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        added = duplicates = 0
        with photo_batches():
            for upload in form.cleaned_data["files"]:
                try:
                    registered = register_stream(collection, upload.chunks(), upload.name)
                except ValueError as exc:  # no photo or video, or over the limit: the message names the file
                    messages.error(request, str(exc))
                    continue
                added += registered.created
                duplicates += not registered.created
        messages.success(request, f"{added} file(s) queued" + (f", {duplicates} already in the collection" if duplicates else ""))
        return redirect("collection-detail", pk=collection.pk)
    videos = collection.videos.all()
    photos = collection.photos.all()
    pending = any(item.status not in ("indexed", "failed") for item in [*videos, *photos])
    context = {"collection": collection, "videos": videos, "photos": photos, "form": form, "pending": pending}
    return render(request, "media/collection_detail.html", context)


def _seconds(value: str | None) -> float:
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0


def video_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One video: player, metadata, its shots; arriving from a search (its parameters in the link), the query's strip."""
    video = get_object_or_404(Video.objects.select_related("collection"), pk=pk)
    indexed = video.status == Status.INDEXED
    context = {
        "video": video,
        "filmstrip": filmstrip(video),
        "start": _seconds(request.GET.get("t")),
        "search": video_page_strip(video, request.GET) if indexed else None,
        "keyframe_count": video.keyframes.count(),
    }
    return render(request, "media/video_detail.html", context)

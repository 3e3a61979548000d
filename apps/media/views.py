"""Collection pages: list and create collections, upload media, watch ingestion state."""
from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from .forms import CollectionForm, UploadForm
from .models import Collection
from .services.queue import photo_batches
from .services.register import register_stream


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
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        added = duplicates = 0
        with photo_batches():
            for upload in form.cleaned_data["files"]:
                try:
                    registered = register_stream(collection, upload.chunks(), upload.name)
                except ValueError as exc:
                    messages.error(request, f"{upload.name}: {exc}")
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

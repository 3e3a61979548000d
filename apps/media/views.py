"""Collection pages: list and create collections, upload media, watch ingestion state.

A video's own page shows the strip of the search it was reached from: the search app serves it.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from .access import Access, access_to, may, visible_collections
from .forms import CollectionForm, UploadForm
from .services.queue import photo_batches
from .services.register import register_stream
from .services.sharing import UnknownUserError, set_share, shares_of
from .upload_limits import upload_refusal


def collection_list(request: HttpRequest) -> HttpResponse:
    """The collections this visitor may see; a signed-in user may create one (private to them until shared)."""
    if request.method == "POST" and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    form = CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        collection = form.save(commit=False)
        collection.owner = request.user
        collection.save()
        messages.success(request, f"Collection '{collection.name}' created.")
        return redirect("collection-detail", pk=collection.pk)
    collections = visible_collections(request.user)
    return render(request, "media/collection_list.html", {"collections": collections, "form": form})


def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One collection's items and their state; those who may write to it upload here."""
    collection = get_object_or_404(visible_collections(request.user), pk=pk)
    access = access_to(request.user, collection)
    if request.method == "POST" and access < Access.WRITE:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied("this collection is read-only for you")
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
    context = {"collection": collection, "videos": videos, "photos": photos, "form": form, "pending": pending,
               "can_upload": access >= Access.WRITE, "is_owner": access >= Access.OWN,
               "shares": shares_of(collection) if access >= Access.OWN else []}
    return render(request, "media/collection_detail.html", context)


@require_POST
def collection_sharing(request: HttpRequest, pk: int) -> HttpResponse:
    """The owner's form: share with a user (read / write / none) and make the collection public or private."""
    collection = get_object_or_404(visible_collections(request.user), pk=pk)
    if not may(request.user, collection, Access.OWN):
        if not request.user.is_authenticated:
            return redirect_to_login(reverse("collection-detail", args=[pk]))
        raise PermissionDenied("only the owner shares a collection")
    if "public" in request.POST:
        collection.public = request.POST["public"] == "1"
        collection.save(update_fields=["public"])
        messages.success(request, f"'{collection.name}' is now {'public' if collection.public else 'private'}.")
    username, access = request.POST.get("user", "").strip(), request.POST.get("access", "")
    if username and access in ("read", "write", "none"):
        try:
            set_share(collection, username, access)
            messages.success(request, f"{username}: {access if access != 'none' else 'no access'}.")
        except (UnknownUserError, ValueError) as exc:
            messages.error(request, str(exc))
    return redirect("collection-detail", pk=collection.pk)


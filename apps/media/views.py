"""Collection pages: list and create collections; one collection's grid of items with filters and paging,
uploads (the page's script sends each file to the REST API and polls ``collection_cards``; the form posts
here without a script), and the owner's sharing form.

A video's own page shows the strip of the search it was reached from: the search app serves it.
"""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from .access import Access, access_to, may, visible_collections
from .forms import CollectionForm, UploadForm
from .services.collection_grid import (
    GridFilters,
    cards_by_id,
    filter_links,
    grid_page,
    page_links,
    state_counts,
    with_item_counts,
)
from .services.page_uploads import register_uploads
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
        messages.success(request, _("Collection '%(name)s' created.") % {"name": collection.name})
        return redirect("collection-detail", pk=collection.pk)
    collections = with_item_counts(visible_collections(request.user))
    return render(request, "media/collection_list.html", {"collections": collections, "form": form})


def collection_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One collection's items as a grid (filters and pages in the query string); writers upload here."""
    collection = get_object_or_404(visible_collections(request.user), pk=pk)
    access = access_to(request.user, collection)
    if request.method == "POST":
        return _form_upload(request, collection, access)
    filters = GridFilters.from_params(request.GET)
    page, cards = grid_page(collection, filters, request.GET.get("page"))
    counts = state_counts(collection)
    context = {"collection": collection, "filters": filter_links(filters, counts), "counts": counts, "page": page,
               "page_links": page_links(filters, page), "cards": cards, "form": UploadForm(),
               "can_upload": access >= Access.WRITE, "is_owner": access >= Access.OWN,
               "shares": shares_of(collection) if access >= Access.OWN else []}
    return render(request, "media/collection_detail.html", context)


def _form_upload(request: HttpRequest, collection, access: Access) -> HttpResponse:
    """The upload form posted without the page's script: store the files, say how it went, show the page again."""
    if access < Access.WRITE:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        raise PermissionDenied("this collection is read-only for you")
    if refusal := upload_refusal(request):  # over the size limit: stopped, not stored
        messages.error(request, refusal)
        return redirect("collection-detail", pk=collection.pk)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        outcome = register_uploads(collection, form.cleaned_data["files"])
        for refused in outcome.refused:  # no photo or video, or over the limit: the message names the file
            messages.error(request, refused)
        queued = ngettext("%(n)d file queued", "%(n)d files queued", outcome.added) % {"n": outcome.added}
        if outcome.duplicates:
            queued += ", " + ngettext("%(n)d already in the collection", "%(n)d already in the collection",
                                      outcome.duplicates) % {"n": outcome.duplicates}
        messages.success(request, queued)
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("collection-detail", pk=collection.pk)


def _ids(value: str) -> list[int]:
    """Comma-separated ids from a hostile query string: what is no small whole number is left out."""
    return [int(part) for part in value.split(",")[:200] if part.isascii() and part.isdigit() and len(part) < 18]


@require_GET
def collection_cards(request: HttpRequest, pk: int) -> JsonResponse:
    """The current cards of the items the page asks about (``?video=1,2&photo=7``), for its live updates."""
    collection = get_object_or_404(visible_collections(request.user), pk=pk)
    can_upload = may(request.user, collection, Access.WRITE)
    cards = cards_by_id(collection, _ids(request.GET.get("video", "")), _ids(request.GET.get("photo", "")))
    return JsonResponse({"cards": [
        {"key": card.key, "status": card.status, "active": card.active, "percent": card.percent,
         "html": render_to_string("media/_collection_card.html",
                                  {"card": card, "collection": collection, "can_upload": can_upload}, request)}
        for card in cards]})


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

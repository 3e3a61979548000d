"""DRF permissions that ask apps/media/access.py; viewsets only say which right each action needs."""
from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from .access import Access, access_to
from .models import Collection


def collection_of(obj) -> Collection:
    return obj if isinstance(obj, Collection) else obj.collection


class CollectionRights(BasePermission):
    """Reads are open to anyone the queryset lets through (it holds only visible collections); writes need
    an account, and on an object the right the view names in ``write_rights`` (default WRITE)."""

    message = "you may not change this collection"
    anonymous_reads = True  # the OpenAPI schema marks reads as needing no credentials (apps/core/openapi.py)

    def has_permission(self, request: Request, view) -> bool:
        return request.method in SAFE_METHODS or bool(request.user and request.user.is_authenticated)

    def has_object_permission(self, request: Request, view, obj) -> bool:
        if request.method in SAFE_METHODS:
            return True
        needed = getattr(view, "write_rights", {}).get(view.action, Access.WRITE)
        return access_to(request.user, collection_of(obj)) >= needed

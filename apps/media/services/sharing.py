"""Owners share a collection with other users, read-only or read-write, and take it back."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.utils.translation import gettext

from ..models import Collection, CollectionShare


class UnknownUserError(LookupError):
    pass


def set_share(collection: Collection, username: str, access: str) -> CollectionShare | None:
    """``access`` is "read", "write" or "none" (removes the share); the owner's own rights never change here."""
    # no username holds a NUL, and PostgreSQL refuses to compare text that does
    user = get_user_model().objects.filter(username=username, is_active=True).first() if "\x00" not in username else None
    if user is None:
        raise UnknownUserError(gettext("no active user '%(name)s'") % {"name": username[:150]})
    if user.pk == collection.owner_id:
        raise ValueError(gettext("the owner already holds every right on the collection"))
    if access == "none":
        CollectionShare.objects.filter(collection=collection, user=user).delete()
        return None
    share, _ = CollectionShare.objects.update_or_create(
        collection=collection, user=user, defaults={"can_write": access == "write"}
    )
    return share


def shares_of(collection: Collection) -> list[dict[str, str]]:
    return [
        {"user": share.user.username, "access": "write" if share.can_write else "read"}
        for share in collection.shares.select_related("user").order_by("user__username")
    ]

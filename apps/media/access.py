"""Who may see and change which collection: the one place that decides.

Every entry point asks here: the API viewsets, the web pages, explain, media file serving, the CLI
and the admin. A collection is private to its owner unless shared or marked public:

- ``READ``: search it, see its items, jobs, thumbnails and files;
- ``WRITE``: also upload, re-ingest, delete items and rebuild its index;
- ``OWN``: also rename, share, make public and delete it.

Staff and the local operator (a ``manage.py`` command run without ``--user``) hold every right.
A collection a reader may not see does not exist for them: callers answer 404, never 403.
"""
from __future__ import annotations

import re
from enum import IntEnum

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet

from .models import Collection


class Access(IntEnum):
    NONE = 0
    READ = 1
    WRITE = 2
    OWN = 3


class LocalOperator:
    """A trusted local command: full rights, no account needed."""

    is_authenticated = True
    is_staff = True
    pk = None

    def __repr__(self) -> str:
        return "LocalOperator()"


LOCAL_OPERATOR = LocalOperator()
Actor = AbstractBaseUser | AnonymousUser | LocalOperator


def _has_every_right(actor: Actor) -> bool:
    return isinstance(actor, LocalOperator) or bool(actor.is_authenticated and actor.is_active and actor.is_staff)


def collections_for(actor: Actor, level: Access = Access.READ) -> QuerySet[Collection]:
    """The collections on which ``actor`` holds at least ``level``."""
    qs = Collection.objects.all()
    if _has_every_right(actor):
        return qs
    if not actor.is_authenticated or not actor.is_active:
        return qs.filter(public=True) if level == Access.READ else qs.none()
    owned = Q(owner=actor)
    if level == Access.OWN:
        return qs.filter(owned)
    if level == Access.WRITE:
        return qs.filter(owned | Q(shares__user=actor, shares__can_write=True)).distinct()
    return qs.filter(owned | Q(public=True) | Q(shares__user=actor)).distinct()


def visible_collections(actor: Actor) -> QuerySet[Collection]:
    return collections_for(actor, Access.READ)


def access_to(actor: Actor, collection: Collection) -> Access:
    """The highest right ``actor`` holds on ``collection``."""
    if _has_every_right(actor):
        return Access.OWN
    if actor.is_authenticated and actor.is_active:
        if collection.owner_id is not None and collection.owner_id == actor.pk:
            return Access.OWN
        share = collection.shares.filter(user=actor).first()
        if share is not None:
            return Access.WRITE if share.can_write else Access.READ
    return Access.READ if collection.public else Access.NONE


def may(actor: Actor, collection: Collection, level: Access) -> bool:
    return access_to(actor, collection) >= level


#: Stored media live under <videos|photos|thumbs>/c<collection id>/ (apps/media/services/storage.py).
MEDIA_PATH_RE = re.compile(r"(?:videos|photos|thumbs)/c(\d{1,18})/")


def may_read_media(actor: Actor, relative: str) -> bool:
    """A stored file may be fetched by those who may see its collection; files outside a collection never."""
    match = MEDIA_PATH_RE.match(relative)
    return bool(match) and visible_collections(actor).filter(pk=int(match.group(1))).exists()

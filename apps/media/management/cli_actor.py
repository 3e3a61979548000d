"""Who a management command acts as: the trusted local operator, or a named user (``--user NAME``)."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError, CommandParser

from apps.media.access import LOCAL_OPERATOR, Actor


def add_user_argument(parser: CommandParser, what: str) -> None:
    parser.add_argument("--user", default="", help=f"act as this user: {what} (default: the local operator, full rights)")


def actor_for(username: str) -> Actor:
    """A local command is trusted: without a name it has full rights and needs no account to exist."""
    if not username:
        return LOCAL_OPERATOR
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.is_active:
        raise CommandError(f"no active user '{username}' (create one with: python manage.py createsuperuser, or in the admin)")
    return user

"""Request rate limits for the expensive endpoints: search and explain (a model call each) and uploads.

Anonymous clients share a bucket per IP address, signed-in users have one each, so one busy user
neither uses up nor escapes the anonymous limit. Rates come from settings.THROTTLE_RATES (env
VIDEOSEARCH_THROTTLE_*), read on every request: DRF's own THROTTLE_RATES are bound once at import,
which neither a test's ``settings`` fixture nor a reconfigured process would reach. Over the limit,
DRF answers 429 with Retry-After (JSON through apps/core/api_errors.py).
"""
from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

logger = logging.getLogger(__name__)

#: Rate values that switch a limit off.
UNLIMITED = {"", "off", "none"}


class SettingsRateThrottle(SimpleRateThrottle):
    """A SimpleRateThrottle for one kind of client (anonymous or signed in), its rate read from settings."""

    scope: str
    authenticated: bool
    #: The viewset actions it limits (e.g. only "create" of an upload viewset); None: every request.
    actions: frozenset[str] | None = None

    def get_rate(self) -> str | None:
        rate = str(settings.THROTTLE_RATES.get(self.scope) or "").strip()
        return None if rate.lower() in UNLIMITED else rate

    def parse_rate(self, rate: str | None) -> tuple[int | None, int | None]:
        try:
            return super().parse_rate(rate)
        except (ValueError, KeyError, IndexError) as exc:
            raise ImproperlyConfigured(
                f"throttle rate {self.scope}={rate!r}: expected N/second, N/minute, N/hour, N/day or off") from exc

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        if self.actions is not None and getattr(view, "action", None) not in self.actions:
            return None
        user = request.user
        if bool(user and user.is_authenticated) != self.authenticated:
            return None  # the other kind of client: counted by the other throttle
        ident = user.pk if self.authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache (Redis) is down: serve rather than fail every request
            logger.warning("throttle %s: cache unavailable, request let through", self.scope, exc_info=True)
            return True


class SearchAnonThrottle(SettingsRateThrottle):
    scope = "search_anon"
    authenticated = False


class SearchUserThrottle(SettingsRateThrottle):
    scope = "search_user"
    authenticated = True


class UploadAnonThrottle(SettingsRateThrottle):
    scope = "upload_anon"
    authenticated = False
    actions = frozenset({"create"})


class UploadUserThrottle(SettingsRateThrottle):
    scope = "upload_user"
    authenticated = True
    actions = frozenset({"create"})

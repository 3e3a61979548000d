"""Content-Security-Policy on every response: pages, admin, API answers, static and media files.

Django 5.2 has no CSP support of its own. The policy comes from settings.CONTENT_SECURITY_POLICY (env
VIDEOSEARCH_CSP), read per response so tests and a reconfigured process see the current value; an
empty policy sends no header. Our templates need no exception: scripts and styles are static files,
heat strips are drawn with SVG attributes, never style="" (templates/search/_heat_strip.html).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # settings.py imports this module: nothing here may need configured settings at import
    from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"

#: Everything from this site only; no inline script or style, no plugins, no framing, forms post here.
#: data: images for the favicon (href="data:,"); blob: images and media for files a script shows from memory.
STRICT_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    "script-src 'self'",
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])

#: Added for DRF's browsable API pages only: its templates (not ours) put style="" on a few layout
#: elements and the syntax colours in a <style> element. Styles only: every inline script stays blocked.
BROWSABLE_API_EXTRA = "style-src-elem 'self' 'unsafe-inline'; style-src-attr 'unsafe-inline'"


def policy_for(response: HttpResponse) -> str:
    """The policy to send with ``response``: the configured one, relaxed for the browsable API."""
    policy = settings.CONTENT_SECURITY_POLICY.strip().rstrip(";").strip()
    renderer = getattr(response, "accepted_renderer", None)
    if policy and getattr(renderer, "format", None) == "api":
        policy = f"{policy}; {BROWSABLE_API_EXTRA}"
    return policy


class ContentSecurityPolicyMiddleware:
    """Set the Content-Security-Policy header unless the view set its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = policy_for(response)
        if policy and HEADER not in response:
            response[HEADER] = policy
        return response

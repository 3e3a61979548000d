"""``{% js_strings %}``: the words our scripts show, translated, as a JSON data block (``#js-strings``).

The Content-Security-Policy forbids inline executable scripts and ``eval`` (so no JavaScriptCatalog);
a ``<script type="application/json">`` block is data, not code, and the scripts read it with
``JSON.parse``. ``{time}`` in a string is filled in by the script. base.html renders it on every page.
"""
from __future__ import annotations

from django import template
from django.utils.html import json_script
from django.utils.safestring import SafeString
from django.utils.translation import gettext

register = template.Library()


def strings() -> dict[str, str]:
    """Key -> text in the active language (keys are what static/js/*.js look up)."""
    return {
        # static/js/search.js: the caption over a "why?" heat map
        "heatmap_caption": gettext("Where the frame matches the query (red = strongest)"),
        # static/js/player.js: the caption of an unbounded play
        "from_time": gettext("from {time}"),
        # static/js/heat_strip.js: the strip's tooltip under the pointer
        "play_from_time": gettext("Play from {time}"),
    }


@register.simple_tag
def js_strings() -> SafeString:
    return json_script(strings(), "js-strings")

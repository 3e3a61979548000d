"""Request body parsers that turn every malformed body into a 400, never a 500."""
from __future__ import annotations

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, plus: a body nested deeper than Python's decoder can recurse ("[[[[...") is a
    parse error like any other bad JSON (DRF only catches ValueError, so it used to answer 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - nested too deeply") from exc

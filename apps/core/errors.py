"""Errors raised below both apps and answered the same way by every entry point.

:class:`ModelUnavailableError` is raised by the embedders (apps/search/embedders, which re-export it) when a
model cannot be loaded, and by media when a collection names a model the operator took off the list
(``models_allowed.UnconfiguredModelError``): the API answers both with 503, the pages and commands with
the message. It lives here, under both apps, so that media need not import search to raise it.
Plain Python: no Django, no backend.
"""
from __future__ import annotations


class ModelUnavailableError(RuntimeError):
    """Weights or tokenizer files are missing (typically offline); the message says what to fetch and where."""

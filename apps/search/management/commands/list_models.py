"""manage.py list_models: the models collections may use (settings.EMBEDDERS), for operators.

``--known`` lists instead what the server can build: the spec forms and the models the embedder registry
knows of (apps/search/embedders/registry.py), to choose an entry for VIDEOSEARCH_EMBEDDERS.
"""
from __future__ import annotations

import json
from collections import Counter

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.media.models import Collection
from apps.media.services.models_allowed import DEFAULT_NAME, allowed_models


class Command(BaseCommand):
    help = ("List the models clients may choose for a collection (name, spec, collections using it). "
            "Add one with VIDEOSEARCH_EMBEDDERS=name=spec,...; the default is VIDEOSEARCH_EMBEDDER.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--known", action="store_true",
                            help="list the spec forms and known models the server can build, not the configured ones")

    def handle(self, *args, **options) -> None:
        if options["known"]:
            self._known(as_json=options["json"])
            return
        models = allowed_models()
        used = Counter(name or DEFAULT_NAME for name in Collection.objects.values_list("embedder", flat=True))
        rows = [{"name": name, "spec": spec, "default": name == DEFAULT_NAME, "collections": used.pop(name, 0)}
                for name, spec in models.items()]
        unlisted = dict(sorted(used.items()))  # names collections still hold that are off the list
        if options["json"]:
            self.stdout.write(json.dumps({"models": rows, "unlisted": unlisted}, indent=2))
            return
        width, spec_width = (max(len(row[key]) for row in rows) for key in ("name", "spec"))
        for row in rows:
            note = "  the default (blank or 'default')" if row["default"] else ""
            self.stdout.write(f"{row['name']:<{width}}  {row['spec']:<{spec_width}}  "
                              f"{row['collections']} collection(s){note}")
        for name, count in unlisted.items():
            self.stdout.write(self.style.WARNING(f"{name}: not configured, yet used by {count} collection(s)"))

    def _known(self, *, as_json: bool) -> None:
        from apps.search.embedders.registry import SPEC_FORMS, list_known_models

        known = [{"spec": spec, "about": about, "default": spec == settings.EMBEDDER}
                 for spec, about in list_known_models().items()]
        if as_json:
            self.stdout.write(json.dumps({"forms": list(SPEC_FORMS), "known": known}, indent=2))
            return
        self.stdout.write("spec forms: " + "; ".join(SPEC_FORMS))
        width = max(len(row["spec"]) for row in known)
        for row in known:
            note = "  (the default)" if row["default"] else ""
            self.stdout.write(f"{row['spec']:<{width}}  {row['about']}{note}")

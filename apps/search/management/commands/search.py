"""manage.py search --collection NAME (--text "..." | --image FILE) [--top K] [--json]."""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.media.services.collections import UnknownCollectionError, resolve_collection
from apps.search.embedders.base import ModelUnavailableError
from apps.search.images import ImageLoadError, open_image
from apps.search.index import IndexModelMismatchError
from apps.search.serializers import response_to_dict
from apps.search.service import SearchError, search


class Command(BaseCommand):
    help = "Search a collection by text (Russian or English) or by example image; prints ranked clips and photos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", required=True)
        query = parser.add_mutually_exclusive_group(required=True)
        query.add_argument("--text")
        query.add_argument("--image", type=Path)
        parser.add_argument("--top", type=int, default=10)
        parser.add_argument("--json", action="store_true", help="print the API's JSON")

    def handle(self, *args, collection: str, text: str | None, image: Path | None, top: int, **options) -> None:
        try:
            target = resolve_collection(collection)
            picture = open_image(image, max_pixels=settings.MAX_IMAGE_PIXELS) if image else None
            response = search(target, text=text, image=picture, top_k=top)
        except FileNotFoundError as exc:
            raise CommandError(f"no such image file: {exc.filename}") from exc
        except (UnknownCollectionError, SearchError, ImageLoadError, IndexModelMismatchError,
                ModelUnavailableError) as exc:
            raise CommandError(str(exc)) from exc
        data = response_to_dict(response, None)
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if data["query"]["embedded_texts"]:
            self.stdout.write("embedded: " + " | ".join(data["query"]["embedded_texts"]))
        for warning in data["warnings"]:
            self.stdout.write(f"warning: {warning}")
        for rank, r in enumerate(data["results"], 1):
            head = f"{rank:>3}. {_relevance(r)}  {r['score']:.4f}"
            if r["type"] == "clip":
                self.stdout.write(
                    f"{head}  clip  {r['video']['name']}  {r['start']:.2f}-{r['end']:.2f}s"
                    f"  ({'exact frame' if r['exact_frame'] else 'best'} {r['best_time']:.2f}s)  {r['play_url']}"
                )
            else:
                self.stdout.write(f"{head}  photo {r['photo']['name']}  {r['photo']['url']}")
        if not data["results"]:
            self.stdout.write("no results (is anything indexed in this collection?)")


def _relevance(result: dict) -> str:
    """``" 87%"``, or ``" 12%?"`` for a low-confidence result: readable beside the raw score."""
    if result.get("relevance") is None:
        return "   - "
    return f"{round(100 * result['relevance']):>3}%{'?' if result['low_confidence'] else ' '}"

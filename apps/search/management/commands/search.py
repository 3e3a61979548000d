"""manage.py search --collection NAME [--text "..."] [--image FILE [--image-weight W]] [--top K] [--offset N]
[--group-by video] [--json].

Text and image may be given together: both are terms of one query (see apps/search/query_spec.py). The options
become the API's search request, checked by its SearchRequestSerializer (the same rules and messages as the API).
"""
from __future__ import annotations

import contextlib
import json
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.media.management.cli_actor import actor_for, add_user_argument
from apps.media.services.collections import UnknownCollectionError, resolve_collection
from apps.search.embedders.base import ModelUnavailableError
from apps.search.index import IndexModelMismatchError
from apps.search.page import validated
from apps.search.query_spec import QueryError
from apps.search.serializers import response_to_dict
from apps.search.service import GROUP_BY, SearchError, search_validated


class Command(BaseCommand):
    #: A search changes nothing, and the system checks (URLs, models, admin) cost a fresh shell about 0.3 s
    #: of its start-up; `manage.py check`, migrate and the server run them.
    requires_system_checks: list[str] = []
    help = "Search a collection by text (Russian or English), example image, or both; prints ranked clips and photos."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--collection", required=True)
        add_user_argument(parser, "search only what that user may see")
        parser.add_argument("--text", help="query text; 'red car -night' subtracts, 'car:2 + road' weights terms")
        parser.add_argument("--text-in-video", help="words to find in subtitles and on-screen text only "
                            "(also: a \"quoted phrase\" in --text)")
        parser.add_argument("--image", type=Path, help="example image; combined with --text when both are given")
        parser.add_argument("--image-weight", type=float, help="weight of the example image (default 1)")
        parser.add_argument("--top", type=int, default=10, help="results per page")
        parser.add_argument("--offset", type=int, default=0, help="skip this many results (the next page)")
        parser.add_argument("--group-by", choices=GROUP_BY, default="clip",
                            help="clip: ranked moments; video: ranked videos with all their matching moments")
        parser.add_argument("--timeline", action="store_true", help="with --json: each listed video's score over time")
        parser.add_argument("--json", action="store_true", help="print the API's JSON")

    def handle(self, *args, collection: str, text: str | None, image: Path | None, image_weight: float | None,
               top: int, **options) -> None:
        request: dict = {"collection": collection, "top_k": top, "offset": options["offset"],
                         "group_by": options["group_by"], "timeline": options["timeline"]}
        request.update((key, value) for key, value in (("text", text), ("image_weight", image_weight),
                                                       ("text_in_video", options.get("text_in_video"))) if value is not None)
        try:
            with open(image, "rb") if image else contextlib.nullcontext() as picture:
                if picture is not None:
                    request["image"] = File(picture, name=Path(image).name)
                params = validated(request)
            target = resolve_collection(params["collection"], actor_for(options["user"]))
            response = search_validated(target, params)
        except FileNotFoundError as exc:
            raise CommandError(f"no such image file: {exc.filename}") from exc
        except (UnknownCollectionError, QueryError, SearchError, IndexModelMismatchError, ModelUnavailableError) as exc:
            raise CommandError(str(exc)) from exc
        data = response_to_dict(response, None)
        if options["json"]:
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        if data["query"]["embedded_texts"]:
            self.stdout.write("embedded: " + " | ".join(data["query"]["embedded_texts"]))
        for warning in data["warnings"]:
            self.stdout.write(f"warning: {warning}")
        for rank, r in enumerate(data["results"], data["offset"] + 1):
            head = f"{rank:>3}. {_relevance(r)}  {r['score']:.4f}"
            if r["type"] == "clip":
                self.stdout.write(f"{head}  clip  {r['video']['name']}  {_clip_line(r)}")
                for line in _words_lines(r):
                    self.stdout.write(line)
            elif r["type"] == "video":
                self.stdout.write(f"{head}  video {r['video']['name']}  {len(r['clips'])} moment(s)")
                for clip in r["clips"]:
                    self.stdout.write(f"       {_relevance(clip)}  {clip['score']:.4f}  {_clip_line(clip)}")
            else:
                self.stdout.write(f"{head}  photo {r['photo']['name']}  {r['photo']['url']}")
        if not data["results"]:
            self.stdout.write("no results (is anything indexed in this collection?)")
        elif data["next_offset"] is not None:
            self.stdout.write(f"more: --offset {data['next_offset']} ({data['total']} in all)")


def _clip_line(r: dict) -> str:
    return (f"{r['start']:.2f}-{r['end']:.2f}s  ({'exact frame' if r['exact_frame'] else 'best'} "
            f"{r['best_time']:.2f}s)  {r['play_url']}")


def _words_lines(r: dict) -> list[str]:
    """Why a clip matched in words: each cue or line of on-screen text, with its matched words."""
    return [f"       {m['source']} {m['start']:.2f}-{m['end']:.2f}s: {m['text']!r}  words: {', '.join(m['words'])}"
            for m in r.get("text_matches", [])[:3]]


def _relevance(result: dict) -> str:
    """``" 87%"``, or ``" 12%?"`` for a low-confidence result: readable beside the raw score."""
    if result.get("relevance") is None:
        return "   - "
    return f"{round(100 * result['relevance']):>3}%{'?' if result['low_confidence'] else ' '}"

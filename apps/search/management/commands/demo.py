"""manage.py demo: the offline demo end to end, with nothing but this repository (and ../shared/media if present).

Generates a video with known segments and a few photos, ingests them with the bundled model, asks a
query per segment in English and Russian, reports rank-1 clips with their temporal IoU, then serves
the web page.
"""
from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from apps.media.models import Collection
from apps.search.embedders.registry import get_embedder
from apps.search.query_spec import build_query
from apps.search.reindex import rebuild_collection_index
from apps.search.service import ClipResult, search
from apps.search.temporal import temporal_iou
from apps.search.testmodel.demo_video import make_demo_photos, make_demo_video
from apps.search.vectors import collection_index

SHARED_MEDIA = Path(settings.BASE_DIR).parent / "shared" / "media"


class Command(BaseCommand):
    help = "Run the offline demo: generated media + ../shared/media, example searches, then the web server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--no-serve", action="store_true", help="stop after the example searches")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--json", action="store_true", help="print the example-search report as JSON")

    def _rebuild_if_model_changed(self, collection: Collection) -> None:
        """A re-run after the bundled model was retrained: re-embed instead of refusing to search."""
        built_by = collection_index(collection).info().model_id
        if built_by and built_by != get_embedder(collection.embedder_spec).model_id:
            self.stdout.write(f"collection '{collection.name}' was indexed by {built_by}: rebuilding ...")
            rebuild_collection_index(collection)

    def handle(self, *args, no_serve: bool, port: int, **options) -> None:
        generated = Path(settings.DATA_DIR) / "generated"
        generated.mkdir(parents=True, exist_ok=True)
        video_path = generated / "demo_scenes.mp4"
        self.stdout.write(f"generating {video_path} and demo photos ...")
        segments = make_demo_video(video_path)
        photos = make_demo_photos(generated / "photos")

        demo, _ = Collection.objects.get_or_create(name="demo", defaults={"embedder": "testmodel", "public": True})
        self._rebuild_if_model_changed(demo)
        self.stdout.write("ingesting the generated media into collection 'demo' ...")
        call_command("ingest", str(generated), collection=demo.name, stdout=self.stdout)
        if SHARED_MEDIA.is_dir():
            self.stdout.write(f"ingesting {SHARED_MEDIA} into collection 'shared-media' ...")
            call_command("ingest", str(SHARED_MEDIA / "videos"), collection="shared-media", model="testmodel",
                         public=True, stdout=self.stdout)
            call_command("ingest", str(SHARED_MEDIA / "photos" / "skimage"), collection="shared-media",
                         stdout=self.stdout)
            self._rebuild_if_model_changed(Collection.objects.get(name="shared-media"))

        # the demo's page is for anyone who opens it: its collections are public (read-only search)
        Collection.objects.filter(name__in=["demo", "shared-media"]).update(public=True)
        report = []
        for seg in segments:
            for lang, caption in (("en", seg.caption_en), ("ru", seg.caption_ru)):
                response = search(demo, build_query(text=caption), top_k=3, media="videos")
                top = next((r for r in response.results if isinstance(r, ClipResult)), None)
                iou = temporal_iou((top.clip.start, top.clip.end), (seg.start, seg.end)) if top else 0.0
                report.append({
                    "query": caption, "lang": lang, "truth": [seg.start, seg.end],
                    "top_clip": [round(top.clip.start, 2), round(top.clip.end, 2)] if top else None,
                    "tiou": round(iou, 3),
                })
        hits = sum(r["tiou"] >= 0.8 for r in report)
        if options["json"]:
            self.stdout.write(json.dumps({"queries": report, "rank1_tiou_ge_0.8": hits, "total": len(report)},
                                         ensure_ascii=False, indent=2))
        else:
            for r in report:
                self.stdout.write(f"  [{r['lang']}] {r['query']!r:45} -> {r['top_clip']}  truth {r['truth']}  "
                                  f"tIoU {r['tiou']:.2f}")
            self.stdout.write(self.style.SUCCESS(f"{hits}/{len(report)} queries: rank-1 clip with tIoU >= 0.8"))
        self.stdout.write(f"{len(photos)} demo photos indexed too; try: python manage.py search --collection demo "
                          f"--text \"{segments[0].caption_ru}\"")
        if not no_serve:
            self.stdout.write(self.style.SUCCESS(f"serving http://127.0.0.1:{port}/ (Ctrl-C to stop); the demo "
                                                 "collections are public: log in (manage.py createsuperuser) to add your own"))
            call_command("runserver", f"127.0.0.1:{port}", use_reloader=False)

"""``manage.py export_onnx --model SPEC --out DIR``: ONNX export of an open_clip model's two towers."""
from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from apps.search.embedders.base import ModelUnavailableError


class Command(BaseCommand):
    help = "Export the image and text towers of an open_clip embedder to ONNX (image.onnx, text.onnx, meta.json)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--model", default=None,
                            help="embedder spec, e.g. open_clip:ViT-B-32/openai or testmodel "
                                 "(default: settings.EMBEDDER)")
        parser.add_argument("--out", required=True, help="output folder (replaced atomically)")
        parser.add_argument("--opset", type=int, default=17)

    def handle(self, *args, model: str | None, out: str, opset: int, **options) -> None:
        from apps.search.embedders.openclip_backend import OpenClipEmbedder
        from apps.search.embedders.registry import get_embedder
        from apps.search.onnx_export import export_onnx

        try:
            embedder = get_embedder(model)
        except (ModelUnavailableError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        if not isinstance(embedder, OpenClipEmbedder):
            raise CommandError(
                f"only open_clip models can be exported; {embedder.model_id} is {type(embedder).__name__}")
        folder = export_onnx(embedder, Path(out), opset=opset)
        meta = json.loads((folder / "meta.json").read_text())
        self.stdout.write(json.dumps({"out": str(folder), "model_id": meta["model_id"], "dim": meta["dim"],
                                      "spec": f"onnx:{folder.resolve()}"}))

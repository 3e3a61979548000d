"""``manage.py evaluate {testmodel,retrieval,zeroshot,speed,moments}``: model quality and speed, JSON or a table.

    evaluate testmodel [--json]
    evaluate retrieval --images DIR --captions FILE [--lang en|ru] [--model SPEC] [--json]
    evaluate zeroshot --dataset DIR --classes FILE [--lang en|ru] [--model SPEC] [--json]
    evaluate speed [--model SPEC] [--onnx DIR | --no-onnx] [--images N] [--batch B] [--queries Q] [--json]
    evaluate moments [--model SPEC] [--top-k K] [--keep-video DIR] [--json]
    evaluate text [--keep-videos DIR] [--also VIDEO ...] [--json]
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.search.embedders.base import ModelUnavailableError


def _flatten(result: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{name}."))
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows.extend(_flatten({str(i): v for i, v in enumerate(value)}, f"{name}."))
        else:
            rows.append((name, value))
    return rows


def format_table(result: dict[str, Any]) -> str:
    """Two aligned columns, one metric per line (nested keys joined with dots)."""
    rows = _flatten(result)
    width = max((len(k) for k, _ in rows), default=0)
    fmt = lambda v: f"{v:.4f}" if isinstance(v, float) else str(v)  # noqa: E731
    return "\n".join(f"{k.ljust(width)}  {fmt(v)}" for k, v in rows)


class Command(BaseCommand):
    help = "Evaluate an embedder: test-model recall, caption retrieval, zero-shot accuracy, torch vs ONNX speed."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)

        p = sub.add_parser("testmodel", help="held-out en/ru Recall@1/5/10 of the bundled test model")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("retrieval", help="text->image and image->text Recall@1/5/10 on a caption file")
        p.add_argument("--images", required=True, help="image folder")
        p.add_argument("--captions", required=True, help="COCO captions JSON or captions_en_ru.json-style file")
        p.add_argument("--lang", choices=("en", "ru"), default="en")
        p.add_argument("--model", default=None, help="embedder spec (default: settings.EMBEDDER)")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("zeroshot", help="top-1/top-5 accuracy on a folder-per-class dataset")
        p.add_argument("--dataset", required=True, help="folder with one sub-folder of images per class")
        p.add_argument("--classes", required=True, help="JSON or text file: folder -> class name")
        p.add_argument("--lang", choices=("en", "ru"), default="en")
        p.add_argument("--model", default=None)
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("speed", help="images/s and text latency, torch and ONNX side by side")
        p.add_argument("--model", default=None, help="open_clip spec (torch side)")
        p.add_argument("--onnx", default=None, help="export folder of the same model (default: export to a temp dir)")
        p.add_argument("--no-onnx", action="store_true", help="torch only")
        p.add_argument("--images", type=int, default=32, help="number of 640x360 images")
        p.add_argument("--batch", type=int, default=None, help="batch size (default: settings.EMBED_BATCH_SIZE)")
        p.add_argument("--queries", type=int, default=20, help="single text queries timed (median reported)")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("moments", help="moment retrieval (R1@tIoU, mAP@tIoU, recall of all occurrences) "
                                           "on a generated video with recurring scenes, en and ru")
        p.add_argument("--model", default="testmodel", help="embedder spec (default: the bundled test model)")
        p.add_argument("--top-k", type=int, default=10, help="results asked per query")
        p.add_argument("--keep-video", default=None, help="folder to keep the generated video in")
        p.add_argument("--json", action="store_true")

        p = sub.add_parser("text", help="words in the footage: OCR word recall/precision (per language and size) on "
                                        "generated burned-in text, OCR seconds against analysis seconds, quoted "
                                        "queries' R1@0.5 and fusion's change to the moment metrics")
        p.add_argument("--keep-videos", default=None, help="folder to keep the generated videos in")
        p.add_argument("--also", nargs="*", default=[], help="real videos to measure the OCR cost on as well")
        p.add_argument("--no-search", action="store_true", help="OCR figures only: skip ingesting and querying")
        p.add_argument("--json", action="store_true")

    def handle(self, *args, action: str, **options) -> None:
        try:
            result = getattr(self, f"_{action}")(**options)
        except (ModelUnavailableError, ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        if options.get("json"):
            self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(format_table(result))

    @staticmethod
    def _embedder(spec: str | None):
        from apps.search.embedders.registry import get_embedder

        return get_embedder(spec)

    def _testmodel(self, **options) -> dict:
        from apps.search.testmodel.evaluation import evaluate_testmodel

        embedder = self._embedder("testmodel")
        return {"model_id": embedder.model_id, **evaluate_testmodel(embedder)}

    def _retrieval(self, *, images: str, captions: str, lang: str, model: str | None, **options) -> dict:
        from apps.search.evaluation.datasets import load_caption_dataset
        from apps.search.evaluation.retrieval import evaluate_retrieval

        return evaluate_retrieval(self._embedder(model), load_caption_dataset(images, captions, lang))

    def _zeroshot(self, *, dataset: str, classes: str, lang: str, model: str | None, **options) -> dict:
        from apps.search.evaluation.datasets import load_class_dataset
        from apps.search.evaluation.zeroshot import evaluate_zeroshot

        return evaluate_zeroshot(self._embedder(model), load_class_dataset(dataset, classes, lang))

    def _moments(self, *, model: str, top_k: int, keep_video: str | None, **options) -> dict:
        from apps.search.evaluation.moments import evaluate_moments

        return evaluate_moments(model=model, top_k=top_k, workdir=Path(keep_video) if keep_video else None)

    def _text(self, *, keep_videos: str | None, also: list[str], no_search: bool, **options) -> dict:
        from apps.search.evaluation.text_eval import evaluate_text

        return evaluate_text(Path(keep_videos) if keep_videos else None, [Path(p) for p in also],
                             search=not no_search)

    def _speed(self, *, model: str | None, onnx: str | None, no_onnx: bool, images: int, batch: int | None,
               queries: int, **options) -> dict:
        from apps.search.embedders.onnx_backend import OnnxEmbedder
        from apps.search.embedders.openclip_backend import OpenClipEmbedder
        from apps.search.evaluation.speed import compare_torch_onnx
        from apps.search.onnx_export import export_onnx

        torch_emb = self._embedder(model)
        if batch:
            torch_emb.batch_size = batch  # the cached embedder: restore afterwards
        previous = getattr(torch_emb, "batch_size", None)
        tmp = None
        try:
            onnx_emb = None
            if not no_onnx:
                folder = Path(onnx) if onnx else None
                if folder is None:
                    if not isinstance(torch_emb, OpenClipEmbedder):
                        raise CommandError(f"{torch_emb.model_id} cannot be exported to ONNX; pass --no-onnx")
                    tmp = Path(tempfile.mkdtemp(prefix="vs-speed-onnx-"))
                    folder = export_onnx(torch_emb, tmp / "export")
                onnx_emb = OnnxEmbedder(folder, batch_size=batch or previous or 32)
                if onnx_emb.model_id != torch_emb.model_id:
                    raise CommandError(f"--onnx {folder} holds {onnx_emb.model_id}, not {torch_emb.model_id}")
            result = compare_torch_onnx(torch_emb, onnx_emb, n_images=images, n_queries=queries)
            return {"batch": batch or previous, **result}
        finally:
            if batch and previous is not None:
                torch_emb.batch_size = previous
            if tmp is not None:
                shutil.rmtree(tmp, ignore_errors=True)

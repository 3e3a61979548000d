"""The committed test model, loaded the way the service loads any open_clip model, must really work."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from apps.search.prompts import expand_query
from apps.search.testmodel import TESTMODEL_CHECKPOINT, TESTMODEL_NAME, register_testmodel_config
from apps.search.testmodel.demo_video import make_demo_photos, make_demo_video
from apps.search.testmodel.evaluation import evaluate_testmodel

MAX_CHECKPOINT_BYTES = 20 * 1024 * 1024


class OpenClipAdapter:
    """Minimal Embedder-protocol wrapper around open_clip's model, preprocess and tokenizer."""

    def __init__(self, model: torch.nn.Module, preprocess, tokenizer) -> None:
        self.model, self.preprocess, self.tokenizer = model.eval(), preprocess, tokenizer
        self.model_id = f"open_clip:{TESTMODEL_NAME}/{TESTMODEL_CHECKPOINT.name}"
        self.dim = int(model.text_projection.shape[1])

    @torch.no_grad()
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        x = torch.stack([self.preprocess(im.convert("RGB")) for im in images])
        return self.model.encode_image(x, normalize=True).numpy().astype(np.float32)

    @torch.no_grad()
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self.model.encode_text(self.tokenizer(list(texts)), normalize=True).numpy().astype(np.float32)


@pytest.fixture(scope="module")
def embedder() -> OpenClipAdapter:
    import open_clip

    torch.set_num_threads(2)
    register_testmodel_config()
    model, _, preprocess = open_clip.create_model_and_transforms(TESTMODEL_NAME, pretrained=str(TESTMODEL_CHECKPOINT))
    return OpenClipAdapter(model, preprocess, open_clip.get_tokenizer(TESTMODEL_NAME))


def test_checkpoint_is_small_enough_for_git() -> None:
    assert TESTMODEL_CHECKPOINT.stat().st_size <= MAX_CHECKPOINT_BYTES


def test_heldout_text_to_image_recall(embedder: OpenClipAdapter) -> None:
    metrics = evaluate_testmodel(embedder)
    assert metrics["n_queries"] == metrics["gallery"] == 200
    for lang in ("en", "ru"):
        assert metrics[lang]["R@1"] >= 0.9, metrics
        assert metrics[lang]["R@5"] >= metrics[lang]["R@1"]


def _probe_duration(path: Path) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "json", str(path)],
        check=True, capture_output=True, text=True,
    ).stdout
    return float(json.loads(out)["format"]["duration"])


def _frame_at(path: Path, t: float) -> Image.Image:
    raw = subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True,
    ).stdout
    return Image.frombytes("RGB", (640, 360), raw)


def test_demo_video_duration_and_segments(tmp_path: Path, embedder: OpenClipAdapter) -> None:
    path = tmp_path / "demo.mp4"
    segments = make_demo_video(path)
    assert abs(_probe_duration(path) - segments[-1].end) <= 0.1
    assert segments[0].start == 0 and all(a.end == b.start for a, b in zip(segments, segments[1:]))
    assert all(4 <= s.end - s.start <= 8 for s in segments)
    assert len({s.caption_en for s in segments}) == len({s.caption_ru for s in segments}) == len(segments)

    # Decoded (re-encoded) frames from the middle of each segment are found by that segment's caption.
    frames = embedder.encode_images([_frame_at(path, (s.start + s.end) / 2) for s in segments])
    for texts in ([s.caption_en for s in segments], [s.caption_ru for s in segments]):
        best = (embedder.encode_texts(texts) @ frames.T).argmax(axis=1)
        assert best.tolist() == list(range(len(segments))), texts


def test_demo_photos_found_by_templated_queries(tmp_path: Path, embedder: OpenClipAdapter) -> None:
    photos = make_demo_photos(tmp_path, n=8)
    assert len({p.name for p, _, _ in photos}) == 8 and all(p.is_file() for p, _, _ in photos)
    images = embedder.encode_images([Image.open(p) for p, _, _ in photos])
    for lang in (1, 2):
        queries = []
        for photo in photos:
            emb = embedder.encode_texts(expand_query(photo[lang])).mean(axis=0)  # CLIP-style template ensemble
            queries.append(emb / np.linalg.norm(emb))
        assert (np.stack(queries) @ images.T).argmax(axis=1).tolist() == list(range(len(photos)))

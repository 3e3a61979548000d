"""Text-to-image and image-to-text retrieval Recall@K on a caption dataset."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PIL import Image

from apps.search.embedders.base import Embedder
from apps.search.evaluation.datasets import CaptionDataset
from apps.search.evaluation.metrics import recall_at_k

#: Generous: evaluation photos are trusted files, but a decompression bomb should still be refused.
EVAL_MAX_PIXELS = 80_000_000


def load_images(paths: Sequence[Path]) -> list[Image.Image]:
    """Open images the way the service does (EXIF orientation, RGB, bounded size)."""
    from apps.search.images import open_image

    return [open_image(p, max_pixels=EVAL_MAX_PIXELS) for p in paths]


def evaluate_retrieval(embedder: Embedder, data: CaptionDataset, ks: Sequence[int] = (1, 5, 10)) -> dict:
    """Text-to-image and image-to-text Recall@K. Captions are embedded as given (no templates)."""
    image_emb = embedder.encode_images(load_images(data.image_paths))
    text_emb = embedder.encode_texts(data.captions)
    sims = text_emb @ image_emb.T
    t2i = recall_at_k(sims, [[i] for i in data.caption_image], ks)
    captions_of: list[list[int]] = [[] for _ in data.image_paths]
    for j, i in enumerate(data.caption_image):
        captions_of[i].append(j)
    i2t = recall_at_k(sims.T, captions_of, ks)
    return {"model_id": embedder.model_id, "lang": data.lang, "images": len(data.image_paths),
            "captions": len(data.captions), "text_to_image": t2i, "image_to_text": i2t}

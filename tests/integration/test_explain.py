"""Occlusion heat maps: shape, determinism, and heat where the matching content is."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.search.embedders import get_embedder
from apps.search.embedders.common import l2_normalize
from apps.search.explain import explain_match, explain_png, occlusion_map
from apps.search.query import embed_image_query
from tests.support import shared_media as shared
from tests.support.random_models import tiny_checkpoint

#: Every test here explains a match on a real photo (left_photo): skip without it (fail in CI).
pytestmark = pytest.mark.usefixtures("shared_media")


def left_photo() -> Image.Image:
    """A real photo (../shared/media): the test skips without it (fails in CI) rather than going on with a
    stand-in the assertions were not made for."""
    photo = shared.require() / "photos" / "skimage" / "astronaut.png"
    return Image.open(photo).convert("RGB").resize((112, 224))


def composite() -> Image.Image:
    """Left half: a photo; right half: uniform noise."""
    rng = np.random.default_rng(0)
    img = Image.new("RGB", (224, 224))
    img.paste(left_photo(), (0, 0))
    img.paste(Image.fromarray(rng.integers(0, 256, (224, 112, 3), dtype=np.uint8)), (112, 0))
    return img


class PixelEmbedder:
    """A transparent 'model': 16x16 grey pixels, mean-centred. Explain must work for any Embedder."""

    model_id = "test:pixels"
    dim = 256

    def encode_images(self, images):
        rows = [np.asarray(i.convert("L").resize((16, 16), Image.Resampling.BOX), np.float32).ravel()
                for i in images]
        x = np.stack(rows)
        return l2_normalize(x - x.mean(axis=1, keepdims=True))

    def encode_texts(self, texts):
        raise NotImplementedError


def left_right(heat: np.ndarray) -> tuple[float, float]:
    g = heat.shape[1]
    return float(heat[:, : g // 2].sum()), float(heat[:, (g + 1) // 2 :].sum())


def test_heat_sits_on_the_matching_half_pixel_model() -> None:
    img = composite()
    query_img = img.copy()
    query_img.paste(Image.new("RGB", (112, 224), (128, 128, 128)), (112, 0))  # only the left half matters
    embedder = PixelEmbedder()
    heat = occlusion_map(embedder, img, embedder.encode_images([query_img])[0], grid=7)
    left, right = left_right(heat)
    assert heat.shape == (7, 7) and (heat >= 0).all()
    assert left > 3 * right


def test_heat_sits_on_the_matching_half_open_clip(tmp_path: Path) -> None:
    """Query = embedding of the left-half photo alone; hiding its cells must cost more similarity."""
    embedder = get_embedder(tiny_checkpoint(tmp_path / "tiny.pt", seed=0))
    query = embed_image_query(embedder, left_photo())
    left, right = left_right(occlusion_map(embedder, composite(), query, grid=7))
    assert left > 2 * right


def test_heat_with_test_model() -> None:
    embedder = get_embedder("testmodel")
    query = embed_image_query(embedder, left_photo())
    left, right = left_right(occlusion_map(embedder, composite(), query, grid=7))
    assert left > right


def test_overlay_shape_determinism_and_png(tmp_path: Path) -> None:
    embedder = get_embedder(tiny_checkpoint(tmp_path / "tiny.pt", seed=0))
    img = composite().resize((600, 400))
    query = embed_image_query(embedder, left_photo())
    a = explain_match(embedder, img, query, grid=5)
    b = explain_match(embedder, img, query, grid=5)
    assert a.mode == "RGB" and a.size == (448, 299)  # working size: longest side 448
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert not np.array_equal(np.asarray(a), np.asarray(img.resize(a.size)))  # something was drawn
    png = explain_png(embedder, img, query, grid=3)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        occlusion_map(embedder, img, query, grid=0)


def test_explain_works_with_onnx_backend(tmp_path: Path) -> None:
    from apps.search.onnx_export import export_onnx

    torch_emb = get_embedder(tiny_checkpoint(tmp_path / "tiny.pt", seed=0))
    onnx_emb = get_embedder(f"onnx:{export_onnx(torch_emb, tmp_path / 'onnx')}")
    query = embed_image_query(torch_emb, left_photo())  # same embedding space
    h_onnx = occlusion_map(onnx_emb, composite(), query, grid=4)
    h_torch = occlusion_map(torch_emb, composite(), query, grid=4)
    np.testing.assert_allclose(h_onnx, h_torch, atol=2e-3)

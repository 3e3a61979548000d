"""ONNX export + serving: same embedding space as torch, torch-free request path, dynamic batch."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from django.core.management import call_command
from PIL import Image

from apps.search.embedders import ModelUnavailableError, get_embedder
from apps.search.embedders.onnx_backend import OnnxEmbedder
from apps.search.embedders.pil_preprocess import PreprocessParams, preprocess_image
from tests.support import shared_media as shared
from tests.support.random_models import tiny_checkpoint

TEXTS = ["a photo of a dog", "кошка на диване", "a man riding a bicycle " * 8]


def generated_images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    sizes = ((64, 64), (120, 200), (333, 250), (31, 45))
    images = [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in sizes]
    return images + [Image.new("L", (90, 60), 200), Image.new("RGBA", (50, 70), (10, 200, 30, 128))]


def real_frames() -> list[Image.Image]:
    """8 shared photos (../shared/media): the test skips without them (fails in CI), it does not go on with fewer."""
    photos = shared.require() / "photos"
    paths = sorted((photos / "skimage").glob("*.png")) + sorted((photos / "coco-mini" / "images").glob("*.jpg"))[:6]
    return [Image.open(p).convert("RGB") for p in paths]


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[str, Path]:
    """A tiny random open_clip model exported through the management command."""
    root = tmp_path_factory.mktemp("onnx")
    spec = tiny_checkpoint(root / "tiny.pt", seed=5)
    call_command("export_onnx", "--model", spec, "--out", str(root / "export"))
    return spec, root / "export"


def min_cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float((a * b).sum(axis=1).min())


def assert_parity(got: np.ndarray, ref: np.ndarray) -> None:
    """Same embeddings: each row of both unit length, their cosine (normalised, so a longer vector
    cannot make up for a different direction) and their plain dot product (what search computes) >= 0.999."""
    assert got.shape == ref.shape and got.dtype == np.float32
    for vectors in (got, ref):
        norms = np.linalg.norm(vectors, axis=1)
        assert np.abs(norms - 1.0).max() < 1e-3, f"not unit length: norms {norms.min():.4f}..{norms.max():.4f}"
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    assert min_cosine(unit(got), unit(ref)) >= 0.999
    assert min_cosine(got, ref) >= 0.999


def test_export_writes_graphs_and_meta(exported) -> None:
    spec, folder = exported
    meta = json.loads((folder / "meta.json").read_text())
    source = get_embedder(spec)
    assert meta["model_id"] == source.model_id and meta["dim"] == 32
    assert meta["image"] == {"input": "pixels", "size": [32, 32], "mean": list(source.preprocess_cfg["mean"]),
                             "std": list(source.preprocess_cfg["std"]), "interpolation": "bicubic",
                             "resize_mode": "shortest", "fill_color": 0}
    assert meta["tokenizer"]["type"] == "simple" and meta["tokenizer"]["context_length"] == 77
    assert (folder / "image.onnx").stat().st_size > 0 and (folder / "text.onnx").stat().st_size > 0


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_onnx_agrees_with_torch_on_generated_and_real_frames(exported) -> None:
    spec, folder = exported
    torch_emb, onnx_emb = get_embedder(spec), get_embedder(f"onnx:{folder}")
    assert onnx_emb.model_id == torch_emb.model_id  # one embedding space: indexes are interchangeable
    images = generated_images()
    assert_parity(onnx_emb.encode_images(images), torch_emb.encode_images(images))
    assert_parity(onnx_emb.encode_texts(TEXTS), torch_emb.encode_texts(TEXTS))
    frames = real_frames()
    assert_parity(onnx_emb.encode_images(frames), torch_emb.encode_images(frames))


def test_onnx_dynamic_batch_and_no_torch_module_runs(exported, monkeypatch) -> None:
    _, folder = exported
    onnx_emb = OnnxEmbedder(folder, batch_size=3)
    images = generated_images()  # 6 images -> batches of 3 and 3; then 1
    full = onnx_emb.encode_images(images)

    def forbidden(*args, **kwargs):
        raise AssertionError("a torch module ran in the ONNX request path")

    monkeypatch.setattr(torch.nn.Module, "__call__", forbidden)
    single = onnx_emb.encode_images(images[:1])
    assert full.shape == (6, 32) and full.dtype == np.float32
    np.testing.assert_allclose(single[0], full[0], atol=1e-5)
    assert onnx_emb.encode_texts(["x"] * 5).shape == (5, 32)


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_pil_preprocess_is_pixel_identical_to_open_clip() -> None:
    from open_clip.transform import image_transform

    images = generated_images() + real_frames()[:3]
    for cfg in ({"size": 224}, {"size": 64, "interpolation": "bilinear"}, {"size": 96, "resize_mode": "squash"},
                {"size": 96, "resize_mode": "longest", "fill_color": 9}, {"size": (96, 64)}):
        reference = image_transform(cfg["size"], False, resize_mode=cfg.get("resize_mode"),
                                    interpolation=cfg.get("interpolation"), fill_color=cfg.get("fill_color", 0))
        params = PreprocessParams.from_dict(cfg)
        for img in images:
            np.testing.assert_allclose(preprocess_image(img, params), reference(img).numpy(), atol=1e-6)


def test_missing_export_folder_is_model_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="export_onnx"):
        OnnxEmbedder(tmp_path / "nothing")


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_onnx_testmodel_is_exported_on_first_use(tmp_path: Path, settings) -> None:
    settings.MODEL_DIR = tmp_path
    onnx_emb = get_embedder("onnx:testmodel")
    torch_emb = get_embedder("testmodel")
    assert (tmp_path / "onnx" / "testmodel" / "meta.json").is_file()
    assert onnx_emb.model_id == torch_emb.model_id
    images = generated_images() + real_frames()
    assert_parity(onnx_emb.encode_images(images), torch_emb.encode_images(images))
    assert_parity(onnx_emb.encode_texts(TEXTS), torch_emb.encode_texts(TEXTS))


def test_hf_text_tower_export_keeps_model_in_eval_and_agrees(tmp_path: Path) -> None:
    """A transformers text tower (xlm-roberta type, with dropout) exports with its tokenizer files.

    Regression: the exporter restores the wrapper's (training) mode recursively; the served torch model
    must stay in eval mode, or dropout makes its embeddings random.
    """
    from apps.search.onnx_export import export_onnx
    from tests.support.random_models import random_checkpoint, register_tiny_hf_config, tiny_hf_text_folder

    hf = tiny_hf_text_folder(tmp_path / "hf")
    arch = register_tiny_hf_config(hf)
    ckpt = random_checkpoint(arch, tmp_path / "tiny-hf.pt", seed=2, pretrained_text=False)
    torch_emb = get_embedder(f"open_clip:{arch}@{ckpt}")
    texts = ["кошка на диване", "a red car at night " * 10, "a dog"]  # different lengths: padding matters
    before = torch_emb.encode_texts(texts)
    folder = export_onnx(torch_emb, tmp_path / "export")
    assert not torch_emb.model.training
    np.testing.assert_allclose(torch_emb.encode_texts(texts), before, atol=1e-6)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["tokenizer"]["type"] == "hf" and (folder / "tokenizer" / "tokenizer.json").is_file()
    onnx_emb = OnnxEmbedder(folder)
    assert_parity(onnx_emb.encode_texts(texts), before)
    images = generated_images()
    assert_parity(onnx_emb.encode_images(images), torch_emb.encode_images(images))

"""The model layer against plain open_clip / ruclip: same checkpoint and frame, same embedding.

Random-weight models (fixed seeds) stand in for downloaded weights: fidelity is a property of the
pipeline (preprocessing, tokenizer, pooling, normalisation), not of the weights.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from apps.search.embedders import ModelUnavailableError, get_embedder
from apps.search.embedders.base import Embedder
from apps.search.embedders.hub import hub_reachable, reset_probe
from apps.search.embedders.registry import clear_cache, list_known_models
from apps.search.query import embed_image_query, embed_text_query
from tests.support import shared_media as shared
from tests.support.random_models import TINY_ARCH, random_checkpoint, register_tiny_config, tiny_checkpoint

REPO = Path(__file__).resolve().parents[2]
TEXTS = ["a photo of a cat", "кошка на диване", "a red car on a road at night " * 3]


def real_frames(n: int = 3) -> list[Image.Image]:
    """Shared photos (../shared/media): the test skips without them (fails in CI), it does not go on with fewer."""
    paths = sorted((shared.require() / "photos" / "skimage").glob("*.png"))[:n]
    return [Image.open(p).convert("RGB") for p in paths]


def generated_frames() -> list[Image.Image]:
    rng = np.random.default_rng(1)
    return [Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)) for h, w in ((180, 320), (300, 200))]


def plain_open_clip(model: torch.nn.Module, arch: str, images, texts) -> tuple[np.ndarray, np.ndarray]:
    """Reference: open_clip's own transform/tokenizer/encode, normalised (no service code involved)."""
    import open_clip
    from open_clip.transform import PreprocessCfg, image_transform_v2

    preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    tokenizer = open_clip.get_tokenizer(arch)
    model.eval()
    with torch.no_grad():
        img = model.encode_image(torch.stack([preprocess(i) for i in images]))
        txt = model.encode_text(tokenizer(texts))
    norm = lambda x: (x / x.norm(dim=-1, keepdim=True)).numpy()  # noqa: E731
    return norm(img), norm(txt)


def assert_same_embeddings(embedder: Embedder, ref_img: np.ndarray, ref_txt: np.ndarray, images, texts) -> None:
    img = embedder.encode_images(images)
    txt = embedder.encode_texts(texts)
    for got, ref in ((img, ref_img), (txt, ref_txt)):
        assert got.dtype == np.float32 and got.shape == ref.shape
        np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(ref, axis=1), 1.0, atol=1e-5)
        cosine = (got * ref).sum(axis=1) / (np.linalg.norm(got, axis=1) * np.linalg.norm(ref, axis=1))
        assert cosine.min() >= 0.9999  # the direction, whatever the lengths
        assert (got * ref).sum(axis=1).min() >= 0.9999


@pytest.fixture(scope="module")
def vitb32(tmp_path_factory) -> tuple[str, torch.nn.Module]:
    """Random-init real ViT-B-32 (seed 0), saved and referenced by an open_clip:ARCH@path spec."""
    import open_clip

    path = tmp_path_factory.mktemp("vitb32") / "vitb32-random.pt"
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32")
    torch.save(model.state_dict(), path)
    return f"open_clip:ViT-B-32@{path}", model


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_vitb32_checkpoint_matches_plain_open_clip(vitb32) -> None:
    spec, model = vitb32
    images = real_frames(2) + generated_frames()
    ref_img, ref_txt = plain_open_clip(model, "ViT-B-32", images, TEXTS)
    embedder = get_embedder(spec)
    assert embedder.dim == 512
    assert_same_embeddings(embedder, ref_img, ref_txt, images, TEXTS)


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_testmodel_matches_plain_open_clip() -> None:
    import open_clip

    from apps.search.testmodel import TESTMODEL_CHECKPOINT, TESTMODEL_NAME, register_testmodel_config

    embedder = get_embedder("testmodel")  # first: without the committed checkpoint, ModelUnavailableError says so
    register_testmodel_config()
    model = open_clip.create_model(TESTMODEL_NAME, pretrained=str(TESTMODEL_CHECKPOINT))
    images = real_frames(3) + generated_frames()
    ref_img, ref_txt = plain_open_clip(model, TESTMODEL_NAME, images, TEXTS)
    assert embedder.model_id.startswith("testmodel:") and len(embedder.model_id) == len("testmodel:") + 12
    assert_same_embeddings(embedder, ref_img, ref_txt, images, TEXTS)


def test_model_id_is_stable_and_unique_per_weights(tmp_path: Path) -> None:
    a = get_embedder(tiny_checkpoint(tmp_path / "a.pt", seed=1))
    b = get_embedder(tiny_checkpoint(tmp_path / "b.pt", seed=2))
    shutil.copy(tmp_path / "a.pt", tmp_path / "a-copy.pt")
    a_copy = get_embedder(f"open_clip:{TINY_ARCH}@{tmp_path / 'a-copy.pt'}")
    assert a.model_id.startswith(f"open_clip:{TINY_ARCH}@sha256:")
    assert a.model_id == a_copy.model_id  # same bytes, same id, wherever the file lives
    assert a.model_id != b.model_id


def test_registry_caches_and_rejects_unknown_specs(tmp_path: Path, settings) -> None:
    spec = tiny_checkpoint(tmp_path / "t.pt")
    assert get_embedder(spec) is get_embedder(spec)
    settings.EMBEDDER = spec
    assert get_embedder() is get_embedder(spec)  # None -> settings.EMBEDDER
    for bad in ("clip:ViT-B-32", "open_clip:ViT-B-32", "open_clip:", "nonsense"):
        with pytest.raises(ValueError, match="open_clip:ARCH/PRETRAINED"):
            get_embedder(bad)
    assert "open_clip:ViT-B-32/openai" in list_known_models()


def test_batching_does_not_change_results(tmp_path: Path, settings) -> None:
    spec = tiny_checkpoint(tmp_path / "t.pt")
    one = get_embedder(spec)
    settings.EMBED_BATCH_SIZE = 2  # part of the cache key: a new embedder with small batches
    small = get_embedder(spec)
    assert small is not one and small.batch_size == 2
    images = generated_frames() * 3
    np.testing.assert_allclose(small.encode_images(images), one.encode_images(images), atol=1e-5)
    assert one.encode_images([]).shape == (0, one.dim)


def test_offline_missing_weights_fail_fast_with_instructions(tmp_path: Path, settings, monkeypatch) -> None:
    settings.MODEL_DIR = tmp_path / "models"
    if hub_reachable():  # on a machine with network, simulate the offline case
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    reset_probe()
    clear_cache()
    start = time.monotonic()
    with pytest.raises(ModelUnavailableError) as err:
        get_embedder("open_clip:ViT-B-32/openai")
    assert time.monotonic() - start < 20
    msg = str(err.value)
    for needle in ("timm/vit_base_patch32_clip_224.openai", "open_clip_pytorch_model.bin",
                   str((tmp_path / "models" / "open_clip" / "ViT-B-32" / "openai").resolve()), "VIDEOSEARCH_EMBEDDER"):
        assert needle in msg
    with pytest.raises(ModelUnavailableError) as err:
        get_embedder("open_clip:xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k")
    msg = str(err.value)
    for needle in ("laion/CLIP-ViT-B-32-xlm-roberta-base-laion5B-s13B-b90k", "FacebookAI/xlm-roberta-base",
                   "sentencepiece.bpe.model", "xlm-roberta-base-ViT-B-32/laion5b_s13b_b90k/xlm-roberta-base"):
        assert needle in msg
    assert time.monotonic() - start < 20


def test_weights_in_local_model_folder_are_used_with_tag_settings(vitb32, tmp_path: Path, settings) -> None:
    """open_clip:ViT-B-32/openai from MODEL_DIR/open_clip/ViT-B-32/openai/ with the tag's QuickGELU."""
    spec, _ = vitb32
    folder = tmp_path / "models" / "open_clip" / "ViT-B-32" / "openai"
    folder.mkdir(parents=True)
    shutil.copy(spec.split("@", 1)[1], folder / "open_clip_pytorch_model.bin")
    settings.MODEL_DIR = tmp_path / "models"
    embedder = get_embedder("open_clip:ViT-B-32/openai")
    assert embedder.model_id == "open_clip:ViT-B-32/openai"
    act = embedder.model.visual.transformer.resblocks[0].mlp.gelu
    assert type(act).__name__ == "QuickGELU"  # the openai tag was trained with QuickGELU


def test_backends_work_without_django(tmp_path: Path) -> None:
    script = f"""
import sys, json
from apps.search.embedders.registry import get_embedder, default_options
from tests.support.random_models import register_tiny_config
register_tiny_config()
e = get_embedder({tiny_checkpoint(tmp_path / 't.pt')!r})
v = e.encode_texts(['x'])
print(json.dumps({{"django": "django" in sys.modules, "dim": int(v.shape[1]), "dir": str(default_options()[0])}}))
"""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env["VIDEOSEARCH_MODEL_DIR"] = str(tmp_path / "m")
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"django": False, "dim": 32, "dir": str(tmp_path / "m")}


def test_text_query_averages_templates(tmp_path: Path) -> None:
    embedder = get_embedder(tiny_checkpoint(tmp_path / "t.pt"))
    q = embed_text_query(embedder, "  кошка  ")
    assert q.lang == "ru" and q.texts[0] == "кошка" and len(q.texts) == 4
    mean = embedder.encode_texts(q.texts).mean(axis=0)
    np.testing.assert_allclose(q.vector, mean / np.linalg.norm(mean), atol=1e-6)
    assert q.vector.dtype == np.float32
    long_q = embed_text_query(embedder, "a man riding a red bicycle down a busy street", lang="en")
    assert long_q.texts == ["a man riding a red bicycle down a busy street"]
    for empty in ("", "   "):
        with pytest.raises(ValueError):
            embed_text_query(embedder, empty)
    vec = embed_image_query(embedder, Image.new("L", (40, 30), 128))
    assert vec.shape == (32,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


# -- ruclip ---------------------------------------------------------------------------------------------
RU_SENTENCES = ["кошка сидит на диване", "собака бежит по траве", "красная машина едет по дороге",
                "человек на велосипеде", "фото: море и небо", "кадр из видео: город ночью"]
RU_CFG = {"embed_dim": 32, "image_resolution": 32, "vision_layers": 1, "vision_width": 64, "vision_patch_size": 8,
          "context_length": 16, "vocab_size": 100, "transformer_width": 32, "transformer_heads": 2,
          "transformer_layers": 1}


@pytest.fixture(scope="module")
def ruclip_dir(tmp_path_factory) -> Path:
    """MODEL_DIR with ruclip/tiny-test/{bpe.model, config.json, pytorch_model.bin}, random weights."""
    import youtokentome as yttm

    from apps.search.embedders.ruclip_compat import ruclip_model_module

    root = tmp_path_factory.mktemp("ruclip-models")
    folder = root / "ruclip" / "tiny-test"
    folder.mkdir(parents=True)
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(RU_SENTENCES * 20), encoding="utf-8")
    yttm.BPE.train(data=str(corpus), vocab_size=RU_CFG["vocab_size"], model=str(folder / "bpe.model"))
    (folder / "config.json").write_text(json.dumps(RU_CFG))
    torch.manual_seed(0)
    torch.save(ruclip_model_module().CLIP(**RU_CFG).state_dict(), folder / "pytorch_model.bin")
    return root


def test_ruclip_shim_imports_without_patching() -> None:
    import huggingface_hub

    from apps.search.embedders.ruclip_compat import ruclip_model_module, ruclip_processor_module

    assert hasattr(ruclip_model_module(), "CLIP") and hasattr(ruclip_processor_module(), "RuCLIPProcessor")
    assert "ruclip" not in sys.modules and not hasattr(huggingface_hub, "cached_download")


@pytest.mark.usefixtures("shared_media")  # real photos: skip without them (fail in CI)
def test_ruclip_backend_from_local_folder_matches_ruclip(ruclip_dir: Path, settings) -> None:
    from apps.search.embedders.ruclip_compat import ruclip_model_module, ruclip_processor_module

    settings.MODEL_DIR = ruclip_dir
    embedder = get_embedder("ruclip:tiny-test")
    assert embedder.model_id == "ruclip:tiny-test" and embedder.dim == 32
    folder = ruclip_dir / "ruclip" / "tiny-test"
    model = ruclip_model_module().CLIP.from_pretrained(str(folder)).eval()
    processor = ruclip_processor_module().RuCLIPProcessor.from_pretrained(str(folder))
    images = generated_frames() + real_frames(1)
    texts = ["Кошка на диване", "собака бежит по траве и " * 6]
    with torch.no_grad():
        ref_img = model.encode_image(processor(images=images)["pixel_values"])
        ref_txt = model.encode_text(processor(text=texts)["input_ids"])
    ref_img = (ref_img / ref_img.norm(dim=-1, keepdim=True)).numpy()
    ref_txt = (ref_txt / ref_txt.norm(dim=-1, keepdim=True)).numpy()
    assert_same_embeddings(embedder, ref_img, ref_txt, images, texts)
    q = embed_text_query(embedder, "кошка")
    assert q.vector.shape == (32,)


def test_ruclip_missing_weights_message(tmp_path: Path, settings, monkeypatch) -> None:
    settings.MODEL_DIR = tmp_path
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelUnavailableError) as err:
        get_embedder("ruclip:ruclip-vit-base-patch32-384")
    msg = str(err.value)
    for needle in ("ai-forever/ruclip-vit-base-patch32-384", "bpe.model", "config.json", "pytorch_model.bin",
                   str((tmp_path / "ruclip" / "ruclip-vit-base-patch32-384").resolve())):
        assert needle in msg


def test_random_checkpoint_helper_roundtrip(tmp_path: Path) -> None:
    register_tiny_config()
    path = random_checkpoint(TINY_ARCH, tmp_path / "x.pt", seed=3)
    assert torch.load(path, weights_only=True)["text_projection"].shape == (32, 32)


def test_default_multilingual_model_from_local_folder(tmp_path: Path, settings) -> None:
    """The default spec's offline layout: checkpoint + xlm-roberta config/tokenizer folder next to it.

    Random weights and a tiny xlm-roberta-type text model stand in for the real files; the service must
    load them through the tag spec and match plain open_clip built from the same files.
    """
    import copy

    import open_clip
    from open_clip.tokenizer import HFTokenizer
    from open_clip.transform import PreprocessCfg, image_transform_v2

    from tests.support.random_models import hf_text_checkpoint, tiny_hf_text_folder

    arch, tag = "xlm-roberta-base-ViT-B-32", "laion5b_s13b_b90k"
    folder = tmp_path / "models" / "open_clip" / arch / tag
    hf = tiny_hf_text_folder(folder / "xlm-roberta-base")
    ckpt = hf_text_checkpoint(arch, hf, folder / "open_clip_pytorch_model.bin")
    settings.MODEL_DIR = tmp_path / "models"
    embedder = get_embedder(f"open_clip:{arch}/{tag}")
    assert embedder.model_id == f"open_clip:{arch}/{tag}"

    text_cfg = copy.deepcopy(open_clip.get_model_config(arch)["text_cfg"])
    text_cfg.update(hf_model_name=str(hf), hf_tokenizer_name=str(hf), hf_model_pretrained=False)
    model = open_clip.create_model(arch, pretrained=str(ckpt), text_cfg=text_cfg).eval()
    preprocess = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    images, texts = generated_frames(), ["кошка на диване", "a red car at night", "a photo of a cat " * 20]
    with torch.no_grad():
        ref_img = model.encode_image(torch.stack([preprocess(i) for i in images]))
        ref_txt = model.encode_text(HFTokenizer(str(hf), context_length=text_cfg.get("context_length", 77))(texts))
    ref_img = (ref_img / ref_img.norm(dim=-1, keepdim=True)).numpy()
    ref_txt = (ref_txt / ref_txt.norm(dim=-1, keepdim=True)).numpy()
    assert_same_embeddings(embedder, ref_img, ref_txt, images, texts)

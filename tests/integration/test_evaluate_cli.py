"""``manage.py evaluate`` end to end on the shared real photos, with a tiny random model.

A random model's recall is near chance, so these tests check the plumbing (counts, JSON shape,
monotone recall, chance level) and the exact values against the same embeddings ranked in the test;
the bundled test model gives known answers (every plain colour named). The metric math itself is
unit-tested in tests/unit.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from apps.search.embedders import get_embedder
from apps.search.evaluation.datasets import load_caption_dataset
from apps.search.query import embed_text_query
from tests.support.random_models import tiny_checkpoint


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("eval") / "tiny.pt", seed=11)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("evaluate", *args, stdout=out)
    return out.getvalue()


def recall_by_hand(sims: np.ndarray, relevant: list[list[int]], k: int) -> float:
    """Share of rows whose best relevant column has fewer than ``k`` columns scoring strictly higher
    (written out here, not the product's metric function, so the CLI is checked against known answers)."""
    hits = [int((row > row[rel].max()).sum()) < k for row, rel in zip(sims, relevant, strict=True)]
    return sum(hits) / len(hits)


def recalls_by_hand(spec: str, images: Path, captions: Path, lang: str) -> dict[str, dict[str, float]]:
    """The exact Recall@1/5/10 both ways, from the model's embeddings of the dataset ranked here."""
    data = load_caption_dataset(images, captions, lang)
    embedder = get_embedder(spec)
    sims = embedder.encode_texts(data.captions) @ embedder.encode_images(
        [Image.open(p).convert("RGB") for p in data.image_paths]).T
    captions_of = [[j for j, i in enumerate(data.caption_image) if i == image] for image in range(len(data.image_paths))]
    return {"text_to_image": {f"R@{k}": recall_by_hand(sims, [[i] for i in data.caption_image], k) for k in (1, 5, 10)},
            "image_to_text": {f"R@{k}": recall_by_hand(sims.T, captions_of, k) for k in (1, 5, 10)}}


def test_retrieval_on_coco_mini(spec: str, shared_media: Path) -> None:
    photos = shared_media / "photos"
    result = json.loads(run("retrieval", "--images", str(photos / "coco-mini" / "images"),
                            "--captions", str(photos / "coco-mini" / "captions_val2017.json"),
                            "--model", spec, "--json"))
    assert (result["images"], result["captions"], result["lang"]) == (79, 395, "en")
    assert result["model_id"].startswith("open_clip:videosearch-tiny-random@sha256:")
    for direction in ("text_to_image", "image_to_text"):
        r = result[direction]
        assert 0.0 <= r["R@1"] <= r["R@5"] <= r["R@10"] <= 1.0
    assert result["text_to_image"]["R@10"] < 0.5  # a random model is near chance (10/79)
    expected = recalls_by_hand(spec, photos / "coco-mini" / "images", photos / "coco-mini" / "captions_val2017.json", "en")
    for direction, recalls in expected.items():
        assert result[direction] == pytest.approx(recalls, abs=1e-9), direction


def test_retrieval_on_skimage_russian_as_table(spec: str, shared_media: Path) -> None:
    photos = shared_media / "photos"
    table = run("retrieval", "--images", str(photos / "skimage"), "--captions",
                str(photos / "skimage" / "captions_en_ru.json"), "--lang", "ru", "--model", spec)
    rows = dict(line.split(None, 1) for line in table.strip().splitlines())
    assert rows["lang"] == "ru" and rows["images"] == "8" and rows["captions"] == "8"
    assert float(rows["text_to_image.R@10"]) == 1.0  # 8 images: everything is in the top 10
    expected = recalls_by_hand(spec, photos / "skimage", photos / "skimage" / "captions_en_ru.json", "ru")
    for direction, recalls in expected.items():
        for name, value in recalls.items():
            assert float(rows[f"{direction}.{name}"]) == pytest.approx(value, abs=1e-3), (direction, name)


def colour_dataset(root: Path) -> None:
    """Two plain images each of red, green and blue in folders, and their class names in both languages."""
    for folder, colour in (("red", (220, 20, 20)), ("green", (20, 200, 20)), ("blue", (20, 20, 220))):
        for i in range(2):
            (root / "ds" / folder).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40 + i, 30), colour).save(root / "ds" / folder / f"{i}.png")
    (root / "classes.json").write_text(json.dumps(
        {"red": {"en": "red", "ru": "красный"}, "green": {"en": "green", "ru": "зелёный"},
         "blue": {"en": "blue", "ru": "синий"}}, ensure_ascii=False))


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_zeroshot_with_the_test_model_names_every_colour(tmp_path: Path, lang: str) -> None:
    # The bundled test model was trained on coloured scenes: it gets all six plain colour images right.
    colour_dataset(tmp_path)
    result = json.loads(run("zeroshot", "--dataset", str(tmp_path / "ds"), "--classes",
                            str(tmp_path / "classes.json"), "--lang", lang, "--model", "testmodel", "--json"))
    assert (result["images"], result["classes"], result["lang"], result["top1"]) == (6, 3, lang, 1.0)


def test_zeroshot_on_folder_dataset(spec: str, tmp_path: Path) -> None:
    colour_dataset(tmp_path)
    result = json.loads(run("zeroshot", "--dataset", str(tmp_path / "ds"), "--classes",
                            str(tmp_path / "classes.json"), "--lang", "ru", "--model", spec, "--json"))
    assert (result["images"], result["classes"], result["lang"]) == (6, 3, "ru")
    assert set(result) >= {"top1"} and "top5" not in result  # top-5 is meaningless with 3 classes
    assert 0.0 <= result["top1"] <= 1.0
    # The exact value: each image's class is the ensembled query vector of a Russian class name it scores best with.
    embedder = get_embedder(spec)
    names = {"red": "красный", "green": "зелёный", "blue": "синий"}
    classes = np.stack([embed_text_query(embedder, name, "ru").vector for name in names.values()])
    paths = sorted((tmp_path / "ds").glob("*/*.png"))
    scores = embedder.encode_images([Image.open(p).convert("RGB") for p in paths]) @ classes.T
    truth = [list(names).index(p.parent.name) for p in paths]
    assert result["top1"] == pytest.approx(float(np.mean(scores.argmax(axis=1) == truth)), abs=1e-6)


def test_speed_torch_and_onnx_side_by_side(spec: str) -> None:
    result = json.loads(run("speed", "--model", spec, "--images", "4", "--queries", "3", "--batch", "2", "--json"))
    assert result["batch"] == 2
    assert result["torch"]["images_per_s"] > 0 and result["onnx"]["images_per_s"] > 0
    assert result["onnx"]["model_id"] == result["torch"]["model_id"]
    assert result["cosine_min_images"] >= 0.999 and result["cosine_min_texts"] >= 0.999
    # Plain dot products of unit vectors: above 1 only when a backend's vectors are not unit length.
    assert result["cosine_min_images"] <= 1.001 and result["cosine_min_texts"] <= 1.001
    assert result["onnx_vs_torch_images_per_s_ratio"] > 0


def test_testmodel_subcommand() -> None:
    result = json.loads(run("testmodel", "--json"))
    assert result["model_id"].startswith("testmodel:")
    for lang in ("en", "ru"):
        assert 0.0 <= result[lang]["R@1"] <= result[lang]["R@5"] <= result[lang]["R@10"] <= 1.0
        # The bundled model on its 200 generated scenes: the right one first 9 times in 10, always in the top 5.
        assert result[lang]["R@1"] >= 0.9 and result[lang]["R@5"] == result[lang]["R@10"] == 1.0, result[lang]
    assert result["n_queries"] == result["gallery"] == 200


def test_bad_input_is_a_command_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(CommandError, match="valid forms"):
        run("retrieval", "--images", str(tmp_path), "--captions", str(tmp_path / "x.json"), "--model", "bogus")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CommandError, match="expected COCO"):
        run("retrieval", "--images", str(tmp_path), "--captions", str(tmp_path / "x.json"), "--model", spec)

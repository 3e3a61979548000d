"""``manage.py evaluate`` end to end on the shared real photos, with a tiny random model.

A random model's recall is near chance, so these tests check the plumbing (counts, JSON shape,
monotone recall, chance level); the metric math itself is unit-tested in tests/unit.
"""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from tests.support.random_models import tiny_checkpoint


@pytest.fixture(scope="module")
def spec(tmp_path_factory) -> str:
    return tiny_checkpoint(tmp_path_factory.mktemp("eval") / "tiny.pt", seed=11)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("evaluate", *args, stdout=out)
    return out.getvalue()


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


def test_retrieval_on_skimage_russian_as_table(spec: str, shared_media: Path) -> None:
    photos = shared_media / "photos"
    table = run("retrieval", "--images", str(photos / "skimage"), "--captions",
                str(photos / "skimage" / "captions_en_ru.json"), "--lang", "ru", "--model", spec)
    rows = dict(line.split(None, 1) for line in table.strip().splitlines())
    assert rows["lang"] == "ru" and rows["images"] == "8" and rows["captions"] == "8"
    assert float(rows["text_to_image.R@10"]) == 1.0  # 8 images: everything is in the top 10


def test_zeroshot_on_folder_dataset(spec: str, tmp_path: Path) -> None:
    for folder, colour in (("red", (220, 20, 20)), ("green", (20, 200, 20)), ("blue", (20, 20, 220))):
        for i in range(2):
            (tmp_path / "ds" / folder).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (40 + i, 30), colour).save(tmp_path / "ds" / folder / f"{i}.png")
    (tmp_path / "classes.json").write_text(json.dumps(
        {"red": {"en": "red", "ru": "красный"}, "green": {"en": "green", "ru": "зелёный"},
         "blue": {"en": "blue", "ru": "синий"}}, ensure_ascii=False))
    result = json.loads(run("zeroshot", "--dataset", str(tmp_path / "ds"), "--classes",
                            str(tmp_path / "classes.json"), "--lang", "ru", "--model", spec, "--json"))
    assert (result["images"], result["classes"], result["lang"]) == (6, 3, "ru")
    assert set(result) >= {"top1"} and "top5" not in result  # top-5 is meaningless with 3 classes
    assert 0.0 <= result["top1"] <= 1.0


def test_speed_torch_and_onnx_side_by_side(spec: str) -> None:
    result = json.loads(run("speed", "--model", spec, "--images", "4", "--queries", "3", "--batch", "2", "--json"))
    assert result["batch"] == 2
    assert result["torch"]["images_per_s"] > 0 and result["onnx"]["images_per_s"] > 0
    assert result["onnx"]["model_id"] == result["torch"]["model_id"]
    assert result["cosine_min_images"] >= 0.999 and result["cosine_min_texts"] >= 0.999
    assert result["onnx_vs_torch_images_per_s_ratio"] > 0


def test_testmodel_subcommand() -> None:
    result = json.loads(run("testmodel", "--json"))
    assert result["model_id"].startswith("testmodel:")
    for lang in ("en", "ru"):
        assert 0.0 <= result[lang]["R@1"] <= result[lang]["R@5"] <= result[lang]["R@10"] <= 1.0


def test_bad_input_is_a_command_error(tmp_path: Path, spec: str) -> None:
    with pytest.raises(CommandError, match="valid forms"):
        run("retrieval", "--images", str(tmp_path), "--captions", str(tmp_path / "x.json"), "--model", "bogus")
    (tmp_path / "x.json").write_text("{}")
    with pytest.raises(CommandError, match="expected COCO"):
        run("retrieval", "--images", str(tmp_path), "--captions", str(tmp_path / "x.json"), "--model", spec)

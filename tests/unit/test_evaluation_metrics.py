"""Metric math and dataset readers of apps.search.evaluation (pure, no model)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.search.evaluation.datasets import load_caption_dataset, load_class_dataset
from apps.search.evaluation.metrics import median_ms, ranks_of_first_relevant, recall_at_k, topk_accuracy


def test_recall_at_k_single_relevant() -> None:
    sims = np.array([[0.9, 0.1, 0.0],   # correct (0) first
                     [0.8, 0.5, 0.7],   # correct (1) third
                     [0.2, 0.6, 0.4]])  # correct (2) second
    assert ranks_of_first_relevant(sims, [[0], [1], [2]]).tolist() == [0, 2, 1]
    assert recall_at_k(sims, [[0], [1], [2]], ks=(1, 2, 3)) == {"R@1": pytest.approx(1 / 3),
                                                               "R@2": pytest.approx(2 / 3), "R@3": 1.0}


def test_recall_at_k_multiple_relevant_uses_best_one() -> None:
    sims = np.array([[0.1, 0.9, 0.5, 0.3]])
    assert recall_at_k(sims, [{0, 2}], ks=(1, 2)) == {"R@1": 0.0, "R@2": 1.0}


def test_ties_do_not_push_the_relevant_item_down() -> None:
    assert ranks_of_first_relevant(np.array([[0.5, 0.5, 0.5]]), [[2]]).tolist() == [0]


def test_recall_validates_input() -> None:
    with pytest.raises(ValueError):
        recall_at_k(np.zeros((2, 3)), [[0]])
    with pytest.raises(ValueError):
        recall_at_k(np.zeros((1, 3)), [[]])


def test_identity_similarity_gives_perfect_recall() -> None:
    emb = np.eye(20, dtype=np.float32)
    assert recall_at_k(emb @ emb.T, [[i] for i in range(20)]) == {"R@1": 1.0, "R@5": 1.0, "R@10": 1.0}


def test_topk_accuracy_and_median() -> None:
    scores = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.1, 0.2, 0.3]])
    assert topk_accuracy(scores, [1, 1, 0], ks=(1, 2)) == {"top1": pytest.approx(1 / 3), "top2": pytest.approx(2 / 3)}
    assert median_ms([0.001, 0.003, 0.002]) == pytest.approx(2.0)


def _image(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8)).save(path)
    return path


def test_coco_and_items_caption_formats(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        _image(tmp_path / "images" / name)
    coco = {"images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"},
                       {"id": 3, "file_name": "c.jpg"}],
            "annotations": [{"image_id": 2, "caption": "two  dogs"}, {"image_id": 1, "caption": "a cat"},
                            {"image_id": 2, "caption": "dogs"}]}
    (tmp_path / "coco.json").write_text(json.dumps(coco))
    data = load_caption_dataset(tmp_path / "images", tmp_path / "coco.json")
    assert [p.name for p in data.image_paths] == ["a.jpg", "b.jpg"]  # c.jpg has no caption
    assert data.captions == ["two dogs", "a cat", "dogs"] and data.caption_image == [1, 0, 1]

    items = {"items": [{"file": "images/a.jpg", "en": "a cat", "ru": "кошка"},
                       {"file": "images/b.jpg", "en": "a dog", "ru": "собака"}]}
    (tmp_path / "items.json").write_text(json.dumps(items, ensure_ascii=False))
    ru = load_caption_dataset(tmp_path / "images", tmp_path / "items.json", lang="ru")
    assert ru.captions == ["кошка", "собака"] and ru.caption_image == [0, 1] and ru.lang == "ru"
    with pytest.raises(ValueError):
        load_caption_dataset(tmp_path / "images", tmp_path / "coco.json", lang="ru")


def test_real_caption_files_parse(shared_media: Path) -> None:
    photos = shared_media / "photos"
    coco = load_caption_dataset(photos / "coco-mini" / "images", photos / "coco-mini" / "captions_val2017.json")
    assert (len(coco.image_paths), len(coco.captions)) == (79, 395)
    sk = load_caption_dataset(photos / "skimage", photos / "skimage" / "captions_en_ru.json", lang="ru")
    assert len(sk.image_paths) == len(sk.captions) == 8


def test_class_dataset_json_and_text(tmp_path: Path) -> None:
    _image(tmp_path / "ds" / "cat" / "1.png")
    _image(tmp_path / "ds" / "cat" / "2.jpg")
    _image(tmp_path / "ds" / "dog" / "1.png")
    (tmp_path / "ds" / "dog" / "notes.txt").write_text("not an image")
    (tmp_path / "classes.json").write_text(json.dumps({"cat": {"en": "cat", "ru": "кошка"},
                                                       "dog": {"en": "dog", "ru": "собака"}}))
    data = load_class_dataset(tmp_path / "ds", tmp_path / "classes.json", lang="ru")
    assert data.class_names == ["кошка", "собака"] and data.labels == [0, 0, 1]
    (tmp_path / "classes.txt").write_text("# folder\tname\ncat\ta cat\ndog: a dog\n")
    assert load_class_dataset(tmp_path / "ds", tmp_path / "classes.txt").class_names == ["a cat", "a dog"]
    (tmp_path / "partial.txt").write_text("cat\tcat\n")
    with pytest.raises(ValueError, match="dog"):
        load_class_dataset(tmp_path / "ds", tmp_path / "partial.txt")

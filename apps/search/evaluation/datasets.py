"""Readers for the evaluation data formats.

- COCO captions JSON (``images``: id/file_name, ``annotations``: image_id/caption);
- the ``captions_en_ru.json`` format of ../shared/media/photos/skimage (``items``: file/en/ru);
- a folder-per-class image dataset plus a class-name file (JSON or text) for zero-shot.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff"}


@dataclass(frozen=True)
class CaptionDataset:
    """Images and captions; ``caption_image[j]`` is the index of the image caption j describes."""

    image_paths: list[Path]
    captions: list[str]
    caption_image: list[int]
    lang: str


@dataclass(frozen=True)
class ClassDataset:
    """Images with class labels; ``class_names[labels[i]]`` names image i's class in ``lang``."""

    image_paths: list[Path]
    labels: list[int]
    class_names: list[str]
    folders: list[str]
    lang: str


def _resolve_image(images_dir: Path, captions_file: Path, name: str) -> Path:
    """Find an image named in a caption file: relative to the images folder or to the caption file."""
    candidates = [images_dir / name, images_dir / Path(name).name, captions_file.parent / name,
                  captions_file.parent / Path(name).name]
    for path in candidates:
        if path.is_file():
            return path
    raise FileNotFoundError(f"image {name!r} from {captions_file} not found in {images_dir}")


def load_caption_dataset(images_dir: str | Path, captions_file: str | Path, lang: str = "en") -> CaptionDataset:
    """Read COCO-format or items-format (en/ru) captions; only images that exist and have captions count."""
    images_dir, captions_file = Path(images_dir), Path(captions_file)
    data = json.loads(captions_file.read_text(encoding="utf-8"))
    paths: list[Path] = []
    captions: list[str] = []
    owner: list[int] = []
    if "annotations" in data and "images" in data:
        if lang != "en":
            raise ValueError("COCO captions are English; use --lang en (or a file with 'items' and per-language keys)")
        index_of: dict[int, int] = {}
        for img in data["images"]:
            index_of[img["id"]] = len(paths)
            paths.append(_resolve_image(images_dir, captions_file, img["file_name"]))
        for ann in data["annotations"]:
            if ann["image_id"] in index_of and str(ann.get("caption", "")).strip():
                captions.append(" ".join(ann["caption"].split()))
                owner.append(index_of[ann["image_id"]])
    elif "items" in data:
        for item in data["items"]:
            text = item.get(lang)
            if not text:
                continue
            owner.append(len(paths))
            paths.append(_resolve_image(images_dir, captions_file, item["file"]))
            captions.append(text)
        if not captions:
            raise ValueError(f"{captions_file} has no {lang!r} captions")
    else:
        raise ValueError(f"{captions_file}: expected COCO captions ('images', 'annotations') or 'items'")
    used = sorted(set(owner))  # drop images nobody describes: they would only be distractors in t2i
    remap = {old: new for new, old in enumerate(used)}
    return CaptionDataset([paths[i] for i in used], captions, [remap[i] for i in owner], lang)


def _read_class_names(classes_file: Path, lang: str) -> dict[str, str]:
    """folder -> class name. JSON: {"folder": "name"} or {"folder": {"en": .., "ru": ..}};
    text: one ``folder<TAB>name`` / ``folder: name`` / ``folder,name`` per line (# comments allowed)."""
    text = classes_file.read_text(encoding="utf-8")
    if classes_file.suffix.lower() == ".json" or text.lstrip().startswith("{"):
        raw = json.loads(text)
        names = {}
        for folder, value in raw.items():
            if isinstance(value, dict):
                if lang not in value:
                    raise ValueError(f"class {folder!r} in {classes_file} has no {lang!r} name")
                value = value[lang]
            names[folder] = str(value)
        return names
    names = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        for sep in ("\t", ":", ","):
            if sep in line:
                folder, name = line.split(sep, 1)
                names[folder.strip()] = name.strip()
                break
        else:
            raise ValueError(f"{classes_file}: cannot parse line {line!r} (expected 'folder<TAB>name')")
    return names


def load_class_dataset(dataset_dir: str | Path, classes_file: str | Path, lang: str = "en") -> ClassDataset:
    """Folder-per-class dataset; classes without a name in ``classes_file`` are an error, not ignored."""
    dataset_dir, classes_file = Path(dataset_dir), Path(classes_file)
    names = _read_class_names(classes_file, lang)
    folders = sorted(p.name for p in dataset_dir.iterdir() if p.is_dir())
    unnamed = [f for f in folders if f not in names]
    if unnamed:
        raise ValueError(f"no class name in {classes_file} for folders: {', '.join(unnamed)}")
    paths: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(folders):
        for path in sorted((dataset_dir / folder).iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
                labels.append(label)
    if not paths:
        raise ValueError(f"no images under {dataset_dir}/<class>/")
    return ClassDataset(paths, labels, [names[f] for f in folders], folders, lang)

"""Raw cosine scores -> a relevance the user can read (0..1), calibrated per model, and "no good match".

A cosine means nothing by itself: CLIP's text-image cosines bunch around 0.2-0.35, the bundled test
model's true matches score about 0.8. So each model is measured once on the same deterministic set of
generated scenes (``testmodel/scenes.py``: any CLIP-family model can embed them and their English and
Russian captions): how its true caption -> picture pairs score (*matched*) and how captions of *other*
scenes score against those pictures (*unrelated*), separately for English and Russian (an English-only
CLIP must not have its English anchors dragged down by Russian captions it cannot read). Three anchors
come out of each language:

- ``floor``: 99 % of unrelated pairs score below it; relevance 0 there ("no better than unrelated text").
- ``threshold``: only ``THRESHOLD_QUANTILE`` of true matches score below it; relevance 0.5 there. A result
  below it is *low confidence*; a response whose best result is below it says *no good match*.
- ``good``: the median true match; relevance 1 from there on.

Relevance is piecewise linear between the anchors (monotone in the score, so it never changes the
ranking). Calibration captions are embedded exactly as the service embeds a text query (prompt
templates averaged).

Only text queries are calibrated. Image -> image cosines depend on the footage far more than text ->
image ones: two renders of one generated scene (the proxy this module could measure) put the test model's
threshold at 0.87, while its correct hits for frames of the real anime fragment in ``../shared/media``
score 0.70-0.86 (7 of 8 would have been "no good match"). Image and "more like this" queries therefore
get no relevance (``None``) and are never flagged.

The measurement costs 96 image and at most 768 text embeddings (the test model: 3 s on the 2-core dev
machine, up to 22 s under a load average of 8-10; a ViT-B/32 on CPU was not measured, expect tens of
seconds), so it is done once per model id: kept in-process and in a JSON file under
``INDEX_ROOT/calibration/`` that every worker shares.
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .embedders.base import Embedder
from .query import embed_text_queries

log = logging.getLogger(__name__)

#: Bump when the recipe below changes: files written by an older recipe are then measured again.
RECIPE_VERSION = 2
#: Scenes measured per model (each rendered once, captioned in two languages).
CALIBRATION_SCENES = 96
CALIBRATION_SEED = 424_242
#: Share of unrelated pairs allowed to reach relevance above 0.
FLOOR_QUANTILE = 0.99
#: Share of true matches that end up flagged low confidence (the "no good match" cut).
THRESHOLD_QUANTILE = 0.03
#: The anchors are kept at least this far apart so that relevance stays defined for any model.
MIN_GAP = 1e-3
RENDER_SIZES: tuple[tuple[int, int], ...] = ((320, 240), (640, 360), (480, 480), (224, 224))

#: The query kind that is calibrated (``SearchResponse.query_kind``).
TEXT = "text"
#: Languages measured; a query in any other language uses the English anchors (``prompts.detect_language``).
LANGUAGES = ("en", "ru")


@dataclass(frozen=True)
class Anchors:
    """Scores of one model that map to relevance 0, 0.5 and 1."""

    floor: float
    threshold: float
    good: float

    def relevance(self, score: float) -> float:
        """Piecewise linear 0 (at ``floor`` and below) -> 0.5 (``threshold``) -> 1 (``good`` and above)."""
        s = float(score)
        if s <= self.floor:
            return 0.0
        if s < self.threshold:
            return 0.5 * (s - self.floor) / (self.threshold - self.floor)
        if s < self.good:
            return 0.5 + 0.5 * (s - self.threshold) / (self.good - self.threshold)
        return 1.0

    def low_confidence(self, score: float) -> bool:
        """True when a true match would score this low only ``THRESHOLD_QUANTILE`` of the time."""
        return float(score) < self.threshold


def fit_anchors(matched: Sequence[float] | np.ndarray, unrelated: Sequence[float] | np.ndarray) -> Anchors:
    """Anchors from scores of true pairs and of unrelated pairs (see the module docstring).

    A model that cannot tell them apart (unrelated pairs scoring as high as true ones) still gets
    ordered anchors: the floor is pushed below the threshold, never the threshold above real matches.
    """
    matched, unrelated = np.asarray(matched, dtype=np.float64), np.asarray(unrelated, dtype=np.float64)
    if matched.size == 0 or unrelated.size == 0:
        raise ValueError("calibration needs both matched and unrelated scores")
    good = float(np.median(matched))
    threshold = min(float(np.quantile(matched, THRESHOLD_QUANTILE)), good - MIN_GAP)
    floor = min(float(np.quantile(unrelated, FLOOR_QUANTILE)), threshold - MIN_GAP)
    return Anchors(floor=floor, threshold=threshold, good=good)


@dataclass(frozen=True)
class ModelCalibration:
    """The anchors of one model for text queries, per query language."""

    model_id: str
    text: dict[str, Anchors]
    recipe: int = RECIPE_VERSION

    def for_query(self, query_kind: str, lang: str | None = None) -> Anchors | None:
        """The anchors for a query, None where scores are not calibrated (image, "similar")."""
        if query_kind != TEXT:
            return None
        return self.text.get(lang or "en", self.text["en"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, raw: str) -> ModelCalibration:
        data = json.loads(raw)
        return cls(model_id=data["model_id"], text={lang: Anchors(**a) for lang, a in data["text"].items()},
                   recipe=int(data.get("recipe", 0)))


# ---------------------------------------------------------------------------------------- measuring


def calibration_scenes(n: int = CALIBRATION_SCENES, seed: int = CALIBRATION_SEED) -> tuple[list, list[Image.Image]]:
    """``n`` scenes with distinct captions and a render of each, at several sizes, JPEG-compressed."""
    from .testmodel.scenes import distinct_specs, render

    specs = distinct_specs(np.random.default_rng([seed, 0]), n)
    images = [_jpeg_round_trip(render(spec, RENDER_SIZES[i % len(RENDER_SIZES)], np.random.default_rng([seed, 1, i])),
                               quality=85) for i, spec in enumerate(specs)]
    return specs, images


def _jpeg_round_trip(image: Image.Image, quality: int) -> Image.Image:
    """Stored photos and video frames are lossy; calibrate on what the index really holds."""
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def query_vectors(embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
    """(len(texts), dim) rows, each made exactly as the service embeds a one-term text query."""
    return np.stack([q.vector for q in embed_text_queries(embedder, texts)])


def matched_and_unrelated(queries: np.ndarray, targets: np.ndarray,
                          query_scene: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split query x target cosines into true pairs (same scene) and unrelated pairs (other scenes).

    ``query_scene[i]`` is the index of the target showing query i's scene.
    """
    sims = np.asarray(queries, dtype=np.float64) @ np.asarray(targets, dtype=np.float64).T
    same = np.zeros(sims.shape, dtype=bool)
    same[np.arange(len(sims)), np.asarray(query_scene)] = True
    return sims[same], sims[~same]


def measure(embedder: Embedder, n: int = CALIBRATION_SCENES) -> ModelCalibration:
    """Embed the calibration scenes and their English and Russian captions with ``embedder``; fit the anchors."""
    from .testmodel.scenes import caption_en, caption_ru

    specs, images = calibration_scenes(n)
    pictures = np.asarray(embedder.encode_images(images), dtype=np.float32)
    captions = {"en": caption_en, "ru": caption_ru}
    text = {}
    for lang in LANGUAGES:
        queries = query_vectors(embedder, [captions[lang](s) for s in specs])
        text[lang] = fit_anchors(*matched_and_unrelated(queries, pictures, np.arange(n)))
    return ModelCalibration(model_id=embedder.model_id, text=text)


# ---------------------------------------------------------------------------------------- caching

_cache: dict[str, ModelCalibration] = {}
_lock = threading.Lock()


def cache_path(folder: Path, model_id: str) -> Path:
    """One file per model id; hashed because model ids hold ':' and '/'."""
    return Path(folder) / f"{hashlib.sha256(model_id.encode()).hexdigest()[:20]}.json"


def calibration_for(embedder: Embedder, folder: Path | None = None) -> ModelCalibration:
    """The model's calibration: from this process's cache, else the shared file, else measured (and saved).

    A file that cannot be read or written only costs a new measurement: searches never fail for it.
    """
    model_id = embedder.model_id
    with _lock:
        if model_id in _cache:
            return _cache[model_id]
        path = cache_path(folder, model_id) if folder is not None else None
        calibration = _read(path, model_id) if path is not None else None
        if calibration is None:
            calibration = measure(embedder)
            if path is not None:
                _write(path, calibration)
        _cache[model_id] = calibration
        return calibration


def clear_cache() -> None:
    """Forget in-process calibrations (tests)."""
    with _lock:
        _cache.clear()


def _read(path: Path, model_id: str) -> ModelCalibration | None:
    try:
        calibration = ModelCalibration.from_json(path.read_text())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if calibration.model_id != model_id or calibration.recipe != RECIPE_VERSION:
        return None
    return calibration


def _write(path: Path, calibration: ModelCalibration) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{threading.get_ident()}.tmp")
        tmp.write_text(calibration.to_json())
        tmp.replace(path)
    except OSError as exc:
        log.warning("could not save the calibration of %s to %s: %s", calibration.model_id, path, exc)


# ---------------------------------------------------------------------------------------- applying

NO_GOOD_MATCH_WARNING = (
    "no good match: no result scores as high as this model's true matches almost always do (every relevance "
    "is below 50%); the closest ones are shown, marked low confidence"
)


def mark_results(results: Sequence, anchors: Anchors | None) -> bool:
    """Set ``relevance`` and ``low_confidence`` on each result (anything with a ``score``); return
    whether no result is a good match (also true for no results at all: nothing matched).

    Without anchors (an uncalibrated query kind) relevance stays None and nothing is flagged.
    """
    if anchors is None:
        return False
    for result in results:
        result.relevance = anchors.relevance(result.score)
        result.low_confidence = anchors.low_confidence(result.score)
    return all(result.low_confidence for result in results)

"""Calibration maths: anchors from score distributions, relevance, low confidence, caching per model."""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass

import numpy as np
import pytest

from apps.search import calibration
from apps.search.calibration import Anchors, ModelCalibration, fit_anchors, mark_results
from apps.search.query import embed_text_query

ANCHORS = Anchors(floor=0.2, threshold=0.6, good=0.8)


def test_relevance_is_zero_half_and_one_at_the_anchors_and_linear_between():
    assert ANCHORS.relevance(-1.0) == ANCHORS.relevance(0.2) == 0.0
    assert ANCHORS.relevance(0.4) == pytest.approx(0.25)
    assert ANCHORS.relevance(0.6) == pytest.approx(0.5)
    assert ANCHORS.relevance(0.7) == pytest.approx(0.75)
    assert ANCHORS.relevance(0.8) == ANCHORS.relevance(0.99) == 1.0


def test_relevance_never_reorders_results():
    scores = np.linspace(-1, 1, 401)
    relevance = [ANCHORS.relevance(s) for s in scores]
    assert all(b >= a for a, b in zip(relevance, relevance[1:]))
    assert all(0.0 <= r <= 1.0 for r in relevance)


def test_low_confidence_is_below_the_threshold_only():
    assert ANCHORS.low_confidence(0.599) and not ANCHORS.low_confidence(0.6)
    assert ANCHORS.low_confidence(0.599) == (ANCHORS.relevance(0.599) < 0.5)


def _distributions(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(0.8, 0.05, 20_000), rng.normal(0.1, 0.15, 200_000)


def test_fitted_anchors_flag_few_true_matches_and_give_unrelated_pairs_zero():
    matched, unrelated = _distributions()
    anchors = fit_anchors(matched, unrelated)
    flagged = np.mean([anchors.low_confidence(s) for s in matched[:4000]])
    assert flagged == pytest.approx(calibration.THRESHOLD_QUANTILE, abs=0.01)
    above_zero = np.mean([anchors.relevance(s) > 0 for s in unrelated[:20000]])
    assert above_zero == pytest.approx(1 - calibration.FLOOR_QUANTILE, abs=0.004)
    assert anchors.good == pytest.approx(0.8, abs=0.005)  # a typical true match reads as 100%


def test_relevance_is_the_same_for_a_model_with_another_score_scale():
    """CLIP's cosines bunch around 0.2-0.35, the test model's around 0.8: the same ranks, the same relevance."""
    matched, unrelated = _distributions()
    narrow = lambda s: 0.2 + 0.15 * s  # noqa: E731 - an increasing affine map: another model's scale
    a, b = fit_anchors(matched, unrelated), fit_anchors(narrow(matched), narrow(unrelated))
    for score in (0.0, 0.5, 0.7, 0.75, 0.79, 0.9):
        assert b.relevance(narrow(score)) == pytest.approx(a.relevance(score), abs=1e-9)
        assert b.low_confidence(narrow(score)) == a.low_confidence(score)
    assert a.relevance(0.79) != b.relevance(0.79)  # raw scores alone would mean different things


def test_a_model_that_cannot_tell_matches_from_unrelated_pairs_still_gets_ordered_anchors():
    same = np.random.default_rng(1).normal(0.3, 0.05, 5000)
    anchors = fit_anchors(same, same)
    assert anchors.floor < anchors.threshold < anchors.good
    assert 0.0 <= anchors.relevance(0.3) <= 1.0
    constant = fit_anchors([0.5, 0.5], [0.5])
    assert constant.floor < constant.threshold < constant.good == 0.5


def test_fitted_anchors_are_the_3rd_percentile_median_and_99th_percentile():
    """Known answers: true-match scores 0.00..1.00 in steps of 0.01, unrelated ones 0.0000..0.0100."""
    anchors = fit_anchors(np.arange(101) / 100, np.arange(101) / 10_000)
    assert (anchors.floor, anchors.threshold, anchors.good) == pytest.approx((0.0099, 0.03, 0.5))


def test_anchors_of_a_model_with_one_score_are_kept_a_thousandth_apart():
    anchors = fit_anchors([0.5, 0.5], [0.5])
    assert (anchors.floor, anchors.threshold, anchors.good) == pytest.approx((0.498, 0.499, 0.5))


def test_relevance_above_the_threshold_is_measured_from_the_threshold():
    """Anchors far apart (good over twice the threshold), where a remainder would read differently from a
    difference: halfway from 0.2 to 0.8 is 75%."""
    anchors = Anchors(floor=0.0, threshold=0.2, good=0.8)
    assert anchors.relevance(0.5) == pytest.approx(0.75)
    assert anchors.relevance(0.1) == pytest.approx(0.25)


def test_anchors_are_immutable():
    """One model's anchors are cached and shared by every request: none may change them."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        ANCHORS.threshold = 0.0
    model = ModelCalibration("m", text={"en": ANCHORS})
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.text = {}


def test_calibration_scenes_cycle_through_the_render_sizes_and_are_deterministic():
    specs, images = calibration.calibration_scenes(9)
    assert len(specs) == len(images) == 9
    assert [im.size for im in images] == [(320, 240), (640, 360), (480, 480), (224, 224)] * 2 + [(320, 240)]
    _, again = calibration.calibration_scenes(9)
    assert all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(images, again))


def test_fit_needs_both_distributions():
    with pytest.raises(ValueError):
        fit_anchors([], [0.1])
    with pytest.raises(ValueError):
        fit_anchors([0.9], [])


def test_matched_and_unrelated_split_by_the_query_scene():
    queries = np.eye(3, dtype=np.float32)
    targets = np.array([[0, 1, 0], [1, 0, 0], [0, 0, 1]], dtype=np.float32)
    matched, unrelated = calibration.matched_and_unrelated(queries, targets, np.array([1, 0, 2]))
    assert sorted(matched) == [1.0, 1.0, 1.0]
    assert sorted(unrelated) == [0.0] * 6


class HashEmbedder:
    """Deterministic fake texts -> vectors (the model does not matter for the query path)."""

    model_id, dim = "fake:hash", 16

    def encode_texts(self, texts):
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[:16], dtype=np.uint8) for t in texts]
        x = np.asarray(rows, dtype=np.float32) - 127.5
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_calibration_queries_are_embedded_exactly_as_search_embeds_them():
    texts = ["a red car on a road", "две синие лодки на воде", "one two three four five six seven eight"]
    batched = calibration.query_vectors(HashEmbedder(), texts)
    for text, vector in zip(texts, batched):
        np.testing.assert_allclose(vector, embed_text_query(HashEmbedder(), text).vector, atol=1e-6)


class EnglishOnlyEmbedder(HashEmbedder):
    """A model that reads only English: each calibration picture embeds as its English caption's query vector;
    Russian captions get unrelated (hashed) vectors."""

    model_id = "fake:english-only"

    def __init__(self, n: int) -> None:
        from apps.search.testmodel.scenes import caption_en

        specs, images = calibration.calibration_scenes(n)
        self._caption = {np.asarray(im).tobytes(): caption_en(spec) for spec, im in zip(specs, images)}

    def encode_images(self, images):
        return calibration.query_vectors(self, [self._caption[np.asarray(im).tobytes()] for im in images])


def test_each_language_is_measured_on_its_own_captions():
    """The English anchors of an English-only model come from its perfect English matches (median 1.0); its
    Russian anchors from the Russian captions it cannot read, which score no better than unrelated ones."""
    model = calibration.measure(EnglishOnlyEmbedder(8), n=8)
    english, russian = model.for_query("text", "en"), model.for_query("text", "ru")
    assert english.good == pytest.approx(1.0, abs=1e-5)
    assert russian is not english and russian.good < 0.9


@dataclass
class Result:
    score: float
    relevance: float | None = None
    low_confidence: bool = False


def test_marks_results_and_says_whether_any_is_a_good_match():
    results = [Result(0.9), Result(0.5), Result(0.1)]
    assert mark_results(results, ANCHORS) is False
    assert [r.relevance for r in results] == [1.0, pytest.approx(0.375), 0.0]
    assert [r.low_confidence for r in results] == [False, True, True]
    weak = [Result(0.59), Result(0.3)]
    assert mark_results(weak, ANCHORS) is True and all(r.low_confidence for r in weak)
    assert mark_results([], ANCHORS) is True


def test_text_queries_use_their_language_s_anchors():
    russian = Anchors(0.1, 0.3, 0.4)
    model = ModelCalibration("m", text={"en": ANCHORS, "ru": russian})
    assert model.for_query("text", "ru") is russian
    assert model.for_query("text", "en") is model.for_query("text", None) is model.for_query("text", "de") is ANCHORS


def test_image_and_similar_queries_are_not_calibrated_and_never_flagged():
    model = ModelCalibration("m", text={"en": ANCHORS, "ru": ANCHORS})
    assert model.for_query("text", "en") is ANCHORS
    assert model.for_query("image") is None and model.for_query("similar") is None
    results = [Result(0.1)]
    assert mark_results(results, model.for_query("image")) is False
    assert results[0].relevance is None and results[0].low_confidence is False
    assert ModelCalibration.from_json(model.to_json()) == model


def test_only_the_text_kind_is_calibrated_however_its_name_was_made():
    """A kind read from a request or a stored record is an equal string, not the same object; a kind this
    module does not know (here one sorting after "text") is not calibrated."""
    model = ModelCalibration("m", text={"en": ANCHORS})
    assert model.for_query("".join(["te", "xt"]), "en") is ANCHORS
    assert model.for_query("words", "en") is None and model.for_query("combined", "en") is None


@pytest.fixture
def measured(monkeypatch):
    """Count measurements instead of embedding the scenes."""
    calls: list[str] = []

    def fake_measure(embedder, n=calibration.CALIBRATION_SCENES):
        calls.append(embedder.model_id)
        return ModelCalibration(embedder.model_id, text={"en": ANCHORS})

    monkeypatch.setattr(calibration, "measure", fake_measure)
    calibration.clear_cache()
    yield calls
    calibration.clear_cache()


def test_measured_once_per_model_then_read_from_the_shared_file(measured, tmp_path):
    embedder = HashEmbedder()
    first = calibration.calibration_for(embedder, tmp_path)
    assert calibration.calibration_for(embedder, tmp_path) is first and measured == ["fake:hash"]
    calibration.clear_cache()  # another process: reads the file instead of measuring
    assert calibration.calibration_for(embedder, tmp_path) == first and measured == ["fake:hash"]
    other = HashEmbedder()
    other.model_id = "fake:other"
    calibration.calibration_for(other, tmp_path)
    assert measured == ["fake:hash", "fake:other"]
    assert len(list(tmp_path.glob("*.json"))) == 2


@pytest.mark.parametrize("content", ["not json", '{"model_id": "fake:hash"}', "stale", "newer", "other model",
                                     "no recipe"])
def test_an_unreadable_or_stale_file_is_measured_again(measured, tmp_path, content):
    embedder = HashEmbedder()
    path = calibration.cache_path(tmp_path, embedder.model_id)
    if content in ("stale", "newer"):  # written by another recipe, older or newer: not this one's anchors
        shift = -1 if content == "stale" else 1
        content = ModelCalibration(embedder.model_id, text={"en": ANCHORS},
                                   recipe=calibration.RECIPE_VERSION + shift).to_json()
    elif content == "other model":  # a file copied over another model's (ids sorting before and after)
        for other in ("fake:a", "fake:z"):
            path.write_text(ModelCalibration(other, text={"en": ANCHORS}).to_json())
            assert calibration._read(path, embedder.model_id) is None
        content = ModelCalibration("fake:z", text={"en": ANCHORS}).to_json()
    elif content == "no recipe":  # written before recipes were versioned
        content = '{"model_id": "fake:hash", "text": {"en": {"floor": 0.2, "threshold": 0.6, "good": 0.8}}}'
    path.write_text(content)
    assert calibration.calibration_for(embedder, tmp_path).recipe == calibration.RECIPE_VERSION
    assert measured == ["fake:hash"]
    assert ModelCalibration.from_json(path.read_text()).recipe == calibration.RECIPE_VERSION


def test_the_shared_file_is_written_into_a_folder_not_made_yet(measured, tmp_path):
    """A fresh INDEX_ROOT: the calibration folder and its parents are created, so other workers find the file."""
    folder = tmp_path / "index" / "calibration"
    calibration.calibration_for(HashEmbedder(), folder)
    assert calibration.cache_path(folder, "fake:hash").is_file()


def test_an_unwritable_folder_only_costs_a_measurement(measured, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert calibration.calibration_for(HashEmbedder(), blocker / "calibration").model_id == "fake:hash"

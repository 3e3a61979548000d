"""Mutation testing of the core modules with cosmic-ray: does each module's fast test set catch small bugs?

For each module cosmic-ray writes one small change at a time into the file (``<`` for ``<=``, ``0.5`` for ``1.5``,
``and`` for ``or``, a dropped ``not``...), runs the module's unit tests (``pytest -x``) and records whether they
failed (killed) or passed (survived). The kill rate per module is printed as JSON, with each survivor's line,
operator and change, so a reader can see which bug no test would catch.

The working tree is never written to: the driver copies the tracked and untracked-but-not-ignored files into a
temporary folder and cosmic-ray mutates the copy. A run stopped at any point (Ctrl-C, SIGTERM, even SIGKILL)
therefore leaves ``git status`` as it was; the copy is removed on a normal or signalled exit (a SIGKILLed run
leaves it in the system temp folder, named ``videosearch-mutation-*``).

Not run, and not counted in the kill rate (the JSON gives their numbers):

- changes inside type annotations (``annotation_mutants``): every module uses ``from __future__ import
  annotations``, so annotations are never evaluated and such a change cannot alter behaviour;
- the mutants listed in ``EQUIVALENT`` (each with the reason no input can tell it from the original), reported
  under ``equivalent``;
- ``trivial_mutants``, unless ``--all-operators``: a number operator replaced by a bitwise or shift operator
  (``a + b`` -> ``a << b``) or a unary minus by ``~``. On the floats and arrays this code computes with they raise
  TypeError at once; they model no plausible bug, only pad the kill rate, and cost a test run each (~30% of all).

    .venv/bin/python bench/mutation.py                                   # everything (see README for the time)
    .venv/bin/python bench/mutation.py --modules grouping calibration    # some modules, all their mutants
    .venv/bin/python bench/mutation.py --sample 5 --min-kill-rate 0.85   # CI: a seeded sample, exit 1 below
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
import cosmic_ray.mutating  # noqa: E402
import cosmic_ray.plugins  # noqa: E402
from cosmic_ray.work_db import WorkDB, use_db  # noqa: E402
from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult  # noqa: E402

from tests.support import shared_media  # noqa: E402  (the media path the copy's tests must still find)

#: Module -> the fast tests that exercise it (found by grepping tests/unit for its imports). Each runs in a few
#: seconds; the integration tests are far slower and are not part of a mutant's test run.
MODULES: dict[str, list[str]] = {
    "apps/search/grouping.py": ["tests/unit/test_grouping.py", "tests/unit/test_grouping_properties.py",
                                "tests/unit/test_moments_video.py"],
    "analysis/detectors/content.py": ["tests/unit/analysis/test_shots.py",
                                      "tests/unit/analysis/test_cut_thresholds.py",
                                      "tests/unit/analysis/test_package.py"],
    "analysis/detectors/cut_filters.py": ["tests/unit/analysis/test_cut_filter_scores.py",
                                          "tests/unit/analysis/test_flash_rejector.py",
                                          "tests/unit/analysis/test_shots.py",
                                          "tests/unit/analysis/test_cut_thresholds.py"],
    "analysis/shots.py": ["tests/unit/analysis/test_shots.py", "tests/unit/analysis/test_cut_thresholds.py",
                          "tests/unit/analysis/test_keyframe_selection.py"],
    "analysis/keyframe_choice.py": ["tests/unit/analysis/test_keyframe_selection.py",
                                    "tests/unit/test_moments_video.py"],
    "analysis/fingerprints.py": ["tests/unit/analysis/test_fingerprints.py", "tests/unit/test_frame_match.py",
                                 "tests/unit/analysis/test_cut_thresholds.py",
                                 "tests/unit/test_crop_match.py"],
    "apps/search/frame_match.py": ["tests/unit/test_frame_match.py", "tests/unit/test_crop_match.py"],
    "apps/search/prompts.py": ["tests/unit/test_prompts.py", "tests/unit/test_request_helpers.py",
                               "tests/unit/test_testmodel_captions.py"],
    "apps/search/query_syntax.py": ["tests/unit/test_query_syntax.py", "tests/unit/test_query_spec.py",
                                    "tests/unit/test_text_fusion.py"],
    "apps/search/query_spec.py": ["tests/unit/test_query_spec.py", "tests/unit/test_query_syntax.py",
                                  "tests/unit/test_text_fusion.py"],
    "apps/search/calibration.py": ["tests/unit/test_calibration.py"],
    "apps/search/index_backends.py": ["tests/unit/test_index_backends_edges.py",
                                      "tests/unit/test_index_backends_properties.py", "tests/unit/test_index.py",
                                      "tests/unit/test_index_generations.py"],
    "apps/search/index_log.py": ["tests/unit/test_index_log_records.py", "tests/unit/test_index_log.py",
                                 "tests/unit/test_index.py"],
}

#: pytest with only the plugin the unit tests need: autoloading schemathesis, playwright and the rest costs about
#: a second per mutant. -x stops at the first failure, which is all a kill needs.
#: Folders of the copy to byte-compile up front.
_PACKAGES = ("analysis", "apps", "tests", "videosearch", "workers")

PYTEST = "-m pytest -x -q -p no:cacheprovider -p pytest_django.plugin"


#: Reasons shared by several EQUIVALENT entries of apps/search/index_backends.py.
_IVF_MIN_TRAIN_WHY = (
    "accepted: moves the switch from exact flat to trained IVF by one vector of 8192, a size choice (k-means needs "
    "enough points, brute force is cheap below); answers stay right on both sides, and the switch at the threshold "
    "is pinned with it monkeypatched (test_ivf_trains_at_exactly_the_threshold_and_retrains_at_four_times_it): "
    "pinning 8192 would only restate it")
_SINGLE_THREAD_WHY = (
    "accepted: a speed tuning that only changes the thread count of searches of exactly 15 or 16 queries (the app "
    "searches one at a time, bench/search.py batches hundreds), never a result; both sides of the switch are pinned "
    "relative to the constant (test_small_searches_run_on_one_faiss_thread_and_batches_on_all): pinning 16 would "
    "only restate it")
_M_ZERO_WHY = (
    "the m == 0 branch is a shortcut: without it the general path gives the same (nq, 0) arrays (an empty backend "
    "skips argpartition; k = 0 partitions at -1 and keeps no column); checked for k 0..700 on 0..600 vectors")
_K_ZERO_WHY = (
    "accepted: differs only for k = 0 (for k >= 1, m == 0 means no vectors and sims has no column to slice); no "
    "caller asks k = 0 (CollectionIndex.search returns [] for k <= 0 first) and the FAISS backends refuse it "
    "(AssertionError), so there is no answer to keep")
_KTH_M_WHY = (
    "accepted: a partition at m (a valid kth, m < ntotal) also leaves the m best scores in the first m columns; only "
    "which of several exactly equal scores at the cut is kept could differ, which neither version specifies (same "
    "sets on 51k tie-heavy checks); kth 0 and m - 2 are killed by test_numpy_backend_top_k_is_the_full_ranking_cut_at_k")
_TRAINED_N_WHY = (
    "read only once trained (add tests `self.trained and ...` first, deserialize reads it only when trained) and "
    "_train sets it first; an untrained index only writes it into its file header, which nothing reads back")

#: Reasons shared by several EQUIVALENT entries of analysis/keyframe_choice.py.
_ONE_CHANNEL_WHY = (
    "the grey image has one channel (a 2-D frame as is; cvtColor BGR2GRAY of 3 or 4 channels), so cv2.meanStdDev "
    "returns 1 x 1 arrays: index -1 is index 0")
_NDIM_WHY = (
    "frames are 2-D (grey) or 3-D (colour); ndim >= 3 and == 3 differ only for ndim 4+, where both versions raise "
    "cv2.error (cvtColor of a 4-D array / meanStdDev of one)")
_EPS_EDGE_WHY = (
    "accepted: < and <= differ only for a time exactly 1e-6 beyond the edge, to the last bit; _TIME_EPS is a "
    "rounding tolerance and its own edge is arbitrary (the edge itself, and a rounding error past it, are pinned "
    "by test_frames_exactly_on_the_window_edges_are_in_it and test_a_frame_at_latest_is_within_reach_up_to_rounding)")
_LATEST_AT_HI_WHY = (
    "accepted: with latest == hi the slide gives (max(start, min(lo, hi - (hi - lo))), hi), i.e. the same window "
    "but for lo one ulp lower where hi - (hi - lo) rounds below lo (1 in 200k random segments), far inside the "
    "1e-6 tolerance of the window test")
_TIME_ORDER_KEY_WHY = (
    "frames are offered in time order (decode order) and times are >= 0, so the last key (or the split sentinel "
    "-1) is never greater than the new key: >= and == agree")
_BUCKET_TIE_WHY = (
    "accepted: only which of two frames of one bucket (< 1/24 s apart in the builder) with exactly equal scores "
    "is kept; the score says they are equally good keyframes, and pinning either would pin an arbitrary choice")
_SENTINEL_WHY = (
    "the split sentinel only has to differ from every bucket key; keys are int(time // bucket) >= 0 for times "
    ">= 0, so -1 and -2 both never match (the positive sentinel and the wrong index are killed by "
    "test_bucket_pool_split_after_several_buckets_separates_the_last_one)")
_TIME_ORDER_TAKE_WHY = (
    "the pool's items are in time order (offers come in decode order), so after the first at or past end every "
    "later one is too: continue only skips them one by one, keep_from and picked end the same")


#: Mutants checked to be equivalent (no input can tell them from the original; the few accepted otherwise say so),
#: by module: (the line, the mutated line, why). Matched on the text, not the line number, so an entry stops
#: matching, and the mutant is run again, as soon as its line changes. They are not run; the JSON lists them under
#: "equivalent" with the reason.
EQUIVALENT: dict[str, list[tuple[str, str, str]]] = {
    "apps/search/grouping.py": [
        ("while lo > 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "while lo != 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "lo starts at an index >= 0 and the loop only decrements it while it is above 0: != 0 is the same test"),
        ("while lo > 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "while lo >= 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "accepted: differs only when the run's last segment ends within the touch tolerance (1 ms) of its first "
         "one's start, i.e. a whole video's hits shorter than 1 ms; keyframe segments are never that short"),
        ("while lo > 0 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "while lo > -1 and _touches(run[lo - 1][0], run[lo][0], touch) and joins(run[lo - 1], run[lo][0]):",
         "accepted: the same test as lo >= 0 (see that entry)"),
        ("while hi + 1 < len(run) and _touches(run[hi][0], run[hi + 1][0], touch) and joins(run[hi + 1], run[hi][0]):",
         "while hi + 1 != len(run) and _touches(run[hi][0], run[hi + 1][0], touch) and joins(run[hi + 1], run[hi][0]):",
         "hi starts at a valid index and grows by one while hi + 1 is below len(run): it never passes it, so != is <"),
        ("if seg.keyframe_id not in best or score > best[seg.keyframe_id][1]:",
         "if seg.keyframe_id not in best or score >= best[seg.keyframe_id][1]:",
         "hits of one keyframe id carry the same segment (one row): on a tie either entry is the same value"),
        ("return score >= floor and (score >= bar) == matched and seg.keyframe_id not in assigned",
         "return score >= floor and (score >= bar) >= matched and seg.keyframe_id not in assigned",
         "they differ only for a candidate scoring >= bar while growing a non-matching clip; seeds run best first, "
         "so every segment >= bar is already in a matching clip (in `assigned`) by then"),
        ("return score >= floor and (score >= bar) == matched and seg.keyframe_id not in assigned",
         "return score >= floor and (score >= bar) is matched and seg.keyframe_id not in assigned",
         "score and bar are Python floats (float() in _best_per_keyframe; statistics.median), so both sides are "
         "the bool singletons: `is` and `==` agree"),
        ("*,", "/,",
         "accepted: the keyword-only marker of thresholds() and group_hits(); every caller passes these arguments "
         "by name, so a positional-only marker changes no call"),
    ],
    "apps/search/query_syntax.py": [
        ('while at < len(text):',
         'while at != len(text):',
         "at grows by one, or jumps to a closing mark's index + 1, never past len(text): != is <"),
        ('end = text.find(close, at + 1) if close else -1',
         'end = text.find(close, at + 1) if close else - 2',
         "any negative 'not found' takes the same `end < 0` branch"),
        ('if end < 0:',
         'if end <= 0:',
         'end is a find() from at + 1 >= 1, or negative: it is never 0'),
        ('if end < 0:',
         'if end < 1:',
         'end is a find() from at + 1 >= 1, or negative: it is never 0'),
        ("if len(word) > 1 and word[0] in _SIGNS and word[1].isalnum():",
         "if len(word) != 1 and word[0] in _SIGNS and word[1].isalnum():",
         "words come from str.split(), never empty: len(word) > 1 and != 1 are the same test"),
        ("elif at > 0:", "elif at != 0:", "at is an enumerate() index, never negative: > 0 and != 0 are the same test"),
        ('return "+" if sign > 0 else "-"', 'return "+" if sign >= 0 else "-"',
         "sign is always +1 or -1 (the start value 1, or an operator token; 0 is filtered out): never 0"),
        ('return "+" if sign > 0 else "-"', 'return "+" if sign > -1 else "-"',
         "sign is always +1 or -1 (the start value 1, or an operator token; 0 is filtered out): > -1 is > 0"),
        ('if word == "+":', 'if word is "+":',
         "CPython keeps one object per latin-1 character, and a one-character word from str.split() is that "
         "object (checked on ASCII, Cyrillic and emoji text): is and == agree"),
        ('return (1 if word[0] == "+" else -1), word[1:]', 'return (1 if word[0] is "+" else -1), word[1:]',
         "word[0] is a one-character str, the cached object of its latin-1 character: is and == agree"),
        ('return (1 if word[0] == "+" else -1), word[1:]', 'return (1 if word[0] <= "+" else -1), word[1:]',
         "word[0] is '+' or '-' here (checked just before); '-' sorts after '+': <= and == agree on both"),
    ],
    "apps/search/calibration.py": [
        ("RECIPE_VERSION = 2", "RECIPE_VERSION = 3",
         "accepted: a recipe bump only makes the files of older runs be measured again; no answer changes"),
        ("RECIPE_VERSION = 2", "RECIPE_VERSION = 1",
         "accepted: a recipe bump only makes the files of older runs be measured again; no answer changes"),
        ("CALIBRATION_SEED = 424_242", "CALIBRATION_SEED = 424241",
         "accepted: the seed only picks which generated scenes are measured; any seed calibrates as well"),
        ("CALIBRATION_SEED = 424_242", "CALIBRATION_SEED = 424243",
         "accepted: the seed only picks which generated scenes are measured; any seed calibrates as well"),
        ('recipe=int(data.get("recipe", 0)))', 'recipe=int(data.get("recipe", 1)))',
         "a file without a recipe reads as stale with any default other than RECIPE_VERSION (2)"),
        ('recipe=int(data.get("recipe", 0)))', 'recipe=int(data.get("recipe", -1)))',
         "a file without a recipe reads as stale with any default other than RECIPE_VERSION (2)"),
        ("CALIBRATION_SCENES = 96",
         "CALIBRATION_SCENES = 97",
         "accepted: the scene count only sets how many pairs the quantiles are estimated from (a "
         "recipe choice, which bumps RECIPE_VERSION); 95 or 97 calibrate as well, and pinning 96 "
         "would only restate it"),
        ("CALIBRATION_SCENES = 96",
         "CALIBRATION_SCENES = 95",
         "accepted: the scene count only sets how many pairs the quantiles are estimated from (a "
         "recipe choice, which bumps RECIPE_VERSION); 95 or 97 calibrate as well, and pinning 96 "
         "would only restate it"),
        ("if s <= self.floor:",
         "if s < self.floor:",
         "at s == floor the next piece gives 0.5 * 0.0 / (threshold - floor) = 0.0 as well (anchors "
         "are ordered, kept MIN_GAP apart by fit_anchors)"),
        ("if s < self.threshold:",
         "if s <= self.threshold:",
         "at s == threshold the first piece gives 0.5 * (t - f) / (t - f) = 0.5 exactly, as the "
         "second does (0.5 + 0.0)"),
        ("if s < self.good:",
         "if s <= self.good:",
         "at s == good the middle piece gives 0.5 + 0.5 * (g - t) / (g - t) = 1.0 exactly, as the last does"),
        ("if matched.size == 0 or unrelated.size == 0:",
         "if matched.size <= 0 or unrelated.size == 0:",
         "an array size is never negative: <= 0 is == 0"),
        ("if matched.size == 0 or unrelated.size == 0:",
         "if matched.size == 0 or unrelated.size <= 0:",
         "an array size is never negative: <= 0 is == 0"),
        ("return json.dumps(asdict(self), indent=2)",
         "return json.dumps(asdict(self), indent= 3)",
         "accepted: the indent is whitespace of the shared file only; from_json reads any indent, the same anchors"),
        ("return json.dumps(asdict(self), indent=2)",
         "return json.dumps(asdict(self), indent= 1)",
         "accepted: the indent is whitespace of the shared file only; from_json reads any indent, the same anchors"),
        ("specs = distinct_specs(np.random.default_rng([seed, 0]), n)",
         "specs = distinct_specs(np.random.default_rng([seed, 1]), n)",
         "accepted: like CALIBRATION_SEED, the stream only picks which scenes and renders are "
         "measured; any stream calibrates as well"),
        ("images = [_jpeg_round_trip(render(spec, RENDER_SIZES[i % len(RENDER_SIZES)], "
         "np.random.default_rng([seed, 1, i])),",
         "images = [_jpeg_round_trip(render(spec, RENDER_SIZES[i % len(RENDER_SIZES)], "
         "np.random.default_rng([seed, 2, i])),",
         "accepted: like CALIBRATION_SEED, the stream only picks which scenes and renders are "
         "measured; any stream calibrates as well"),
        ("images = [_jpeg_round_trip(render(spec, RENDER_SIZES[i % len(RENDER_SIZES)], "
         "np.random.default_rng([seed, 1, i])),",
         "images = [_jpeg_round_trip(render(spec, RENDER_SIZES[i % len(RENDER_SIZES)], "
         "np.random.default_rng([seed, 0, i])),",
         "accepted: like CALIBRATION_SEED, the stream only picks which scenes and renders are "
         "measured; any stream calibrates as well"),
        ("quality=85) for i, spec in enumerate(specs)]",
         "quality= 86) for i, spec in enumerate(specs)]",
         "accepted: a JPEG quality a step either side of 85 is the same 'lossy as stored' condition; "
         "pinning 85 would only restate it"),
        ("quality=85) for i, spec in enumerate(specs)]",
         "quality= 84) for i, spec in enumerate(specs)]",
         "accepted: a JPEG quality a step either side of 85 is the same 'lossy as stored' condition; "
         "pinning 85 would only restate it"),
        ("buffer.seek(0)",
         "buffer.seek( 1)",
         "PIL's Image.open seeks the file to 0 itself before reading: the position left here does not matter"),
        ('return Path(folder) / f"{hashlib.sha256(model_id.encode()).hexdigest()[:20]}.json"',
         'return Path(folder) / f"{hashlib.sha256(model_id.encode()).hexdigest()[: 21]}.json"',
         "accepted: the name length only decides which file holds a model's anchors (every worker "
         "runs the same code); a change only makes older files be measured again"),
        ('return Path(folder) / f"{hashlib.sha256(model_id.encode()).hexdigest()[:20]}.json"',
         'return Path(folder) / f"{hashlib.sha256(model_id.encode()).hexdigest()[: 19]}.json"',
         "accepted: the name length only decides which file holds a model's anchors (every worker "
         "runs the same code); a change only makes older files be measured again"),
        ("if calibration.model_id != model_id or calibration.recipe != RECIPE_VERSION:",
         "if calibration.model_id != model_id or calibration.recipe is not RECIPE_VERSION:",
         "recipe is a small int (int() of a JSON number), and CPython keeps one object per int from "
         "-5 to 256: is not and != agree while RECIPE_VERSION stays below 257"),
    ],
    "apps/search/index_backends.py": [
        ("top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None",
         "top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m <= self.ntotal else None",
         "when m == ntotal a partition at m - 1 keeps every column, as the arange it replaces does: only the work "
         "differs"),
        ("with _threads_for(1):  # OpenMP threads would spin on after it and slow the request's next steps",
         "with _threads_for( 2):  # OpenMP threads would spin on after it and slow the request's next steps",
         "any count below SINGLE_THREAD_BELOW (16) selects the same single-thread branch"),
        ("ivf.cp.seed = 1234  # deterministic k-means", "ivf.cp.seed = 1233  # deterministic k-means",
         "accepted: any fixed seed makes k-means deterministic, which is what it is for"),
        ("ivf.cp.seed = 1234  # deterministic k-means", "ivf.cp.seed = 1235  # deterministic k-means",
         "accepted: any fixed seed makes k-means deterministic, which is what it is for"),
        ("self.nprobe = 0", "self.nprobe = 1", "nprobe is read only once trained, and _train sets it first"),
        ("self.nprobe = 0", "self.nprobe = -1", "nprobe is read only once trained, and _train sets it first"),
        ("IVF_MIN_TRAIN = 8192", "IVF_MIN_TRAIN = 8193", _IVF_MIN_TRAIN_WHY),
        ("IVF_MIN_TRAIN = 8192", "IVF_MIN_TRAIN = 8191", _IVF_MIN_TRAIN_WHY),
        ("SINGLE_THREAD_BELOW = 16", "SINGLE_THREAD_BELOW = 17", _SINGLE_THREAD_WHY),
        ("SINGLE_THREAD_BELOW = 16", "SINGLE_THREAD_BELOW = 15", _SINGLE_THREAD_WHY),
        ("@property", "",
         "only the VectorBackend Protocol's ntotal stub gives this after-text (the other @property lines are followed "
         "by a body): a typing Protocol, not runtime_checkable, never instantiated; only type checkers read it"),
        ("if m >= k:", "if m == k:",
         "_pad's one caller passes m = min(k, ntotal) columns, so m > k never occurs: == is >="),
        ("if m >= k:", "if m > k:",
         "m <= k always (see ==); at m == k the padding path copies all m columns into a fresh (nq, k) array of the "
         "same dtypes: the same values"),
        ("if m >= k:", "if m is k:",
         "m <= k always; where m == k is another int object (above 256) the padding path copies all m columns into a "
         "fresh (nq, k) array of the same dtypes: the same values"),
        ("if m == 0:", "if m < 0:", _M_ZERO_WHY),
        ("if m == 0:", "if m == -1:", _M_ZERO_WHY),
        ("if m == 0:", "if m <= 0:", "m = min(k, ntotal) is never negative for k >= 0 (CollectionIndex.search returns "
         "[] for k <= 0 before asking a backend): <= 0 is == 0"),
        ('return _pad(sims[:, :0], np.empty((len(queries), 0), np.int64), k)',
         "return _pad(sims[:, : 1], np.empty((len(queries), 0), np.int64), k)", _K_ZERO_WHY),
        ('return _pad(sims[:, :0], np.empty((len(queries), 0), np.int64), k)',
         "return _pad(sims[:, : -1], np.empty((len(queries), 0), np.int64), k)", _K_ZERO_WHY),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m // 1, axis=1)[:, :m] if m < self.ntotal else None", _KTH_M_WHY),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m * 1, axis=1)[:, :m] if m < self.ntotal else None", _KTH_M_WHY),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m ** 1, axis=1)[:, :m] if m < self.ntotal else None", _KTH_M_WHY),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m - 0, axis=1)[:, :m] if m < self.ntotal else None", _KTH_M_WHY),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m != self.ntotal else None",
         "m = min(k, ntotal) never exceeds ntotal: != is <"),
        ('top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m < self.ntotal else None',
         "top = np.argpartition(-sims, m - 1, axis=1)[:, :m] if m is not self.ntotal else None",
         "m never exceeds ntotal; where m equals it as another int object (above 256) the partition at m - 1 keeps "
         "every column, as the arange it replaces does (see the <= entry)"),
        ("faiss.omp_set_num_threads(1)", "faiss.omp_set_num_threads( 0)",
         "OpenMP clamps a thread count below 1 to 1 (libgomp and LLVM libomp; checked: omp_get_max_threads() is 1 "
         "after omp_set_num_threads(0))"),
        ("with _threads_for(1):  # OpenMP threads would spin on after it and slow the request's next steps",
         "with _threads_for( 0):  # OpenMP threads would spin on after it and slow the request's next steps",
         "any count below SINGLE_THREAD_BELOW (16) selects the same single-thread branch"),
        ("self._trained_n = 0", "self._trained_n = 1", _TRAINED_N_WHY),
        ("self._trained_n = 0", "self._trained_n = -1", _TRAINED_N_WHY),
    ],
    "apps/search/frame_match.py": [
        ("scored = [item for item in scored if len(item[1])]", "scored = [item for item in scored if len(item[ 2])]",
         "item[1] (times) and item[2] (their similarities) always have the same length"),
        ("margin = float(np.median(np.diff(best_times))) / 2 if len(best_times) > 1 else 0.0",
         "margin = float(np.median(np.diff(best_times))) / 2 if len(best_times) != 1 else 0.0",
         "_judge drops videos without fingerprints first: best_times is never empty"),
        ("margin: float = 0.0", "margin: float = 1.0",
         "_judge, the one place a FrameMatch is made, always passes margin: the default is never used"),
        ("margin: float = 0.0", "margin: float = -1.0",
         "_judge, the one place a FrameMatch is made, always passes margin: the default is never used"),
        ("if whole is _AMBIGUOUS or isinstance(whole, FrameMatch) and whole.one_moment:",
         "if whole == _AMBIGUOUS or isinstance(whole, FrameMatch) and whole.one_moment:",
         "whole is a FrameMatch (never equal to a str) or one of the three distinct verdict strings _judge returns: "
         "== and is agree"),
        ("if any(max(1.0 - float(sims.max()), NOISE_DISTANCE) < bar for video_id, _, sims in scored if video_id != "
         "best_video):",
         "if any(max(1.0 - float(sims.max()), NOISE_DISTANCE) < bar for video_id, _, sims in scored if video_id is not "
         "best_video):",
         "each video is in scored once (dict keys) and best_video is the very object of its own entry: identity "
         "and equality agree"),
        ("if len(far) and not (_unbroken(best_time - NEIGHBOURHOOD_S, far[far < best_time])",
         "if len(far) and not (_unbroken(best_time - NEIGHBOURHOOD_S, far[far <= best_time])",
         "far holds only times more than NEIGHBOURHOOD_S from best_time, never best_time itself: <= and < agree"),
        ("and _unbroken(best_time + NEIGHBOURHOOD_S, far[far > best_time])):",
         "and _unbroken(best_time + NEIGHBOURHOOD_S, far[far >= best_time])):",
         "far holds only times more than NEIGHBOURHOOD_S from best_time, never best_time itself: >= and > agree"),
    ],
    "apps/search/index_log.py": [
        ("if os.fstat(fd).st_size != valid_end:", "if os.fstat(fd).st_size is not valid_end:",
         "truncating a file to the size it has is a no-op, so truncating also when the sizes are equal (as `is not` "
         "does for ints over 256) changes nothing"),
        ("if os.fstat(fd).st_size != valid_end:", "if os.fstat(fd).st_size > valid_end:",
         "valid_end is where a reader of this file stopped, never past its end: > and != agree"),
        ("if os.fstat(fd).st_size != valid_end:", "if os.fstat(fd).st_size >= valid_end:",
         "valid_end never exceeds the size, and truncating to the size the file has is a no-op"),
        ("while pos + _FRAME.size <= len(data):", "while pos + _FRAME.size < len(data):",
         "encode() never writes an empty body (it holds at least the header length and the JSON header), so a "
         "frame header that ends the data is always a torn tail: both versions stop there"),
        ("if len(body) < length or zlib.crc32(body) != crc:", "if len(body) > length or zlib.crc32(body) != crc:",
         "accepted: a short (torn) body also fails the CRC test, except for a 2^-32 collision; the length test only "
         "spares computing the CRC of a body being written"),
        ("if len(body) < length or zlib.crc32(body) != crc:", "if len(body) != length or zlib.crc32(body) != crc:",
         "a slice is never longer than asked, so != is < here"),
        ("fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)", "fd = os.open(path, os.O_WRONLY + os.O_CREAT, 0o644)",
         "O_WRONLY and O_CREAT are distinct bits: their sum is their union"),
    ],
    "apps/search/query_spec.py": [
        ('MAX_QUERY_WORDS = 32',
         'MAX_QUERY_WORDS = 33',
         "accepted: the words limit bounds a request's cost; its switch is pinned relative to the constant (test_words_limit_counts_phrase_words_and_loose_words); pinning 32 would only restate it"),  # noqa: E501
        ('MAX_QUERY_WORDS = 32',
         'MAX_QUERY_WORDS = 31',
         "accepted: the words limit bounds a request's cost; its switch is pinned relative to the constant (test_words_limit_counts_phrase_words_and_loose_words); pinning 32 would only restate it"),  # noqa: E501
        ('words = [w for w in rest.split() if not (len(w) > 1 and w[0] == "-" and w[1].isalnum())]',
         'words = [w for w in rest.split() if not (len(w) != 1 and w[0] == "-" and w[1].isalnum())]',
         'words come from str.split(), never empty: len(w) > 1 and != 1 agree'),
        ('words = [w for w in rest.split() if not (len(w) > 1 and w[0] == "-" and w[1].isalnum())]',
         'words = [w for w in rest.split() if not (len(w) > 1 and w[0] is "-" and w[1].isalnum())]',
         'accepted: CPython keeps one object per one-character string, so `is` agrees with == here (not by the language definition)'),  # noqa: E501
        ('exclude = [w[1:] for w in rest.split() if len(w) > 1 and w[0] == "-" and w[1].isalnum()]',
         'exclude = [w[1:] for w in rest.split() if len(w) != 1 and w[0] == "-" and w[1].isalnum()]',
         'words come from str.split(), never empty: len(w) > 1 and != 1 agree'),
        ('exclude = [w[1:] for w in rest.split() if len(w) > 1 and w[0] == "-" and w[1].isalnum()]',
         'exclude = [w[1:] for w in rest.split() if len(w) > 1 and w[0] is "-" and w[1].isalnum()]',
         'accepted: CPython keeps one object per one-character string, so `is` agrees with == here (not by the language definition)'),  # noqa: E501
        ('group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)',
         'group = WordGroup(first.groups[ -1].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)',  # noqa: E501
         'an explicit words query (words_query()) always holds exactly one group: [-1] is [0]'),
        ('group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)',
         'group = WordGroup(first.groups[0].phrases + second.groups[ -1].phrases, first.groups[0].words + second.groups[0].words)',  # noqa: E501
         'an explicit words query (words_query()) always holds exactly one group: [-1] is [0]'),
        ('group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)',
         'group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[ -1].words + second.groups[0].words)',  # noqa: E501
         'an explicit words query (words_query()) always holds exactly one group: [-1] is [0]'),
        ('group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[0].words)',
         'group = WordGroup(first.groups[0].phrases + second.groups[0].phrases, first.groups[0].words + second.groups[ -1].words)',  # noqa: E501
         'an explicit words query (words_query()) always holds exactly one group: [-1] is [0]'),
        ('if self.terms and all(term.weight < 0 for term in self.terms):',
         'if self.terms and all(term.weight <= 0 for term in self.terms):',
         'check_weight refuses a weight of 0: < 0 and <= 0 agree on all weights that get here'),
        ('if isinstance(t, TextTerm) and t.weight > 0 and len(t.text.split()) <= MAX_QUERY_WORDS)',
         'if isinstance(t, TextTerm) and t.weight >= 0 and len(t.text.split()) <= MAX_QUERY_WORDS)',
         'check_weight refuses a weight of 0: > 0 and >= 0 agree on all weights that get here'),
        ("if all(term.weight < 0 for term in self.terms):", "if all(term.weight <= 0 for term in self.terms):",
         "check_weight, called on every term just above, refuses a weight of 0: < 0 and <= 0 agree on all "
         "weights that get here"),
        ("if kinds == {TextTerm}:", "if kinds <= {TextTerm}:",
         "a spec has at least one term (checked in __post_init__), so kinds is never the empty set"),
        ("@dataclass(frozen=True, eq=False)", "@dataclass(frozen=True, eq=True)",
         "accepted: eq=True would compare image terms pixel by pixel and make them unhashable (PIL images are); no "
         "code compares or hashes terms or specs holding an image, so nothing a user sees changes"),
        ("if len(self.terms) == 1:", "if len(self.terms) <= 1:",
         "a spec has at least one term (checked in __post_init__): <= 1 is == 1"),
        ('return "image" if kinds == {ImageTerm} else "similar"', 'return "image" if kinds >= {ImageTerm} else "similar"',
         "with one term kinds is a one-element set: it contains {ImageTerm} exactly when it equals it"),
        ('return "image" if kinds == {ImageTerm} else "similar"', 'return "image" if kinds <= {ImageTerm} else "similar"',
         "with one term kinds is a one-element set, never empty: a subset of {ImageTerm} exactly when equal to it"),
        ("return next((t.image for t in self.terms if isinstance(t, ImageTerm) and t.weight > 0), None)",
         "return next((t.image for t in self.terms if isinstance(t, ImageTerm) and t.weight >= 0), None)",
         "check_weight refuses a weight of 0 in __post_init__: > 0 and >= 0 agree on every weight of a spec"),
        ("return next((t.photo_id for t in self.terms if isinstance(t, PhotoTerm) and t.weight > 0), None)",
         "return next((t.photo_id for t in self.terms if isinstance(t, PhotoTerm) and t.weight >= 0), None)",
         "check_weight refuses a weight of 0 in __post_init__: > 0 and >= 0 agree on every weight of a spec"),
    ],
    "analysis/fingerprints.py": [
        ("self._next = 0.0", "self._next = -1.0",
         "the decoder puts frame i at i / fps (fps filter with start_time=0): times are never negative, and for "
         "times >= 0 any start <= 0 takes the first frame"),
    ],
    "analysis/keyframe_choice.py": [
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[0, 0]), float(std[0, -1]), float(lap_std[0, 0]) ** 2)",
         "cv2.meanStdDev of a one-channel image returns 1 x 1 arrays: [0, -1] is [0, 0]"),
        ("key = int(time // self._bucket)", "key = int(time / self._bucket)",
         "accepted, not strictly equivalent: the two differ only where float floor and true division round apart "
         "(1.0 // 0.1 == 9.0), moving a frame on a bucket edge to the next bucket; bucket edges are arbitrary "
         "(buckets only bound memory), so pinning either rounding would pin an artefact"),
        ("gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim == 3 else bgr",
         "gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if bgr.ndim >= 3 else bgr",
         _NDIM_WHY),
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[ -1, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         _ONE_CHANNEL_WHY),
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[0, -1]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         _ONE_CHANNEL_WHY),
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[0, 0]), float(std[ -1, 0]), float(lap_std[0, 0]) ** 2)",
         _ONE_CHANNEL_WHY),
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[ -1, 0]) ** 2)",
         _ONE_CHANNEL_WHY),
        ("return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, 0]) ** 2)",
         "return FrameQuality(float(mean[0, 0]), float(std[0, 0]), float(lap_std[0, -1]) ** 2)",
         _ONE_CHANNEL_WHY),
        ("if latest < hi:",
         "if latest <= hi:",
         _LATEST_AT_HI_WHY),
        ("in_reach = [c for c in usable if c.time <= latest + _TIME_EPS]",
         "in_reach = [c for c in usable if c.time < latest + _TIME_EPS]",
         _EPS_EDGE_WHY),
        ("central = [c for c in usable if lo - _TIME_EPS <= c.time <= hi + _TIME_EPS]",
         "central = [c for c in usable if lo - _TIME_EPS < c.time <= hi + _TIME_EPS]",
         _EPS_EDGE_WHY),
        ("central = [c for c in usable if lo - _TIME_EPS <= c.time <= hi + _TIME_EPS]",
         "central = [c for c in usable if lo - _TIME_EPS <= c.time < hi + _TIME_EPS]",
         _EPS_EDGE_WHY),
        ("if shot_end is not None and end >= shot_end - _TIME_EPS:",
         "if shot_end is not None and end > shot_end - _TIME_EPS:",
         _EPS_EDGE_WHY),
        ("if self._keys and self._keys[-1] == key:",
         "if self._keys and self._keys[-1] >= key:",
         _TIME_ORDER_KEY_WHY),
        ("if quality.score > self._items[-1].quality.score:",
         "if quality.score >= self._items[-1].quality.score:",
         _BUCKET_TIE_WHY),
        ("self._keys[-1] = -1",
         "self._keys[-1] = - 2",
         _SENTINEL_WHY),
        ("break",
         "continue",
         _TIME_ORDER_TAKE_WHY),
    ],
    "analysis/detectors/cut_filters.py": [
        ("return float(x @ y) / denom if denom > 0 else 0.0",
         "return float(x @ y) / denom if denom != 0 else 0.0",
         "denom is a square root, never negative: > 0 and != 0 are the same test"),
        ("self._first_index = 0", "self._first_index = 1",
         "the first push() sets _first_index before anything reads it"),
        ("self._first_index = 0", "self._first_index = -1",
         "the first push() sets _first_index before anything reads it"),
        ("neighbours = self._scores[max(0, at - self.radius):at] + self._scores[at + 1:at + 1 + self.radius]",
         "neighbours = self._scores[max(0, at - self.radius):at] + self._scores[at + 1:at + 2 + self.radius]",
         "a frame is judged when the buffer ends exactly radius frames after it: a slice end one further reads "
         "the same frames"),
        ("self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 2)",
         "self._frames: deque[np.ndarray] = deque(maxlen=window * max_delay + 2)",
         "the ring must hold max_delay + 2 frames (the frame before a cut reported max_delay frames late, up to "
         "now; later frames are compared as they arrive); with window >= 1 this still does: only memory changes"),
        ("self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 2)",
         "self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 1)",
         "the ring must hold max_delay + 2 frames (see the line's other mutant); with window >= 1 this still does"),
        ("for j in range(held.checked + 1, last + 1):", "for j in range(held.checked * 1, last + 1):",
         "re-checks frame `checked`: a frame already found far from the picture before the cut, or at first the "
         "cut frame itself, whose distance is 3x the limit (equal only for a cut of distance 0, never proposed)"),
        ("def __init__(self, *, min_score: float = 15.0, ratio: float = 8.0, radius: int = 4) -> None:",
         "def __init__(self, /, min_score: float = 15.0, ratio: float = 8.0, radius: int = 4) -> None:",
         "accepted: `/` for `*` only lets a caller pass the options by position, which the original refuses; every "
         "caller names them"),
        ("if len(self._scores) > 2 * self.radius + 1:",
         "if len(self._scores) > 3 * self.radius + 1:",
         "accepted: the score buffer only gets longer (3r+1, 2**r+1, 2r+2 >= 2r+1 for r >= 0); _first_index follows "
         "the pops and _is_spike reads radius scores either side, so every verdict is the same: only memory grows"),
        ("if len(self._scores) > 2 * self.radius + 1:",
         "if len(self._scores) > 2 ** self.radius + 1:",
         "accepted: the score buffer only gets longer (3r+1, 2**r+1, 2r+2 >= 2r+1 for r >= 0); _first_index follows "
         "the pops and _is_spike reads radius scores either side, so every verdict is the same: only memory grows"),
        ("if len(self._scores) > 2 * self.radius + 1:",
         "if len(self._scores) > 2 * self.radius + 2:",
         "accepted: the score buffer only gets longer (3r+1, 2**r+1, 2r+2 >= 2r+1 for r >= 0); _first_index follows "
         "the pops and _is_spike reads radius scores either side, so every verdict is the same: only memory grows"),
        ("return all(score >= self.ratio * max(n, 0.5) for n in neighbours)",
         "return all(score >= self.ratio * max(n, 1.5) for n in neighbours)",
         "accepted: the floor on a neighbour's score sets a bar of ratio x floor (4; 12 with 1.5; 0 with -0.5, "
         "scores being >= 0), below the min_score (15, what the pipeline uses) a spike must reach anyway: no verdict "
         "changes unless a caller lowers min_score under 12"),
        ("return all(score >= self.ratio * max(n, 0.5) for n in neighbours)",
         "return all(score >= self.ratio * max(n, -0.5) for n in neighbours)",
         "accepted: the floor on a neighbour's score sets a bar of ratio x floor (4; 12 with 1.5; 0 with -0.5, "
         "scores being >= 0), below the min_score (15, what the pipeline uses) a spike must reach anyway: no verdict "
         "changes unless a caller lowers min_score under 12"),
        ("limit: float = 0.0  # a frame this close to ``before`` means the picture came back",
         "limit: float = 1.0  # a frame this close to ``before`` means the picture came back",
         "_verdict sets limit, together with before, before anything reads it"),
        ("limit: float = 0.0  # a frame this close to ``before`` means the picture came back",
         "limit: float = -1.0  # a frame this close to ``before`` means the picture came back",
         "_verdict sets limit, together with before, before anything reads it"),
        ("checked: int = 0  # the last frame compared with ``before``",
         "checked: int = 1  # the last frame compared with ``before``",
         "_verdict sets checked, together with before, before anything reads it"),
        ("checked: int = 0  # the last frame compared with ``before``",
         "checked: int = -1  # the last frame compared with ``before``",
         "_verdict sets checked, together with before, before anything reads it"),
        ("def __init__(self, *, window: int, max_delay: int, return_ratio: float = 1.0 / 3.0) -> None:",
         "def __init__(self, /, window: int, max_delay: int, return_ratio: float = 1.0 / 3.0) -> None:",
         "accepted: `/` for `*` only lets a caller pass the options by position, which the original refuses; every "
         "caller names them"),
        ("self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 2)",
         "self._frames: deque[np.ndarray] = deque(maxlen=window + max_delay + 3)",
         "accepted: one frame more than the ring needs (the frame before a cut proposed max_delay frames late); only "
         "memory grows, and a cut reported later than propose() allows may be checked instead of trusted"),
        ("self._last_index = -1",
         "self._last_index = 1",
         "push() sets it before settling; before the first push only flush() settles, and with no frame held every "
         "cut is confirmed whatever its value (its frame before counts as gone, or it lies past the last frame)"),
        ("self._last_index = -1",
         "self._last_index = not 1",
         "push() sets it before settling; before the first push only flush() settles, and with no frame held every "
         "cut is confirmed whatever its value (its frame before counts as gone, or it lies past the last frame)"),
        ("self._last_index = -1",
         "self._last_index = +1",
         "push() sets it before settling; before the first push only flush() settles, and with no frame held every "
         "cut is confirmed whatever its value (its frame before counts as gone, or it lies past the last frame)"),
        ("self._last_index = -1",
         "self._last_index = - 2",
         "push() sets it before settling; before the first push only flush() settles, and with no frame held every "
         "cut is confirmed whatever its value (its frame before counts as gone, or it lies past the last frame)"),
        ("self._last_index = -1",
         "self._last_index = - 0",
         "push() sets it before settling; before the first push only flush() settles, and with no frame held every "
         "cut is confirmed whatever its value (its frame before counts as gone, or it lies past the last frame)"),
        ("def _settle(self, *, final: bool) -> list[int]:",
         "def _settle(self, /, final: bool) -> list[int]:",
         "accepted: `/` for `*` only lets a caller pass the options by position, which the original refuses; every "
         "caller names them"),
        ("if held.frame > self._last_index:",
         "if held.frame >= self._last_index:",
         "a cut at the latest frame has no window frame to compare yet: the original reads before/limit and answers "
         "None (True if final), the mutant answers the same and reads them one push later, when the frame before is "
         "still held (the ring holds window + max_delay + 2 >= 3 frames)"),
        ("for j in range(held.checked + 1, last + 1):",
         "for j in range(held.checked // 1, last + 1):",
         "re-checks frame `checked`: a frame already found far from the picture before the cut, or at first the cut "
         "frame itself, whose distance is 3x the limit (equal only for a cut of distance 0, never proposed)"),
        ("for j in range(held.checked + 1, last + 1):",
         "for j in range(held.checked ** 1, last + 1):",
         "re-checks frame `checked`: a frame already found far from the picture before the cut, or at first the cut "
         "frame itself, whose distance is 3x the limit (equal only for a cut of distance 0, never proposed)"),
        ("for j in range(held.checked + 1, last + 1):",
         "for j in range(held.checked + 0, last + 1):",
         "re-checks frame `checked`: a frame already found far from the picture before the cut, or at first the cut "
         "frame itself, whose distance is 3x the limit (equal only for a cut of distance 0, never proposed)"),
        ("return True if final or last == held.frame + self.window else None",
         "return True if final or last >= held.frame + self.window else None",
         "last = min(held.frame + window, last_index) never exceeds held.frame + window: >= and == agree"),
    ],
    "analysis/detectors/content.py": [
        ("self.last_score = 0.0  # the score of the latest frame, for IsolatedSpikeDetector",
         "self.last_score = 1.0  # the score of the latest frame, for IsolatedSpikeDetector",
         "accepted: only the value before any frame changes; process_frame's first step, _calculate_frame_score, "
         "sets last_score on both scoring paths, and the pipeline reads it only after process_frame"),
        ("self.last_score = 0.0  # the score of the latest frame, for IsolatedSpikeDetector",
         "self.last_score = -1.0  # the score of the latest frame, for IsolatedSpikeDetector",
         "accepted: only the value before any frame changes; process_frame's first step, _calculate_frame_score, "
         "sets last_score on both scoring paths, and the pipeline reads it only after process_frame"),
    ],
    "analysis/shots.py": [
        ("least = min_edge_shot if len(bounds) == 1 else min_shot",
         "least = min_edge_shot if len(bounds) <= 1 else min_shot",
         "bounds starts as [0.0] and only grows: len(bounds) is never below 1, so <= 1 and == 1 agree"),
        ("if len(bounds) > 1 and duration - bounds[-1] < min_edge_shot:",
         "if len(bounds) != 1 and duration - bounds[-1] < min_edge_shot:",
         "len(bounds) is never below 1 (it starts as [0.0]): != 1 and > 1 agree"),
        ("if length <= 0:",
         "if length == 0:",
         "a shortcut only: for any length <= 0 the general path gives n = max(1, ceil(<= 0)) = 1 and edges [start + "
         "length * 0 / 1, end], i.e. [start, end], what the shortcut returns"),
        ("if length <= 0:",
         "if length < 0:",
         "a shortcut only: for any length <= 0 the general path gives n = max(1, ceil(<= 0)) = 1 and edges [start + "
         "length * 0 / 1, end], i.e. [start, end], what the shortcut returns"),
        ("if length <= 0:",
         "if length <= -1:",
         "a shortcut only: for any length <= 0 the general path gives n = max(1, ceil(<= 0)) = 1 and edges [start + "
         "length * 0 / 1, end], i.e. [start, end], what the shortcut returns"),
        ("if n <= 2:",
         "if n < 2:",
         "n >= 1; for n == 2 the other branch gives [start + max_gap * 0, start + (end - start) / 2, end], the same "
         "floats as [start + length * i / 2 for i in (0, 1)] + [end]"),
        ("if n <= 2:",
         "if n <= 1:",
         "n >= 1; for n == 2 the other branch gives [start + max_gap * 0, start + (end - start) / 2, end], the same "
         "floats as [start + length * i / 2 for i in (0, 1)] + [end]"),
    ],
}

#: cosmic-ray operators whose mutants are "trivial" (see the docstring): the replacement, not the original.
TRIVIAL = re.compile(r"core/ReplaceBinaryOperator_\w+_(BitOr|BitAnd|BitXor|LShift|RShift)$"
                     r"|core/ReplaceUnaryOperator_\w+_Invert$")


@dataclass(frozen=True)
class Spec:
    """One mutant as cosmic-ray's session database holds it."""

    job_id: str
    operator: str
    occurrence: int
    start: tuple[int, int]
    end: tuple[int, int]


def pick_modules(names: list[str] | None) -> list[str]:
    """Modules by path or by any part of it (``grouping``, ``detectors/content``)."""
    if not names:
        return list(MODULES)
    picked = []
    for name in names:
        hits = [m for m in MODULES if m == name or Path(m).stem == name or name in m]
        if not hits:
            raise SystemExit(f"unknown module {name!r}; known: {', '.join(MODULES)}")
        picked += [m for m in hits if m not in picked]
    return picked


def copy_tree(dest: Path) -> None:
    """The working tree as it is now (tracked and new, unignored files), so edits not yet committed count."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             check=True, capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, listing):
        src = REPO / rel
        if src.is_file() and not src.is_symlink():
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) of every annotation: never evaluated under ``from __future__ import annotations``."""
    if "from __future__ import annotations" not in source:
        return []
    spans = []
    for node in ast.walk(ast.parse(source)):
        notes = []
        if isinstance(node, ast.arg) and node.annotation is not None:
            notes.append(node.annotation)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.returns is not None:
            notes.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            notes.append(node.annotation)
        spans += [((n.lineno, n.col_offset), (n.end_lineno, n.end_col_offset)) for n in notes]
    return spans


def read_specs(session: Path) -> list[Spec]:
    with use_db(session, WorkDB.Mode.open) as db:
        specs = [Spec(item.job_id, m.operator_name, m.occurrence, tuple(m.start_pos), tuple(m.end_pos))
                 for item in db.work_items for m in item.mutations]
    return sorted(specs, key=lambda s: (s.start, s.operator, s.occurrence))  # job ids are random: sort by place


def _changed_line(source: str, spec: Spec) -> tuple[str, str]:
    """The mutated line before and after the mutation (stripped); ("", "") when cosmic-ray makes no change."""
    operator = cosmic_ray.plugins.get_operator(spec.operator)()
    mutated = cosmic_ray.mutating.mutate_code(source, operator, spec.occurrence)
    row = spec.start[0] - 1
    if mutated is None:
        return "", ""
    return source.splitlines()[row].strip(), mutated.splitlines()[row].strip()


def equivalent_reason(module: str, source: str, spec: Spec) -> str | None:
    """Why this mutant is equivalent, when EQUIVALENT lists its exact before/after line for the module."""
    known = EQUIVALENT.get(module, [])
    if not known or source.splitlines()[spec.start[0] - 1].strip() not in {before for before, _, _ in known}:
        return None
    change = _changed_line(source, spec)
    return next((why for before, after, why in known if (before, after) == change), None)


def mark_skipped(session: Path, job_ids: list[str]) -> None:
    """Record these mutants as skipped, as cosmic-ray's own filters do: ``exec`` runs only those without a result."""
    with use_db(session, WorkDB.Mode.open) as db:
        db.set_multiple_results(job_ids, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def summarize_diff(diff: str | None) -> str:
    """The changed line before and after, e.g. ``if a < b:  ->  if a <= b:``."""
    lines = (diff or "").splitlines()
    old = [ln[1:].strip() for ln in lines if ln.startswith("-") and not ln.startswith("---")]
    new = [ln[1:].strip() for ln in lines if ln.startswith("+") and not ln.startswith("+++")]
    return f"{' / '.join(old)}  ->  {' / '.join(new)}"


def run_baseline(tree: Path, command: list[str], env: dict[str, str]) -> float:
    """The unmutated tests must pass, or every mutant would count as killed. Returns their time."""
    started = time.monotonic()
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"the tests fail without any mutation ({' '.join(command)}):\n{done.stdout[-3000:]}")
    return time.monotonic() - started


def run_exec(tree: Path, config: Path, session: Path, env: dict[str, str], budget: float) -> bool:
    """``cosmic-ray exec`` within ``budget`` seconds; False when it had to be stopped (the rest stay unrun)."""
    proc = subprocess.Popen([sys.executable, "-m", "cosmic_ray.cli", "exec", str(config), str(session)],
                            cwd=tree, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True, preexec_fn=_die_with_parent)
    try:
        proc.communicate(timeout=max(budget, 1.0))
        return True
    except subprocess.TimeoutExpired:
        return False
    finally:
        if proc.poll() is None:  # stopped by the budget or by a signal to us: take its pytest with it
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _die_with_parent() -> None:
    """Linux: SIGKILL cosmic-ray when this driver dies, even by SIGKILL (nothing else would stop it)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def results(session: Path, specs: list[Spec]) -> dict:
    with use_db(session, WorkDB.Mode.open) as db:
        done = dict(db.results)
    out = {"mutants": 0, "killed": 0, "survived": 0, "timeouts": 0, "incompetent": 0, "skipped": 0, "not_run": 0,
           "survivors": []}
    for spec in specs:
        result = done.get(spec.job_id)
        if result is None:
            out["not_run"] += 1
        elif result.worker_outcome == WorkerOutcome.SKIPPED:
            out["skipped"] += 1
        elif result.test_outcome == TestOutcome.KILLED:
            out["mutants"] += 1
            out["timeouts" if result.output == "timeout" else "killed"] += 1
        elif result.test_outcome == TestOutcome.SURVIVED:
            out["mutants"] += 1
            out["survived"] += 1
            out["survivors"].append({"line": spec.start[0], "operator": spec.operator.removeprefix("core/"),
                                     "change": summarize_diff(result.diff)})
        else:  # the mutation itself failed (cosmic-ray could not write it, or the worker crashed)
            out["mutants"] += 1
            out["incompetent"] += 1
    caught = out["killed"] + out["timeouts"]
    judged = caught + out["survived"]
    out["kill_rate"] = round(caught / judged, 3) if judged else None
    return out


def mutate_module(module: str, tree: Path, work: Path, env: dict[str, str], *, sample: int | None, seed: int,
                  timeout: float | None, deadline: float, all_operators: bool) -> dict:
    started = time.monotonic()
    tests = MODULES[module]
    if time.monotonic() >= deadline:
        return {"tests": tests, "budget_exhausted": True, "mutants": 0, "killed": 0, "survived": 0, "timeouts": 0,
                "incompetent": 0, "not_run": None, "kill_rate": None, "survivors": [], "equivalent": [],
                "seconds": 0.0}
    command = [sys.executable, *PYTEST.split(), *tests]
    stem = module.replace("/", "_").removesuffix(".py")
    config, session = work / f"{stem}.toml", work / f"{stem}.sqlite"
    for stale in (tree / module).parent.glob(f"__pycache__/{Path(module).stem}.*.pyc"):
        stale.unlink()
    baseline = run_baseline(tree, command, env)
    per_mutant = timeout or max(20.0, 4 * baseline)
    config.write_text(
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(module)}\n"
        f"timeout = {per_mutant}\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(' '.join(command))}\n"
        "[cosmic-ray.distributor]\nname = \"local\"\n")
    subprocess.run([sys.executable, "-m", "cosmic_ray.cli", "init", str(config), str(session)], cwd=tree, env=env,
                   check=True, capture_output=True)
    pristine = (tree / module).read_bytes()
    source = pristine.decode()
    spans = annotation_spans(source)
    specs = read_specs(session)
    inert = {s for s in specs if any(a <= s.start and s.end <= b for a, b in spans)}
    trivial = {s for s in specs if not all_operators and TRIVIAL.match(s.operator) and s not in inert}
    live = [s for s in specs if s not in inert and s not in trivial]
    chosen = live if sample is None or sample >= len(live) else random.Random(f"{seed}:{module}").sample(live, sample)
    equivalent = {s: why for s in chosen if (why := equivalent_reason(module, source, s))}
    chosen_ids = {s.job_id for s in chosen if s not in equivalent}
    mark_skipped(session, [s.job_id for s in specs if s.job_id not in chosen_ids])
    try:
        finished = run_exec(tree, config, session, env, deadline - time.monotonic())
    finally:  # cosmic-ray stopped mid-mutant (budget, signal) leaves its mutant in the copy: the next modules'
        (tree / module).write_bytes(pristine)  # tests import this file too
    out = {"tests": tests, "mutants_total": len(live), "annotation_mutants": len(inert),
           "trivial_mutants": len(trivial)}
    out |= results(session, specs)
    out["skipped"] -= len(inert) + len(trivial) + len(equivalent)
    out["skipped_by_sample"] = out.pop("skipped")
    out["equivalent"] = [{"line": spec.start[0], "operator": spec.operator.removeprefix("core/"),
                          "change": " -> ".join(_changed_line(source, spec)), "why": why}
                         for spec, why in sorted(equivalent.items(), key=lambda item: item[0].start)]
    out |= {"budget_exhausted": not finished, "per_mutant_timeout_s": per_mutant,
            "baseline_s": round(baseline, 1), "seconds": round(time.monotonic() - started, 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", nargs="*", help="paths or names (grouping, cut_filters...); default: all")
    parser.add_argument("--sample", type=int, help="run a seeded random sample of N mutants per module")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget-s", type=float, default=6 * 3600, help="stop after this long (unrun mutants "
                                                                        "are reported as not_run)")
    parser.add_argument("--timeout-s", type=float, help="per-mutant test timeout (default: 4x the unmutated run, "
                                                        "at least 20 s); a mutant that runs past it counts as killed")
    parser.add_argument("--min-kill-rate", type=float, help="exit 1 when the kill rate over all mutants run is "
                                                            "below this")
    parser.add_argument("--all-operators", action="store_true", help="also run the trivial mutants")
    parser.add_argument("--keep", type=Path, help="keep cosmic-ray's configs and session files in this folder")
    args = parser.parse_args(argv)

    modules = pick_modules(args.modules)
    deadline = time.monotonic() + args.budget_s
    scratch = Path(tempfile.mkdtemp(prefix="videosearch-mutation-"))
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the finally blocks stop cosmic-ray and remove the copy.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    report: dict = {"sample": args.sample, "seed": args.seed, "modules": {}}
    started = time.monotonic()
    try:
        tree, work = scratch / "tree", args.keep or scratch / "sessions"
        work.mkdir(parents=True, exist_ok=True)
        copy_tree(tree)
        # Bytecode for the copy, once: each test run would otherwise compile the whole project again. A mutated
        # file's own .pyc is removed below, and its source's new mtime makes Python recompile it in any case.
        subprocess.run([sys.executable, "-m", "compileall", "-q", *(str(tree / d) for d in _PACKAGES)], check=True)
        env = dict(os.environ, PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1",
                   VIDEOSEARCH_SHARED_MEDIA=str(shared_media.root()))
        for module in modules:
            report["modules"][module] = mutate_module(module, tree, work.resolve(), env, sample=args.sample,
                                                      seed=args.seed, timeout=args.timeout_s, deadline=deadline,
                                                      all_operators=args.all_operators)
            _progress(module, report["modules"][module])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    caught = sum(m["killed"] + m["timeouts"] for m in report["modules"].values())
    judged = caught + sum(m["survived"] for m in report["modules"].values())
    report["kill_rate"] = round(caught / judged, 3) if judged else None
    report["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    if args.min_kill_rate is not None and (report["kill_rate"] or 0) < args.min_kill_rate:
        print(f"mutation kill rate {report['kill_rate']} is below {args.min_kill_rate}", file=sys.stderr)
        return 1
    return 0


def _progress(module: str, m: dict) -> None:
    """One line per module on stderr, and each survivor: what a CI log needs to show."""
    print(f"{module}: {m['killed'] + m['timeouts']}/{m['mutants']} killed (rate {m['kill_rate']}), "
          f"{m['survived']} survived, {len(m['equivalent'])} equivalent (not run), {m['not_run']} not run, "
          f"{m['seconds']} s", file=sys.stderr, flush=True)
    for s in m["survivors"]:
        print(f"    survived: line {s['line']} {s['operator']}: {s['change']}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())

"""How well "no good match" separates absent from present scenes as a collection grows; prints ONE JSON object.

The model's calibration is measured (and timed: the cold cost of a model's first search), then seeded
random collections of generated scenes of several sizes are drawn from a pool of rendered photos (JPEG,
640x480). Each collection's own captions are the present queries; captions of pool scenes outside it are
the absent ones (the same words in other combinations: the hard case). For each size: the share of
present and of absent queries whose best hit falls below the calibrated threshold, i.e. that
``search()`` would answer with "no good match". Embeddings are computed once; collections are
index-free matrix look-ups, so this shows the model's trade-off, not the service's plumbing (the
integration test ``tests/integration/test_calibration.py`` does that on a real ingested collection).

Usage: ``.venv/bin/python bench/calibration.py [--spec testmodel] [--sizes 36 54 100 200] [--draws 30]``
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.search import calibration  # noqa: E402
from apps.search.embedders.registry import get_embedder  # noqa: E402
from apps.search.testmodel.scenes import caption_en, caption_ru, distinct_specs, render  # noqa: E402

POOL = 600
ABSENT_PER_DRAW = 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default="testmodel")
    parser.add_argument("--sizes", type=int, nargs="+", default=[36, 54, 100, 200])
    parser.add_argument("--draws", type=int, default=30)
    args = parser.parse_args()
    embedder = get_embedder(args.spec)
    embedder.encode_texts(["warm up"])  # the first call's one-off set-up is not the calibration's cost
    started = time.perf_counter()
    anchors = calibration.measure(embedder).text  # per language
    measure_s = time.perf_counter() - started
    specs = distinct_specs(np.random.default_rng([99, 0]), POOL)
    photos = [calibration._jpeg_round_trip(render(s, (640, 480), np.random.default_rng([99, 1, i])), quality=88)
              for i, s in enumerate(specs)]
    pictures = np.asarray(embedder.encode_images(photos), dtype=np.float32)
    out: dict = {"spec": args.spec, "model_id": embedder.model_id, "machine": platform.machine(),
                 "calibration_measure_s": round(measure_s, 2),
                 "anchors": {lang: {k: round(v, 4) for k, v in vars(a).items()} for lang, a in anchors.items()},
                 "draws": args.draws, "sizes": {}}
    for lang, caption in (("en", caption_en), ("ru", caption_ru)):
        threshold = anchors[lang].threshold
        scores = calibration.query_vectors(embedder, [caption(s) for s in specs]) @ pictures.T
        for size in args.sizes:
            rng = np.random.default_rng(size)
            present, absent = [], []
            for _ in range(args.draws):
                order = rng.permutation(POOL)
                held, others = order[:size], order[size:size + ABSENT_PER_DRAW]
                present.append(np.mean(scores[np.ix_(held, held)].max(axis=1) < threshold))
                absent.append(np.mean(scores[np.ix_(others, held)].max(axis=1) < threshold))
            out["sizes"].setdefault(str(size), {})[lang] = {
                "present_flagged": round(float(np.mean(present)), 3),
                "absent_flagged": round(float(np.mean(absent)), 3),
                "absent_flagged_worst_draw": round(float(np.min(absent)), 3),
            }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

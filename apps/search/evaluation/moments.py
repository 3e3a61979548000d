"""Moment retrieval end to end: generate the recurring-scenes video, ingest it, query it, score the clips.

Everything goes through the product's own paths (``register_path`` + the ingest task, as
``manage.py ingest`` does, then ``apps.search.service.search``), so the figures measure shot
detection, keyframes, embedding and clip grouping together. Ingestion runs in this process into
a throwaway collection whose media and index live in a temporary folder; the collection's rows
are deleted afterwards.
"""
from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.test import override_settings

from apps.media.models import Collection, Status, Video
from apps.media.services.register import register_path
from apps.search.embedders.registry import get_embedder
from apps.search.evaluation.moment_metrics import QueryScore, score_query, summarise
from apps.search.testmodel.moments_video import MomentQuery, make_moments_video, moment_queries

LANGS = ("en", "ru")


@contextmanager
def tasks_in_process() -> Iterator[None]:
    """Run Celery tasks eagerly here even when a broker is configured: workers cannot see the temp folders."""
    from videosearch.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = old


#: The model name the throwaway collection uses, listed only while the evaluation runs.
EVALUATED_MODEL = "evaluated-model"


@contextmanager
def throwaway_collection(model: str) -> Iterator[Collection]:
    """A collection of ``model`` (a spec: the command line is the operator's) with its media and index in a temp
    folder; rows and files are removed on exit. The spec is listed under a name of its own for this process only."""
    tmp = Path(tempfile.mkdtemp(prefix="vs-eval-moments-"))
    listed = {**settings.EMBEDDERS, EVALUATED_MODEL: model}
    try:
        with override_settings(MEDIA_ROOT=tmp / "media", INDEX_ROOT=tmp / "indexes", EMBEDDERS=listed), \
                tasks_in_process():
            collection = Collection.objects.create(name=f"evaluate-moments-{uuid.uuid4().hex[:12]}",
                                                   embedder=EVALUATED_MODEL)
            try:
                yield collection
            finally:
                collection.delete()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def ingest_video(collection: Collection, path: Path) -> Video:
    """Register and ingest one file the way ``manage.py ingest`` does; fail loudly if it is not indexed."""
    registered = register_path(collection, path)
    video = Video.objects.get(pk=registered.item.pk)
    if video.status != Status.INDEXED:
        raise RuntimeError(f"ingesting the evaluation video failed ({video.status}): {video.error}")
    return video


def ranked_clips(collection: Collection, text: str, top_k: int) -> list[tuple[float, float, float]]:
    """(start, end, score) of the clips the search service returns for ``text``, best first."""
    from apps.search.query_spec import build_query
    from apps.search.service import ClipResult, search

    response = search(collection, build_query(text=text), top_k=top_k, media="videos")
    return [(r.clip.start, r.clip.end, r.score) for r in response.results if isinstance(r, ClipResult)]


def _detail(query: MomentQuery, lang: str, clips: list[tuple[float, float, float]], score: QueryScore) -> dict:
    return {
        "query": query.caption_en if lang == "en" else query.caption_ru,
        "occurrences": [list(o) for o in query.occurrences],
        "clips": [[round(s, 2), round(e, 2), round(sc, 4)] for s, e, sc in clips],
        **{f"R1@{t}": v for t, v in score.r1.items()},
        **{f"AP@{t}": round(v, 4) for t, v in score.ap.items()},
        "occurrences_hit": score.hit,
    }


def evaluate_moments(*, model: str = "testmodel", top_k: int = 10, workdir: Path | None = None) -> dict:
    """Metrics per language (``en``, ``ru``) plus per-query detail under ``queries``.

    ``workdir`` keeps the generated video there (to look at it); by default it is temporary.
    """
    queries = moment_queries()
    details: dict[str, list[dict]] = {lang: [] for lang in LANGS}
    summaries: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="vs-moments-video-") as tmp:
        video_path = Path(workdir or tmp) / "moments_eval.mp4"
        shots = make_moments_video(video_path)
        with throwaway_collection(model) as collection:
            model_id = get_embedder(collection.embedder_spec).model_id
            detected_shots = ingest_video(collection, video_path).scenes.count()
            for lang in LANGS:
                scores = []
                for query in queries:
                    text = query.caption_en if lang == "en" else query.caption_ru
                    clips = ranked_clips(collection, text, top_k)
                    scores.append(score_query([(s, e) for s, e, _ in clips], query.occurrences))
                    details[lang].append(_detail(query, lang, clips, scores[-1]))
                summaries[lang] = summarise(scores)
    return {
        "model_id": model_id,
        "video": {"duration": shots[-1].end, "shots": len(shots), "detected_shots": detected_shots,
                  "query_scenes": len(queries), "occurrences": sum(len(q.occurrences) for q in queries)},
        "top_k": top_k,
        **summaries,
        "queries": details,
    }

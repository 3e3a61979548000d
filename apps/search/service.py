"""The search entry point used by the API, the web page and the CLI.

query (weighted texts / example image / "more like this" items) -> one vector -> collection index -> keyframe hits grouped
into clips + photo hits -> one ranked list.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image

from apps.media.models import Collection, Keyframe, Photo, Status
from apps.media.services.fingerprints import image_fingerprint
from apps.media.services.keyframe_store import load_fingerprints
from apps.media.services.keyframes import frame_quality
from apps.media.services.vectors import collection_index, ensure_index_model

from .embedders.registry import get_embedder
from .frame_match import FrameMatch, best_frame_match
from .grouping import Clip, Segment, group_hits
from .ids import decode_vector_id, keyframe_vector_id, photo_vector_id
from .prompts import language_warning
from .query import embed_query
from .query_spec import ImageTerm, KeyframeTerm, PhotoTerm, QueryError, QuerySpec

#: How many raw hits feed the clip grouping per requested result.
CANDIDATES_PER_RESULT = 20
MIN_CANDIDATES = 200
#: Videos of the best clips whose frame fingerprints an example image is compared with.
FRAME_MATCH_VIDEOS = 10


class SearchError(ValueError):
    """A query that cannot be answered; the message is meant for the user."""


@dataclass
class ClipResult:
    clip: Clip
    keyframe: Keyframe
    exact_frame: bool = False  # the example image is a near-copy of the frame at clip.best_time

    @property
    def score(self) -> float:
        return self.clip.score


@dataclass
class PhotoResult:
    photo: Photo
    score: float


@dataclass
class SearchResponse:
    collection: Collection
    model_id: str
    results: list[ClipResult | PhotoResult]
    query_kind: str
    embedded_texts: list[str] = field(default_factory=list)
    lang: str | None = None
    warnings: list[str] = field(default_factory=list)
    took_ms: float = 0.0
    query: QuerySpec | None = None  # the terms as they were read (shown back to the user)


def search(collection: Collection, query: QuerySpec, *, top_k: int = 10, media: str = "all") -> SearchResponse:
    """Run one query (built and checked by ``query_spec.build_query``) against a collection."""
    started = time.perf_counter()
    if not 1 <= top_k <= 200:
        raise SearchError("top_k must be between 1 and 200")
    embedder = get_embedder(collection.embedder_spec)
    index = collection_index(collection)
    ensure_index_model(collection, index, embedder.model_id)
    try:
        embedded = embed_query(embedder, query, lambda term: _stored_vector(collection, index, term))
    except QueryError as exc:
        raise SearchError(str(exc)) from exc
    response = SearchResponse(collection=collection, model_id=embedder.model_id, results=[], query_kind=query.kind,
                              embedded_texts=embedded.texts, lang=embedded.lang, warnings=query_warnings(query),
                              query=query)
    k = min(max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES), max(index.info().count, 1))
    hits = index.search(embedder.model_id, embedded.vector.reshape(1, -1), k)
    response.results = _rank(hits, top_k, media, exclude_photo=query.example_photo_id)
    image = query.example_image
    if image is not None and media in ("all", "videos"):
        response.results = _put_copied_moment_first(collection, image, response.results, top_k, hits)
    response.took_ms = (time.perf_counter() - started) * 1000
    return response


def query_warnings(query: QuerySpec) -> list[str]:
    """Notes on the query's inputs the user should see: an unsupported language, a blank example image."""
    texts = " ".join(query.texts)
    warnings = [language_warning(texts)] if texts else []
    warnings += [image_warning(term.image) for term in query.terms if isinstance(term, ImageTerm)]
    return [w for w in warnings if w]


def image_warning(image: Image.Image) -> str | None:
    """Say so when an example image is black or blank: ingestion skips such frames, nothing can match it."""
    small = np.asarray(image.convert("L").resize((128, 72)))
    if frame_quality(small).usable:
        return None
    return "the example image is (nearly) black or blank: no moment can be identified from it"


def _stored_vector(collection: Collection, index, term: KeyframeTerm | PhotoTerm) -> np.ndarray:
    if isinstance(term, KeyframeTerm):
        if not Keyframe.objects.filter(pk=term.keyframe_id, video__collection=collection).exists():
            raise SearchError(f"keyframe {term.keyframe_id} is not in collection '{collection.name}'")
        vid = keyframe_vector_id(term.keyframe_id)
    else:
        if not Photo.objects.filter(pk=term.photo_id, collection=collection).exists():
            raise SearchError(f"photo {term.photo_id} is not in collection '{collection.name}'")
        vid = photo_vector_id(term.photo_id)
    found = index.reconstruct([vid])
    if vid not in found:
        raise SearchError("that item has no vector yet (still being ingested?)")
    return found[vid]


def _split_hits(hits: list[tuple[int, float]]) -> tuple[dict[int, float], dict[int, float]]:
    """Index hits as ({keyframe pk: score}, {photo pk: score}), best first."""
    keyframe_scores: dict[int, float] = {}
    photo_scores: dict[int, float] = {}
    for vid, score in hits:
        kind, pk = decode_vector_id(vid)
        (keyframe_scores if kind == "keyframe" else photo_scores)[pk] = float(score)
    return keyframe_scores, photo_scores


def _rank(hits: list[tuple[int, float]], top_k: int, media: str, exclude_photo: int | None) -> list:
    keyframe_scores, photo_scores = _split_hits(hits)
    results: list[ClipResult | PhotoResult] = []
    if media in ("all", "videos") and keyframe_scores:
        keyframes = {
            kf.pk: kf
            for kf in Keyframe.objects.filter(pk__in=keyframe_scores, video__status=Status.INDEXED).select_related(
                "video", "scene"
            )
        }
        scored = [
            (
                Segment(
                    keyframe_id=kf.pk,
                    video_id=kf.video_id,
                    shot_index=kf.scene.index,
                    time=kf.time,
                    start=kf.segment_start,
                    end=kf.segment_end,
                ),
                keyframe_scores[pk],
            )
            for pk, kf in keyframes.items()
        ]
        for clip in group_hits(scored):
            results.append(ClipResult(clip=clip, keyframe=keyframes[clip.best_keyframe_id]))
    if media in ("all", "photos") and photo_scores:
        photos = Photo.objects.filter(pk__in=photo_scores, status=Status.INDEXED).exclude(pk=exclude_photo or -1)
        results.extend(PhotoResult(photo=p, score=photo_scores[p.pk]) for p in photos)
    results.sort(key=lambda r: (-r.score, _tiebreak(r)))
    return results[:top_k]


def _put_copied_moment_first(collection: Collection, image: Image.Image, results: list, top_k: int,
                             hits: list[tuple[int, float]]) -> list:
    """When the example image is a near-copy of footage of one video, a clip of that footage goes first.

    A copy of one moment gets the segment holding it, flagged ``exact_frame``, with ``best_time``
    at that moment (so the play link starts within seconds of it, not at the start of a long
    semantic clip around it). A copy of a still stretch (every moment of it alike) gets one clip
    over the whole stretch, unflagged: the image cannot say which second it is. Result clips of
    that video overlapping it are folded into it (it takes the best of their scores). The videos
    looked at are the ``FRAME_MATCH_VIDEOS`` with the best keyframe hits (a copied frame's video
    ranks high anyway), so the cost stays bounded however large the collection.
    """
    scores, _ = _split_hits(hits)
    by_keyframe = dict(Keyframe.objects.filter(pk__in=scores).values_list("pk", "video_id"))
    video_ids = list(dict.fromkeys(by_keyframe[pk] for pk in scores if pk in by_keyframe))[:FRAME_MATCH_VIDEOS]
    tracks = {}
    for video_id in video_ids:
        track = load_fingerprints(collection.pk, video_id)
        if track is not None:
            tracks[video_id] = track
    match = best_frame_match(image_fingerprint(image), tracks)
    if match is None:
        return results
    copied = _clip_over(match)
    if copied is None:
        return results
    folded = [r for r in results if isinstance(r, ClipResult) and r.clip.video_id == match.video_id
              and r.clip.start < copied.clip.end and r.clip.end > copied.clip.start]
    score = max([scores[pk] for pk in copied.clip.keyframe_ids if pk in scores] + [r.score for r in folded],
                default=0.0)
    first = ClipResult(replace(copied.clip, score=score), copied.keyframe, exact_frame=match.one_moment)
    return [first, *(r for r in results if not any(r is f for f in folded))][:top_k]


def _clip_over(match: FrameMatch) -> ClipResult | None:
    """One clip over the segments holding the matched stretch, widened by its margin within the same
    shot (the copy cannot be across a cut from a fingerprint it matches); else the nearest keyframe's
    segment (a black segment has no keyframe). Its keyframe is the one nearest the matched time.

    Only keyframes near the match are read: a day-long recording has tens of thousands.
    """
    of_video = Keyframe.objects.filter(video_id=match.video_id, video__status=Status.INDEXED).select_related("video")
    lo, hi = match.start - match.margin, match.end + match.margin
    near = list(of_video.filter(segment_start__lte=hi, segment_end__gt=lo))
    inside = [k for k in near if k.segment_start <= match.end and k.segment_end > match.start]
    if not inside:
        before = of_video.filter(time__lte=match.time).order_by("-time").first()
        after = of_video.filter(time__gte=match.time).order_by("time").first()
        candidates = [k for k in (before, after) if k is not None]
        if not candidates:
            return None
        inside = [min(candidates, key=lambda k: abs(k.time - match.time))]
    first, last = min(inside, key=lambda k: k.time), max(inside, key=lambda k: k.time)
    taken = {k.pk for k in inside}
    widened = [k for k in near if k.pk not in taken and (
        (k.scene_id == first.scene_id and k.segment_start <= lo < k.segment_end)
        or (k.scene_id == last.scene_id and k.segment_start <= hi < k.segment_end))]
    members = sorted(inside + widened, key=lambda k: k.time)
    nearest = min(members, key=lambda k: (abs(k.time - match.time), k.pk))
    clip = Clip(video_id=match.video_id, start=members[0].segment_start, end=members[-1].segment_end,
                best_time=match.time, score=0.0, best_keyframe_id=nearest.pk, keyframe_ids=[k.pk for k in members])
    return ClipResult(clip=clip, keyframe=nearest)


def _tiebreak(result: ClipResult | PhotoResult) -> tuple:
    if isinstance(result, ClipResult):
        return (0, result.clip.video_id, result.clip.start)
    return (1, result.photo.pk, 0.0)


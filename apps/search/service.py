"""The search entry point used by the API, the web page and the CLI.

query (weighted texts / example image / "more like this" items) -> one vector -> collection index -> keyframe hits grouped
into moments (clips) + photo hits -> one ranked list, paged, as clips or grouped by video, with the
query's score over each listed video on request.
"""
from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.utils.translation import gettext
from PIL import Image

from analysis.keyframe_choice import frame_quality
from apps.media.models import Collection, Keyframe, Photo, Video

from .calibration import NO_GOOD_MATCH_WARNING, calibration_for, mark_results
from .embedders.registry import query_embedder
from .frame_match import FrameMatch, best_copy_match
from .grouping import Clip, KeyframeSpan, group_hits
from .ids import decode_vector_id, keyframe_vector_id, photo_vector_id
from .prompts import language_warning
from .query import embed_query
from .query_spec import ImageTerm, KeyframeTerm, PhotoTerm, QueryError, QuerySpec
from .text_fusion import Span, fuse
from .text_index import TextMatch, TextMoment, search_text, text_moments
from .text_results import clips_for_moments, keyframe_scores
from .timeline import TimelineEntry, timeline_entries
from .vectors import collection_index, ensure_index_model
from .video_segments import video_vectors

#: How many raw hits feed the clip grouping per requested result.
CANDIDATES_PER_RESULT = 20
MIN_CANDIDATES = 200
#: Largest page, and how deep paging may reach (offset + page size): the limits of every entry point (the API's
#: serializer states them, the page keeps its links within them, search() checks them for any other caller).
MAX_TOP_K = 200
MAX_DEPTH = 1000
#: Videos of the best clips whose frame fingerprints an example image is compared with.
FRAME_MATCH_VIDEOS = 10
GROUP_BY = ("clip", "video")
#: How often a search ranks again when rows of its page vanished between two reads (a re-ingest committed).
ROW_READ_ATTEMPTS = 3


class SearchError(ValueError):
    """A query that cannot be answered; the message is meant for the user."""


@dataclass
class ClipResult:
    clip: Clip
    #: The best keyframe's row (with its video), read for the answer's page only (``_attach_rows``).
    keyframe: Keyframe | None = None
    exact_frame: bool = False  # the example image is a near-copy of the frame at clip.best_time
    relevance: float | None = None  # 0..1, calibrated per model (calibration.py)
    low_confidence: bool = False  # scores below what the model's true matches almost always reach
    #: Why it matched in words: the spans holding the query's words (best first); empty for a CLIP-only match.
    text_matches: list[TextMatch] = field(default_factory=list)
    text_score: float | None = None  # the best span's score (text_index.py), when words matched

    @property
    def score(self) -> float:
        return self.clip.score


@dataclass
class PhotoResult:
    photo: Photo
    score: float
    relevance: float | None = None  # 0..1, calibrated per model (calibration.py)
    low_confidence: bool = False


@dataclass
class VideoResult:
    """One video of a ``group_by=video`` answer: its matching moments in time order."""

    video: Video | None  # read for the answer's page only (``_attach_rows``), like its clips' keyframes
    clips: list[ClipResult]
    relevance: float | None = None  # its best moment's (calibration.py)
    low_confidence: bool = False

    @property
    def score(self) -> float:
        return max(c.score for c in self.clips)


@dataclass
class VideoTimeline:
    """The query's score over one video, and where its matching moments are."""

    video_id: int
    duration: float | None
    entries: list[TimelineEntry]
    moments: list[Clip]  # the matching clips of this video, in time order


@dataclass
class SearchResponse:
    collection: Collection
    model_id: str
    results: list[ClipResult | PhotoResult | VideoResult]
    query_kind: str
    embedded_texts: list[str] = field(default_factory=list)
    lang: str | None = None
    warnings: list[str] = field(default_factory=list)
    took_ms: float = 0.0
    no_good_match: bool = False  # no result reaches the model's calibrated threshold
    group_by: str = "clip"
    offset: int = 0
    total: int = 0  # results (clips + photos, or videos + photos) in this answer's candidate window
    timelines: dict[int, VideoTimeline] = field(default_factory=dict)
    query: QuerySpec | None = None  # the terms as they were read (shown back to the user)

    @property
    def next_offset(self) -> int | None:
        """Where the next page starts, or None at the end."""
        end = self.offset + len(self.results)
        return end if end < min(self.total, MAX_DEPTH) else None


def search(
    collection: Collection,
    query: QuerySpec,
    *,
    top_k: int = 10,
    media: str = "all",
    offset: int = 0,
    group_by: str = "clip",
    timeline: bool = False,
    words: bool = True,
) -> SearchResponse:
    """Run one query (built and checked by ``query_spec.build_query``) against a collection.

    ``offset`` pages through the answer: the candidate window depends only on ``top_k``, so pages
    of the same query and page size come from one ranking and never repeat or skip a result.
    ``words=False`` leaves the footage's words out of a plain query (the CLIP ranking alone, for comparison).
    """
    started = time.perf_counter()
    check_page(top_k, offset)
    if group_by not in GROUP_BY:
        raise SearchError(gettext("group_by must be one of: %(values)s") % {"values": ", ".join(GROUP_BY)})
    embedder = query_embedder(collection.embedder_spec)
    index = collection_index(collection)
    ensure_index_model(collection, index, embedder.model_id)
    if query.words_only:
        vector, texts, lang = None, [], None
    else:
        vector, texts, lang = _query_vector(collection, index, embedder, query)
    response = SearchResponse(collection=collection, model_id=embedder.model_id, results=[], query_kind=query.kind,
                              embedded_texts=texts, lang=lang, warnings=query_warnings(query),
                              group_by=group_by, offset=offset, query=query)
    moments = _text_moments(collection, query, top_k, media) if words or query.words_only else []
    for attempt in range(ROW_READ_ATTEMPTS):
        if vector is None:
            hits, ranked = [], _text_clips(index, None, moments)
        else:
            hits, ranked = _candidates(index, embedder.model_id, vector, top_k, media, query.example_photo_id)
            ranked = _fused(index, vector, ranked, moments)
        image = query.example_image
        if image is not None and media in ("all", "videos"):
            ranked = _put_copied_moment_first(collection, image, ranked, hits)
        entries = _by_video(ranked) if group_by == "video" else ranked
        page = entries[offset : offset + top_k]
        # Rows deleted since the ranking read them (a re-ingest committed in between): rank again, from the
        # index as it is now, so the re-ingested video is found under its new rows.
        if _attach_rows(page, drop_missing=attempt == ROW_READ_ATTEMPTS - 1):
            break
    if vector is not None:
        _calibrate(response, embedder, query, entries)
    elif not entries:
        response.warnings.append(gettext("none of the videos shows or says these words"))
    response.total = len(entries)
    response.results = page
    if timeline:
        response.timelines = _timelines(index, embedder.model_id, None if vector is None else vector[0],
                                        _videos_of(response.results), ranked)
    response.took_ms = (time.perf_counter() - started) * 1000
    return response


def search_validated(collection: Collection, request: Mapping[str, Any]) -> SearchResponse:
    """:func:`search` for a request checked by ``SearchRequestSerializer`` (its ``validated_data``): the API,
    the search page and ``manage.py search`` each build one and search it here."""
    return search(collection, request["query"], top_k=request["top_k"], media=request["media"],
                  offset=request["offset"], group_by=request["group_by"], timeline=request["timeline"])


def check_page(top_k: int, offset: int = 0) -> None:
    """SearchError unless 1 <= top_k <= MAX_TOP_K and offset + top_k <= MAX_DEPTH (offset >= 0)."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise SearchError(gettext("top_k must be between 1 and %(max)d") % {"max": MAX_TOP_K})
    if not 0 <= offset <= MAX_DEPTH - top_k:
        raise SearchError(gettext("offset + top_k must be at most %(max)d") % {"max": MAX_DEPTH})


def _calibrate(response: SearchResponse, embedder, query: QuerySpec, entries: list) -> None:
    """Relevance and low-confidence marks on every ranked entry (a video's moments too); ``no_good_match``
    and a warning when even the best entry, on any page, is not a good match. Calibrated for one text term
    (see calibration.py); other queries keep ``relevance`` None."""
    calibration = calibration_for(embedder, Path(settings.INDEX_ROOT) / "calibration")
    kind = response.query_kind if len(query.terms) == 1 else "combined"
    moments = [clip for entry in entries if isinstance(entry, VideoResult) for clip in entry.clips]
    response.no_good_match = mark_results([*entries, *moments], calibration.for_query(kind, response.lang))
    if response.no_good_match:
        response.warnings.append(NO_GOOD_MATCH_WARNING)


def query_warnings(query: QuerySpec) -> list[str]:
    """Notes on the query's inputs the user should see: an unsupported language, a blank example image."""
    texts = " ".join(query.texts)
    warnings = [language_warning(texts)] if texts else []
    warnings += [image_warning(term.image) for term in query.terms if isinstance(term, ImageTerm)]
    return [w for w in warnings if w]


def video_timeline(video: Video, query: QuerySpec, *, top_k: int = 10) -> VideoTimeline:
    """The query's score over one video and its matching moments, as ``search(..., timeline=True)`` shows them.

    For the video page reached from a search result: the strip there must be the strip under the
    result, so the moments come from the same candidate window (same query and ``top_k``) even when
    the video is not on the page that linked to it. Image queries are not linkable, hence refused.
    """
    if any(isinstance(term, ImageTerm) for term in query.terms):
        raise SearchError(gettext("a query with an uploaded image cannot be repeated on the video page"))
    check_page(top_k)
    collection = video.collection
    embedder = query_embedder(collection.embedder_spec)
    index = collection_index(collection)
    ensure_index_model(collection, index, embedder.model_id)
    moments = _text_moments(collection, query, top_k, "videos")
    if query.words_only:
        ranked = _text_clips(index, None, moments)
        return _timelines(index, embedder.model_id, None, [video.pk], ranked)[video.pk]
    vector, _, _ = _query_vector(collection, index, embedder, query)
    _, ranked = _candidates(index, embedder.model_id, vector, top_k, "videos", query.example_photo_id)
    ranked = _fused(index, vector, ranked, moments)
    return _timelines(index, embedder.model_id, vector[0], [video.pk], ranked)[video.pk]


def _text_moments(collection: Collection, query: QuerySpec, top_k: int, media: str) -> list[TextMoment]:
    """The query's moments in the footage's words, best first, as many as the CLIP candidate window holds."""
    words = query.words_query
    if words is None or media == "photos":
        return []
    window = max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES)
    return text_moments(search_text(collection.pk, words))[:window]


def _text_clips(index, vector: np.ndarray | None, moments: list[TextMoment]) -> list[ClipResult]:
    """Text moments as clip results, in their order; scored by the CLIP cosine of their keyframe when a
    vector is given, else by their text score."""
    clips = clips_for_moments(moments)
    scores = keyframe_scores(index, vector, [c.best_keyframe_id for c in clips if c is not None])
    results = []
    for moment, clip in zip(moments, clips, strict=True):
        if clip is None:
            continue
        clip.score = scores.get(clip.best_keyframe_id, 0.0) if vector is not None else moment.score
        results.append(ClipResult(clip=clip, text_matches=list(moment.matches), text_score=moment.score))
    return results


def _fused(index, vector: np.ndarray, ranked: list, moments: list[TextMoment]) -> list:
    """The CLIP ranking fused with the words ranking (text_fusion.py); unchanged without text moments."""
    if not moments:
        return ranked
    text = _text_clips(index, vector, moments)
    visual = [Span(r.clip.video_id, r.clip.start, r.clip.end, r.clip.matched) if isinstance(r, ClipResult)
              else Span(None, 0.0, 0.0, False) for r in ranked]
    fused = []
    for entry in fuse(visual, [Span(t.clip.video_id, t.clip.start, t.clip.end) for t in text]):
        texts = [text[j] for j in entry.text]
        if not entry.visual:
            fused.append(texts[0])
            continue
        first = ranked[entry.visual[0]]
        if not texts:
            fused.append(first)
            continue
        # The words' time (text_fusion.py); the picture's best frame when it falls inside, else the words'.
        shown = first.clip if entry.start <= first.clip.best_time <= entry.end else texts[0].clip
        keyframes = sorted({k for t in texts for k in t.clip.keyframe_ids})
        clip = replace(first.clip, start=entry.start, end=entry.end, best_time=shown.best_time,
                       best_keyframe_id=shown.best_keyframe_id, keyframe_ids=keyframes, matched=True)
        matches = sorted((m for t in texts for m in t.text_matches), key=lambda m: (-m.score, m.start, m.span_id))
        fused.append(replace(first, clip=clip, text_matches=matches, text_score=texts[0].text_score))
    return fused


def _query_vector(collection: Collection, index, embedder, query: QuerySpec) -> tuple[np.ndarray, list[str], str | None]:
    """The query as a (1, dim) float32 row, the texts embedded for it and their language."""
    try:
        embedded = embed_query(embedder, query, lambda term: _stored_vector(collection, index, term))
    except QueryError as exc:
        raise SearchError(str(exc)) from exc
    return embedded.vector.reshape(1, -1), embedded.texts, embedded.lang


def _candidates(index, model_id: str, vector: np.ndarray, top_k: int, media: str,
                exclude_photo: int | None) -> tuple[list[tuple[int, float]], list]:
    """The query's raw index hits and, from them, every clip and photo ranked best first.

    The candidate window depends only on ``top_k`` (see ``search``).
    """
    k = min(max(top_k * CANDIDATES_PER_RESULT, MIN_CANDIDATES), max(index.info().count, 1))
    hits = index.search(model_id, vector, k)
    ranked, unresolved = _rank(hits, media, exclude_photo=exclude_photo)
    if unresolved:
        # The index and the rows were read at two moments. A re-ingest that committed in between took
        # the old rows this index read found, while the new vectors (in the index before the commit)
        # were not read yet: the video would be missing. Read the index again, now after that commit.
        hits = index.search(model_id, vector, k)
        ranked, _ = _rank(hits, media, exclude_photo=exclude_photo)
    return hits, ranked


def image_warning(image: Image.Image) -> str | None:
    """Say so when an example image is black or blank: ingestion skips such frames, nothing can match it."""
    small = np.asarray(image.convert("L").resize((128, 72)))
    if frame_quality(small).usable:
        return None
    return "the example image is (nearly) black or blank: no moment can be identified from it"


def _stored_vector(collection: Collection, index, term: KeyframeTerm | PhotoTerm) -> np.ndarray:
    if isinstance(term, KeyframeTerm):
        if not Keyframe.objects.filter(pk=term.keyframe_id, video__collection=collection).exists():
            raise SearchError(gettext("keyframe %(id)s is not in collection '%(collection)s'")
                              % {"id": term.keyframe_id, "collection": collection.name})
        vid = keyframe_vector_id(term.keyframe_id)
    else:
        if not Photo.objects.filter(pk=term.photo_id, collection=collection).exists():
            raise SearchError(gettext("photo %(id)s is not in collection '%(collection)s'")
                              % {"id": term.photo_id, "collection": collection.name})
        vid = photo_vector_id(term.photo_id)
    found = index.reconstruct([vid])
    if vid not in found:
        raise SearchError(gettext("that item has no vector yet (still being ingested?)"))
    return found[vid]


def _split_hits(hits: list[tuple[int, float]]) -> tuple[dict[int, float], dict[int, float]]:
    """Index hits as ({keyframe pk: score}, {photo pk: score}), best first."""
    keyframe_scores: dict[int, float] = {}
    photo_scores: dict[int, float] = {}
    for vid, score in hits:
        kind, pk = decode_vector_id(vid)
        (keyframe_scores if kind == "keyframe" else photo_scores)[pk] = float(score)
    return keyframe_scores, photo_scores


def _rank(hits: list[tuple[int, float]], media: str, exclude_photo: int | None) -> tuple[list, int]:
    """Every clip (moment) and photo of the candidate hits, best first, and how many hits found no listed item.

    Items are listed once they have been indexed (``indexed_at``), whatever their status now: one
    being ingested again keeps its indexed keyframes and vectors until the new ones replace them.
    """
    keyframe_scores, photo_scores = _split_hits(hits)
    results: list[ClipResult | PhotoResult] = []
    unresolved = 0
    if media in ("all", "videos") and keyframe_scores:
        # One query of plain tuples: the grouping needs six numbers per hit, not 200 model instances with
        # their videos and shots (those cost a warm search more than the encoder and FAISS together).
        spans = Keyframe.objects.filter(pk__in=keyframe_scores, video__indexed_at__isnull=False).values_list(
            "pk", "video_id", "scene__index", "time", "segment_start", "segment_end")
        scored = [(KeyframeSpan(*span), keyframe_scores[span[0]]) for span in spans]
        unresolved += len(keyframe_scores) - len(scored)
        results.extend(ClipResult(clip=clip) for clip in group_hits(scored))
    if media in ("all", "photos") and photo_scores:
        photos = list(Photo.objects.filter(pk__in=photo_scores, indexed_at__isnull=False)
                      .exclude(pk=exclude_photo or -1))
        unresolved += len(photo_scores) - len(photos) - (exclude_photo in photo_scores)
        results.extend(PhotoResult(photo=p, score=photo_scores[p.pk]) for p in photos)
    results.sort(key=lambda r: (-r.score, _tiebreak(r)))
    return results, unresolved


def _by_video(ranked: list) -> list:
    """Videos ranked by their best clip, each with its matching clips in time order; photos as they are.

    A video none of whose clips matches (it made the candidate list only by its best, weak, frame)
    keeps that best clip, so no video of the clip answer is missing from this one.
    """
    clips: dict[int, list[ClipResult]] = defaultdict(list)
    for r in ranked:
        if isinstance(r, ClipResult):
            clips[r.clip.video_id].append(r)
    entries: list = []
    for r in ranked:
        if isinstance(r, PhotoResult):
            entries.append(r)
        elif r is clips[r.clip.video_id][0]:
            of_video = clips[r.clip.video_id]
            shown = [c for c in of_video if c.clip.matched or c.exact_frame] or of_video[:1]
            entries.append(VideoResult(video=None, clips=sorted(shown, key=lambda c: c.clip.start)))
    return entries


def _attach_rows(page: list, *, drop_missing: bool) -> bool:
    """Read, in one query, the best keyframe (with its video) of every clip on the page, and each listed
    video. False when a row is gone (the caller ranks again), unless ``drop_missing``: then its result goes."""
    clips = [c for r in page if isinstance(r, VideoResult) for c in r.clips]
    clips += [r for r in page if isinstance(r, ClipResult)]
    wanted = {c.clip.best_keyframe_id for c in clips if c.keyframe is None}
    rows = Keyframe.objects.filter(pk__in=wanted).select_related("video").in_bulk() if wanted else {}
    if len(rows) < len(wanted) and not drop_missing:
        return False
    for c in clips:
        if c.keyframe is None:
            c.keyframe = rows.get(c.clip.best_keyframe_id)
    for r in page:
        if isinstance(r, VideoResult):
            r.clips = [c for c in r.clips if c.keyframe is not None]
            r.video = r.clips[0].keyframe.video if r.clips else None
    page[:] = [r for r in page if not (isinstance(r, ClipResult) and r.keyframe is None)
               and not (isinstance(r, VideoResult) and r.video is None)]
    return True


def _videos_of(results: list) -> list[int]:
    """The videos a page shows, in order of first appearance."""
    ids = [r.clip.video_id if isinstance(r, ClipResult) else r.clips[0].clip.video_id
           for r in results if not isinstance(r, PhotoResult)]
    return list(dict.fromkeys(ids))


def _timelines(index, model_id: str, query: np.ndarray | None, video_ids: list[int],
               ranked: list) -> dict[int, VideoTimeline]:
    """Each listed video's score over its whole length: one product of its stored keyframe vectors
    (cached per indexed version, see video_segments.py) with the query vector."""
    if not video_ids:
        return {}
    videos = {pk: (duration, indexed_at) for pk, duration, indexed_at in
              Video.objects.filter(pk__in=video_ids).values_list("pk", "duration", "indexed_at")}
    segments = video_vectors(index, model_id, {v: videos.get(v, (None, None))[1] for v in video_ids})
    moments: dict[int, list[Clip]] = defaultdict(list)
    for r in ranked:
        if isinstance(r, ClipResult) and (r.clip.matched or r.exact_frame):
            moments[r.clip.video_id].append(r.clip)
    timelines = {}
    for video_id in video_ids:
        seg = segments[video_id]
        entries = []
        if query is not None and len(seg.starts):
            entries = timeline_entries(seg.starts, seg.ends, seg.vectors @ np.asarray(query, dtype=np.float32).reshape(-1))
        elif len(seg.starts):  # a words-only query has no vector: 1 where its moments are, 0 elsewhere
            found = moments[video_id]
            scores = np.array([float(any(c.start < e and s < c.end for c in found))
                               for s, e in zip(seg.starts, seg.ends, strict=True)], dtype=np.float32)
            entries = timeline_entries(seg.starts, seg.ends, scores)
        timelines[video_id] = VideoTimeline(video_id, videos.get(video_id, (None, None))[0], entries,
                                            sorted(moments[video_id], key=lambda c: c.start))
    return timelines


def _put_copied_moment_first(collection: Collection, image: Image.Image, results: list,
                             hits: list[tuple[int, float]]) -> list:
    """When the example image is a near-copy of footage of one video, a clip of that footage goes first.

    A near-copy may be the whole frame or a crop of it, rescaled, recompressed or framed by
    letterbox or pillarbox bars (:func:`.frame_match.best_copy_match`).

    A copy of one moment gets the segment holding it, flagged ``exact_frame``, with ``best_time``
    at that moment (so the play link starts within seconds of it, not at the start of a long
    semantic clip around it). A copy of a still stretch (every moment of it alike) gets one clip
    over the whole stretch, unflagged: the image cannot say which second it is. Result clips of
    that video overlapping it are folded into it (it takes the best of their scores). The videos
    looked at are the ``FRAME_MATCH_VIDEOS`` with the best keyframe hits (a copied frame's video
    ranks high anyway), so the cost stays bounded however large the collection.
    """
    from apps.media.services.keyframe_store import load_fingerprints  # imports the video analysis: only here

    scores, _ = _split_hits(hits)
    by_keyframe = dict(Keyframe.objects.filter(pk__in=scores).values_list("pk", "video_id"))
    video_ids = list(dict.fromkeys(by_keyframe[pk] for pk in scores if pk in by_keyframe))[:FRAME_MATCH_VIDEOS]
    tracks = {}
    for video_id in video_ids:
        track = load_fingerprints(collection.pk, video_id)
        if track is not None:
            tracks[video_id] = track
    match = best_copy_match(np.asarray(image.convert("L")), tracks)
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
    return [first, *(r for r in results if not any(r is f for f in folded))]


def _clip_over(match: FrameMatch) -> ClipResult | None:
    """One clip over the segments holding the matched stretch, widened by its margin within the same
    shot (the copy cannot be across a cut from a fingerprint it matches); else the nearest keyframe's
    segment (a black segment has no keyframe). Its keyframe is the one nearest the matched time.

    Only keyframes near the match are read: a day-long recording has tens of thousands.
    """
    of_video = Keyframe.objects.filter(video_id=match.video_id, video__indexed_at__isnull=False).select_related("video")
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


"""Search request and result representations.

:class:`SearchRequestSerializer` is the one definition of a valid search request: the API validates its
body with it, and so do the search page, the video page's strip and ``manage.py search``, each from the
same request dict (see ``page.search_request`` and the command), showing its errors.
"""
from __future__ import annotations

import json

from django.conf import settings
from django.core.validators import MaxLengthValidator, MinLengthValidator
from django.utils.translation import gettext, gettext_lazy
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema_field, extend_schema_serializer
from PIL import Image
from rest_framework import serializers

from apps.core.api_errors import first_message
from apps.media.serializers import CollectionRefField, StrictCharField, media_url

from .images import ImageLoadError, open_image
from .query_spec import (
    MAX_ITEM_ID,
    MAX_TERMS,
    MAX_TEXT_CHARS,
    MAX_WEIGHT,
    MIN_WEIGHT,
    KeyframeTerm,
    PhotoTerm,
    QueryError,
    QuerySpec,
    Term,
    TextTerm,
    build_query,
    check_weight,
)
from .service import (
    GROUP_BY,
    MAX_DEPTH,
    MAX_TOP_K,
    ClipResult,
    PhotoResult,
    SearchError,
    SearchResponse,
    VideoResult,
    VideoTimeline,
    check_page,
)
from .text_index import TextMatch

ITEM_ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ITEM_ID}
#: check_weight's rule: MIN_WEIGHT <= |weight| <= MAX_WEIGHT (a negative weight pushes results away).
WEIGHT_SCHEMA = {"type": "number", "anyOf": [{"minimum": MIN_WEIGHT, "maximum": MAX_WEIGHT},
                                             {"minimum": -MAX_WEIGHT, "maximum": -MIN_WEIGHT}]}


@extend_schema_field(ITEM_ID_SCHEMA)
class ItemIdField(serializers.IntegerField):
    """A keyframe or photo id. Its range is checked by ``build_query`` (one message for every entry point);
    the schema states it."""


@extend_schema_field(WEIGHT_SCHEMA)
class WeightField(serializers.FloatField):
    """A term's weight, checked by ``check_weight``; the schema states its range."""


#: QueryTermSerializer as it checks a term: exactly one of text / like_keyframe / like_photo, no other key.
QUERY_TERM_SCHEMA = {
    "type": "object",
    "properties": {
        "text": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_CHARS, "pattern": r"\S",
                 "description": "text to look for, taken literally (no +/- syntax inside a list item)"},
        "like_keyframe": {**ITEM_ID_SCHEMA, "description": "a keyframe id: moments like it"},
        "like_photo": {**ITEM_ID_SCHEMA, "description": "a photo id: pictures like it"},
        "weight": {**WEIGHT_SCHEMA, "default": 1.0, "description": f"how much the term counts; negative pushes "
                   f"results away from it; {MIN_WEIGHT} <= |weight| <= {MAX_WEIGHT:g}"},
    },
    "additionalProperties": False,
    "oneOf": [{"required": ["text"]}, {"required": ["like_keyframe"]}, {"required": ["like_photo"]}],
}


@extend_schema_field(QUERY_TERM_SCHEMA, component_name="QueryTerm")
class _QueryTermSchema(serializers.JSONField):
    """Schema only: one item of a ``query`` list (read by QueryTermSerializer)."""


class QueryTermSerializer(serializers.Serializer):
    """One item of the ``query`` list: exactly one of text / like_keyframe / like_photo, and a weight."""

    text = StrictCharField(required=False, allow_blank=False, max_length=MAX_TEXT_CHARS,
                           help_text="text to look for, taken literally (no +/- syntax inside a list item)")
    like_keyframe = ItemIdField(required=False, min_value=1, help_text="a keyframe id: moments like it")
    like_photo = ItemIdField(required=False, min_value=1, help_text="a photo id: pictures like it")
    weight = WeightField(
        required=False, default=1.0,
        help_text=f"how much the term counts; negative pushes results away from it; {MIN_WEIGHT} <= |weight| <= {MAX_WEIGHT:g}",
    )

    def to_internal_value(self, data: object) -> Term:
        if not isinstance(data, dict):
            raise serializers.ValidationError(gettext('each term is an object such as {"text": "red car", "weight": 1}'))
        unknown = sorted(set(data) - set(self.fields))
        if unknown:
            raise serializers.ValidationError(gettext("unknown key(s) %(keys)s: use text, like_keyframe, like_photo, weight")
                                              % {"keys": ", ".join(map(repr, unknown))})
        for key in ("like_keyframe", "like_photo", "weight"):
            if isinstance(data.get(key), bool):
                raise serializers.ValidationError({key: gettext("must be a number, got %(value)r") % {"value": data[key]}})
        attrs = super().to_internal_value(data)
        given = [k for k in ("text", "like_keyframe", "like_photo") if k in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(gettext("each term has exactly one of: text, like_keyframe, like_photo"))
        try:
            weight = check_weight(attrs["weight"])
        except QueryError as exc:
            raise serializers.ValidationError({"weight": str(exc)}) from exc
        if "text" in attrs:
            return TextTerm(" ".join(attrs["text"].split()), weight)
        if "like_keyframe" in attrs:
            return KeyframeTerm(attrs["like_keyframe"], weight)
        return PhotoTerm(attrs["like_photo"], weight)


@extend_schema_field(serializers.ListField(child=_QueryTermSchema(), min_length=1, max_length=MAX_TERMS))
class QueryTermsField(serializers.Field):
    """A list of query terms: a JSON array in a JSON body, or the same array as a string in a form."""

    def __init__(self, **kwargs) -> None:
        # The bounds to_internal_value checks (with a clearer message), as validators so that the schema states them.
        kwargs.setdefault("validators", [MinLengthValidator(1), MaxLengthValidator(MAX_TERMS)])
        super().__init__(**kwargs)

    def to_internal_value(self, data: object) -> tuple[Term, ...]:
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError as exc:
                raise serializers.ValidationError(gettext("not valid JSON: %(error)s") % {"error": exc}) from exc
            except RecursionError as exc:  # "[[[[..." deeper than the decoder's stack
                raise serializers.ValidationError(gettext("not valid JSON: nested too deeply")) from exc
        if not isinstance(data, list) or not data:
            raise serializers.ValidationError(gettext('must be a non-empty list of terms, e.g. [{"text": "red car"}]'))
        if len(data) > MAX_TERMS:
            raise serializers.ValidationError(
                gettext("too many terms: %(count)d, at most %(max)d") % {"count": len(data), "max": MAX_TERMS})
        terms = []
        for position, item in enumerate(data, 1):
            term = QueryTermSerializer(data=item)
            try:
                terms.append(term.to_internal_value(item))
            except serializers.ValidationError as exc:
                message = gettext("term %(position)d: %(error)s") % {"position": position, "error": first_message(exc.detail)}
                raise serializers.ValidationError(message) from exc
        return tuple(terms)

    def to_representation(self, value: object) -> object:
        return value


#: The inputs of a request that say what to look for (a request without any has nothing to search).
QUERY_INPUTS = ("text", "image", "like_keyframe", "like_photo", "query", "text_in_video")
#: A text over the limit is refused without being echoed (its message states the limit only).
TEXT_ERRORS = {"max_length": gettext_lazy("is over {max_length} characters")}


@extend_schema_serializer(component_name="Search")
class SearchRequestSerializer(serializers.Serializer):
    """A search request; every given input is one or more weighted terms, summed into one query."""

    collection = CollectionRefField(help_text="collection id or name")
    text = StrictCharField(
        required=False, allow_blank=False, max_length=MAX_TEXT_CHARS, error_messages=TEXT_ERRORS,
        help_text="what to look for, Russian or English. Syntax: 'red car -night' subtracts night; 'car:2 + road' "
                  "weights car twice as much as road; hyphenated words stay words. A plain query also looks for its "
                  "words in subtitles and on-screen text and fuses both rankings; a quoted phrase ('\"exit 23\"') "
                  "looks for words only. See README 'Richer queries' and 'Words in the footage'.",
    )
    text_in_video = StrictCharField(
        required=False, allow_blank=False, max_length=MAX_TEXT_CHARS, error_messages=TEXT_ERRORS,
        help_text="words to find in the footage's subtitles and on-screen text, Russian or English (stemmed, "
                  "tolerant of OCR errors): every word must appear in one cue or line; a \"quoted phrase\" in "
                  "order; -word leaves out spans holding it. Alone it is a words-only search; with other "
                  "inputs, its ranking is fused with theirs.",
    )
    image = serializers.ImageField(required=False, help_text="example image (multipart); may be combined with text")
    image_weight = WeightField(
        required=False,
        help_text=f"weight of the example image among the terms (default 1; negative: 'not like this'; "
                  f"{MIN_WEIGHT} <= |weight| <= {MAX_WEIGHT:g})",
    )
    like_keyframe = ItemIdField(required=False, help_text="'more like this' for a keyframe id")
    like_photo = ItemIdField(required=False, help_text="'more like this' for a photo id")
    query = QueryTermsField(
        required=False,
        help_text=f"weighted terms, e.g. [{{\"text\": \"red car\", \"weight\": 1}}, {{\"like_keyframe\": 12, "
                  f"\"weight\": 0.5}}, {{\"text\": \"night\", \"weight\": -1}}]; in a query string or form, the same "
                  f"list as JSON text. At most {MAX_TERMS} terms in all inputs together.",
    )
    top_k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=MAX_TOP_K,
                                     help_text="results per page")
    offset = serializers.IntegerField(
        required=False, default=0, min_value=0, max_value=MAX_DEPTH - 1,
        help_text=f"skip this many results (paging: pass the answer's next_offset with the same top_k; "
                  f"offset + top_k <= {MAX_DEPTH})")
    media = serializers.ChoiceField(choices=["all", "videos", "photos"], required=False, default="all")
    group_by = serializers.ChoiceField(
        choices=list(GROUP_BY), required=False, default="clip",
        help_text="clip: a ranked list of moments; video: ranked videos, each with all its matching moments "
                  "in time order (photos stay entries of their own)")
    timeline = serializers.BooleanField(
        required=False, default=False,
        help_text="also return, for each video of the page, the query's score over its whole length "
                  "(`timelines`: one entry per segment, and the matching moments)")

    def validate_image(self, upload) -> Image.Image:
        try:
            return open_image(upload, max_pixels=settings.MAX_IMAGE_PIXELS)
        except ImageLoadError as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate(self, attrs: dict) -> dict:
        """Replace the query inputs with one checked ``QuerySpec`` under ``attrs["query"]``."""
        try:
            check_page(attrs["top_k"], attrs["offset"])
        except SearchError as exc:
            raise serializers.ValidationError({"offset": str(exc)}) from exc
        try:
            attrs["query"] = build_query(
                text=attrs.pop("text", None),
                image=attrs.pop("image", None),
                image_weight=attrs.pop("image_weight", None),
                like_keyframe=attrs.pop("like_keyframe", None),
                like_photo=attrs.pop("like_photo", None),
                terms=attrs.get("query", ()),
                text_in_video=attrs.pop("text_in_video", None),
            )
        except QueryError as exc:
            raise serializers.ValidationError({exc.field: str(exc)} if exc.field else str(exc)) from exc
        return attrs


def _relevance(result: ClipResult | PhotoResult | VideoResult) -> dict:
    """The calibrated relevance (0..1, comparable across models) beside the model's raw score."""
    relevance = None if result.relevance is None else round(result.relevance, 3)
    return {"relevance": relevance, "low_confidence": result.low_confidence}


def terms_to_list(query: QuerySpec | None) -> list[dict]:
    """The query's terms as read, in the API's list form (an uploaded image as ``{"image": true}``)."""
    if query is None:
        return []
    out = []
    for term in query.terms:
        if isinstance(term, TextTerm):
            item: dict = {"text": term.text}
        elif isinstance(term, KeyframeTerm):
            item = {"like_keyframe": term.keyframe_id}
        elif isinstance(term, PhotoTerm):
            item = {"like_photo": term.photo_id}
        else:
            item = {"image": True}
        out.append({**item, "weight": term.weight})
    return out


def _words_of(query: QuerySpec | None) -> dict | None:
    """The words asked for explicitly (a quoted phrase, text_in_video), as read."""
    return None if query is None or query.words is None else query.words.as_dict()


def video_to_dict(video, request) -> dict:
    return {"id": video.pk, "name": video.original_name, "url": media_url(request, video.file.name),
            "duration": video.duration}


def text_match_to_dict(match: TextMatch) -> dict:
    return {"source": match.source, "start": round(match.start, 3), "end": round(match.end, 3), "text": match.text,
            "language": match.language, "words": list(match.words), "score": round(match.score, 6),
            "boxes": [_box(b) for b in match.boxes]}


def _box(box: dict) -> dict:
    """A stored word box as the schema states it: fractions within 0..1 (a reader's rounding clamped)."""
    return {"text": str(box.get("text", "")),
            **{k: round(min(max(float(box.get(k) or 0.0), 0.0), 1.0), 4) for k in ("x", "y", "w", "h")},
            "conf": None if box.get("conf") is None else round(float(box["conf"]), 1)}


def clip_to_dict(result: ClipResult, request) -> dict:
    clip, kf = result.clip, result.keyframe
    video_url = media_url(request, kf.video.file.name)
    return {
        "type": "clip",
        "score": round(clip.score, 6),
        **_relevance(result),
        "matched": clip.matched,
        "video": video_to_dict(kf.video, request),
        "start": round(clip.start, 3),
        "end": round(clip.end, 3),
        "best_time": round(clip.best_time, 3),
        "exact_frame": result.exact_frame,
        "keyframe_id": kf.pk,
        "keyframe_ids": clip.keyframe_ids,
        "thumbnail_url": media_url(request, kf.thumbnail.name),
        "play_url": f"{video_url}#t={clip.start:.2f},{clip.end:.2f}",
        "text_score": None if result.text_score is None else round(result.text_score, 6),
        "text_matches": [text_match_to_dict(m) for m in result.text_matches],
    }


def photo_to_dict(result: PhotoResult, request) -> dict:
    photo = result.photo
    return {
        "type": "photo",
        "score": round(result.score, 6),
        **_relevance(result),
        "photo": {"id": photo.pk, "name": photo.original_name, "url": media_url(request, photo.file.name)},
        "thumbnail_url": media_url(request, photo.thumbnail.name),
    }


def grouped_video_to_dict(result: VideoResult, request) -> dict:
    return {
        "type": "video",
        "score": round(result.score, 6),
        **_relevance(result),
        "video": video_to_dict(result.video, request),
        "clips": [clip_to_dict(c, request) for c in result.clips],
    }


def timeline_to_dict(timeline: VideoTimeline) -> dict:
    return {
        "video_id": timeline.video_id,
        "duration": timeline.duration,
        "segments": [{"start": round(e.start, 3), "end": round(e.end, 3), "score": round(e.score, 6)}
                     for e in timeline.entries],
        "moments": [{"start": round(c.start, 3), "end": round(c.end, 3), "best_time": round(c.best_time, 3),
                     "score": round(c.score, 6)} for c in timeline.moments],
    }


def result_to_dict(result: ClipResult | PhotoResult | VideoResult, request) -> dict:
    if isinstance(result, ClipResult):
        return clip_to_dict(result, request)
    if isinstance(result, VideoResult):
        return grouped_video_to_dict(result, request)
    return photo_to_dict(result, request)


def response_to_dict(response: SearchResponse, request) -> dict:
    return {
        "collection": {"id": response.collection.pk, "name": response.collection.name},
        "model_id": response.model_id,
        "query": {"kind": response.query_kind, "lang": response.lang, "embedded_texts": response.embedded_texts,
                  "terms": terms_to_list(response.query), "words": _words_of(response.query)},
        "warnings": response.warnings,
        "no_good_match": response.no_good_match,
        "took_ms": round(response.took_ms, 1),
        "group_by": response.group_by,
        "offset": response.offset,
        "next_offset": response.next_offset,
        "total": response.total,
        "results": [result_to_dict(r, request) for r in response.results],
        "timelines": {str(video_id): timeline_to_dict(t) for video_id, t in response.timelines.items()},
    }


# -- response schema ----------------------------------------------------------------------------------
# Describe what response_to_dict builds, key for key (the dict builders stay the code that answers;
# these serializers give the OpenAPI schema its components, checked against real answers by schemathesis).

class _RelevanceFields(serializers.Serializer):
    score = serializers.FloatField(help_text="the model's raw similarity; only comparable within one query")
    relevance = serializers.FloatField(
        allow_null=True, min_value=0, max_value=1,
        help_text="calibrated 0..1, comparable across models; null for queries the model is not calibrated for")
    low_confidence = serializers.BooleanField(help_text="below what the model's true matches almost always reach")


class ResultVideoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="the uploaded file's name")
    url = serializers.CharField(allow_null=True, help_text="the video file (answers byte ranges)")
    duration = serializers.FloatField(allow_null=True, help_text="seconds; null until probed")


class ResultPhotoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(help_text="the uploaded file's name")
    url = serializers.CharField(allow_null=True)


class WordBoxSerializer(serializers.Serializer):
    """Where a matched word stands on the frame, as fractions of its width and height (top-left origin)."""

    text = serializers.CharField()
    x = serializers.FloatField(min_value=0, max_value=1)
    y = serializers.FloatField(min_value=0, max_value=1)
    w = serializers.FloatField(min_value=0, max_value=1)
    h = serializers.FloatField(min_value=0, max_value=1)
    conf = serializers.FloatField(allow_null=True, help_text="OCR confidence 0..100")


class TextMatchSerializer(serializers.Serializer):
    """A subtitle cue or a line of on-screen text that holds the query's words."""

    source = serializers.ChoiceField(choices=["subtitle", "screen"], help_text="subtitle: a cue; screen: text on the frame")
    start = serializers.FloatField(help_text="seconds: when the cue or text appears")
    end = serializers.FloatField()
    text = serializers.CharField(help_text="the whole cue or line")
    language = serializers.CharField(allow_blank=True, help_text="ISO 639-2 (eng, rus) where known")
    words = serializers.ListField(child=serializers.CharField(), help_text="its words that matched, as written")
    score = serializers.FloatField()
    boxes = WordBoxSerializer(many=True, help_text="on-screen text: the matched words' boxes; empty for subtitles")


class ReadWordsSerializer(serializers.Serializer):
    phrases = serializers.ListField(child=serializers.CharField(), help_text="quoted: words in this order")
    words = serializers.ListField(child=serializers.CharField(), help_text="each must appear, in any order")
    exclude = serializers.ListField(child=serializers.CharField(), help_text="spans holding these are left out")


class ClipResultSerializer(_RelevanceFields):
    """A moment of a video: [start, end) seconds, best seen at best_time."""

    type = serializers.ChoiceField(choices=["clip"])
    matched = serializers.BooleanField(help_text="a moment that matches the query (else a weaker stretch, ranked below)")
    video = ResultVideoSerializer()
    start = serializers.FloatField()
    end = serializers.FloatField()
    best_time = serializers.FloatField()
    exact_frame = serializers.BooleanField(help_text="the example image is a near-copy of the frame at best_time")
    keyframe_id = serializers.IntegerField(help_text="the keyframe at best_time (for like_keyframe and explain)")
    keyframe_ids = serializers.ListField(child=serializers.IntegerField(), help_text="the clip's keyframes, in time order")
    thumbnail_url = serializers.CharField(allow_null=True)
    play_url = serializers.CharField(help_text="the video URL with a #t=start,end media fragment")
    text_score = serializers.FloatField(
        allow_null=True, help_text="how well the footage's words match (text index score, about 0.6-1.3); null when "
                                   "no words matched. For a words-only query it is also the score")
    text_matches = TextMatchSerializer(
        many=True, help_text="why it matched in words: each subtitle cue or line of on-screen text holding the "
                             "query's words, best first; empty when only the picture matched")


class PhotoResultSerializer(_RelevanceFields):
    type = serializers.ChoiceField(choices=["photo"])
    photo = ResultPhotoSerializer()
    thumbnail_url = serializers.CharField(allow_null=True)


class VideoResultSerializer(_RelevanceFields):
    """A video of a group_by=video answer: its matching moments in time order (score and relevance: its best)."""

    type = serializers.ChoiceField(choices=["video"])
    video = ResultVideoSerializer()
    clips = ClipResultSerializer(many=True)


SEARCH_RESULT = PolymorphicProxySerializer(
    component_name="SearchResult",
    serializers={"clip": ClipResultSerializer, "photo": PhotoResultSerializer, "video": VideoResultSerializer},
    resource_type_field_name="type",
    many=True,
)


class _ReadTermWeight(serializers.Serializer):
    weight = serializers.FloatField()


class ReadTextTermSerializer(_ReadTermWeight):
    text = serializers.CharField()


class ReadKeyframeTermSerializer(_ReadTermWeight):
    like_keyframe = serializers.IntegerField()


class ReadPhotoTermSerializer(_ReadTermWeight):
    like_photo = serializers.IntegerField()


class ReadImageTermSerializer(_ReadTermWeight):
    image = serializers.ChoiceField(choices=[True], help_text="the uploaded example image")


READ_TERM = PolymorphicProxySerializer(
    component_name="ReadQueryTerm",
    serializers=[ReadTextTermSerializer, ReadKeyframeTermSerializer, ReadPhotoTermSerializer, ReadImageTermSerializer],
    resource_type_field_name=None,
    many=True,
)


class ReadQuerySerializer(serializers.Serializer):
    """The query as the server read it."""

    kind = serializers.ChoiceField(choices=["text", "image", "similar", "combined", "words"],
                                   help_text="words: a words-only search of subtitles and on-screen text")
    lang = serializers.ChoiceField(choices=["ru", "en"], allow_null=True, help_text="of the text terms; null without text")
    embedded_texts = serializers.ListField(child=serializers.CharField(), help_text="the prompts the model embedded")
    terms = READ_TERM
    words = ReadWordsSerializer(allow_null=True, help_text="the words asked for explicitly (a quoted phrase, "
                                                           "text_in_video); null otherwise")


class CollectionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TimelineSegmentSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    score = serializers.FloatField()


class TimelineMomentSerializer(TimelineSegmentSerializer):
    best_time = serializers.FloatField()


class TimelineSerializer(serializers.Serializer):
    """The query's score over one video's whole length, and where its matching moments are."""

    video_id = serializers.IntegerField()
    duration = serializers.FloatField(allow_null=True)
    segments = TimelineSegmentSerializer(many=True, help_text="in time order; gaps where nothing is indexed")
    moments = TimelineMomentSerializer(many=True, help_text="the matching moments, in time order")


class SearchResponseSerializer(serializers.Serializer):
    """One page of a search answer (response_to_dict)."""

    collection = CollectionRefSerializer()
    model_id = serializers.CharField(help_text="the model that embedded the query and the index")
    query = ReadQuerySerializer()
    warnings = serializers.ListField(child=serializers.CharField(), help_text="notes on the query for the user")
    no_good_match = serializers.BooleanField(help_text="no result reaches the model's calibrated threshold")
    took_ms = serializers.FloatField()
    group_by = serializers.ChoiceField(choices=list(GROUP_BY))
    offset = serializers.IntegerField(min_value=0)
    next_offset = serializers.IntegerField(allow_null=True, help_text="offset of the next page; null on the last one")
    total = serializers.IntegerField(min_value=0, help_text="results in the answer's candidate window, all pages")
    results = SEARCH_RESULT
    timelines = serializers.DictField(
        child=TimelineSerializer(), help_text="video id (as a string) -> its timeline; empty unless timeline=true")


@extend_schema_serializer(component_name="SearchJson")
class SearchJsonSerializer(SearchRequestSerializer):
    """A search as JSON, a query string or an urlencoded form (schema only): every field but the image,
    which needs a multipart form. In a query string or form, ``query`` is the list as JSON text."""

    image = None
    image_weight = None

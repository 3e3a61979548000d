"""Search request and result representations."""
from __future__ import annotations

from rest_framework import serializers

from apps.media.serializers import media_url

from .service import ClipResult, PhotoResult, SearchResponse


class SearchRequestSerializer(serializers.Serializer):
    collection = serializers.CharField(help_text="collection id or name")
    text = serializers.CharField(required=False, allow_blank=False, max_length=1000)
    image = serializers.ImageField(required=False, help_text="example image (multipart)")
    like_keyframe = serializers.IntegerField(required=False, help_text="'more like this' for a keyframe id")
    like_photo = serializers.IntegerField(required=False, help_text="'more like this' for a photo id")
    top_k = serializers.IntegerField(required=False, default=10, min_value=1, max_value=200)
    media = serializers.ChoiceField(choices=["all", "videos", "photos"], required=False, default="all")

    def validate(self, attrs: dict) -> dict:
        given = [k for k in ("text", "image", "like_keyframe", "like_photo") if attrs.get(k) not in (None, "")]
        if len(given) != 1:
            raise serializers.ValidationError("give exactly one of: text, image, like_keyframe, like_photo")
        return attrs


def _relevance(result: ClipResult | PhotoResult) -> dict:
    """The calibrated relevance (0..1, comparable across models) beside the model's raw score."""
    relevance = None if result.relevance is None else round(result.relevance, 3)
    return {"relevance": relevance, "low_confidence": result.low_confidence}


def clip_to_dict(result: ClipResult, request) -> dict:
    clip, kf = result.clip, result.keyframe
    video_url = media_url(request, kf.video.file.name)
    return {
        "type": "clip",
        "score": round(clip.score, 6),
        **_relevance(result),
        "video": {"id": kf.video_id, "name": kf.video.original_name, "url": video_url, "duration": kf.video.duration},
        "start": round(clip.start, 3),
        "end": round(clip.end, 3),
        "best_time": round(clip.best_time, 3),
        "exact_frame": result.exact_frame,
        "keyframe_id": kf.pk,
        "keyframe_ids": clip.keyframe_ids,
        "thumbnail_url": media_url(request, kf.thumbnail.name),
        "play_url": f"{video_url}#t={clip.start:.2f},{clip.end:.2f}",
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


def response_to_dict(response: SearchResponse, request) -> dict:
    return {
        "collection": {"id": response.collection.pk, "name": response.collection.name},
        "model_id": response.model_id,
        "query": {"kind": response.query_kind, "lang": response.lang, "embedded_texts": response.embedded_texts},
        "warnings": response.warnings,
        "no_good_match": response.no_good_match,
        "took_ms": round(response.took_ms, 1),
        "results": [
            clip_to_dict(r, request) if isinstance(r, ClipResult) else photo_to_dict(r, request)
            for r in response.results
        ],
    }

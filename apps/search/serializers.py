"""Search request and result representations."""
from __future__ import annotations

from rest_framework import serializers

from apps.media.serializers import media_url

from .service import GROUP_BY, MAX_DEPTH, MAX_TOP_K, ClipResult, PhotoResult, SearchResponse, VideoResult, VideoTimeline


class SearchRequestSerializer(serializers.Serializer):
    collection = serializers.CharField(help_text="collection id or name")
    text = serializers.CharField(required=False, allow_blank=False, max_length=1000)
    image = serializers.ImageField(required=False, help_text="example image (multipart)")
    like_keyframe = serializers.IntegerField(required=False, help_text="'more like this' for a keyframe id")
    like_photo = serializers.IntegerField(required=False, help_text="'more like this' for a photo id")
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

    def validate(self, attrs: dict) -> dict:
        given = [k for k in ("text", "image", "like_keyframe", "like_photo") if attrs.get(k) not in (None, "")]
        if len(given) != 1:
            raise serializers.ValidationError("give exactly one of: text, image, like_keyframe, like_photo")
        if attrs.get("offset", 0) + attrs.get("top_k", 10) > MAX_DEPTH:
            raise serializers.ValidationError({"offset": f"offset + top_k must be at most {MAX_DEPTH}"})
        return attrs


def video_to_dict(video, request) -> dict:
    return {"id": video.pk, "name": video.original_name, "url": media_url(request, video.file.name),
            "duration": video.duration}


def clip_to_dict(result: ClipResult, request) -> dict:
    clip, kf = result.clip, result.keyframe
    video_url = media_url(request, kf.video.file.name)
    return {
        "type": "clip",
        "score": round(clip.score, 6),
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
    }


def photo_to_dict(result: PhotoResult, request) -> dict:
    photo = result.photo
    return {
        "type": "photo",
        "score": round(result.score, 6),
        "photo": {"id": photo.pk, "name": photo.original_name, "url": media_url(request, photo.file.name)},
        "thumbnail_url": media_url(request, photo.thumbnail.name),
    }


def grouped_video_to_dict(result: VideoResult, request) -> dict:
    return {
        "type": "video",
        "score": round(result.score, 6),
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
        "query": {"kind": response.query_kind, "lang": response.lang, "embedded_texts": response.embedded_texts},
        "warnings": response.warnings,
        "took_ms": round(response.took_ms, 1),
        "group_by": response.group_by,
        "offset": response.offset,
        "next_offset": response.next_offset,
        "total": response.total,
        "results": [result_to_dict(r, request) for r in response.results],
        "timelines": {str(video_id): timeline_to_dict(t) for video_id, t in response.timelines.items()},
    }

"""A video's words for its page: subtitle cues and on-screen text in time order, each playable from its start."""
from __future__ import annotations

from dataclasses import dataclass

from apps.media.models import TextSpan, Video

#: Lines listed on the page at most (a feature film has ~1500 cues; the page stays light).
MAX_LISTED = 400


@dataclass(frozen=True)
class VideoWords:
    spans: list[TextSpan]
    total: int

    @property
    def truncated(self) -> bool:
        return self.total > len(self.spans)


def video_words(video: Video, limit: int = MAX_LISTED) -> VideoWords:
    """The first ``limit`` spans of the video by time (both sources together), and how many it has."""
    spans = TextSpan.objects.filter(video=video).order_by("start", "source", "id").only(
        "source", "start", "end", "text", "language", "confidence")
    return VideoWords(list(spans[:limit]), spans.count())

"""``{{ seconds|timecode }}``: times in a video as people read them (1:05.5, 1:02:03), not 65.5 s."""
from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def timecode(seconds: float | str | None) -> str:
    """m:ss, or h:mm:ss past an hour; tenths of a second when they are not zero."""
    try:
        value = max(float(seconds), 0.0)
    except (TypeError, ValueError):
        return ""
    tenths = round(value * 10)
    whole, tenth = divmod(tenths, 10)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
    return f"{text}.{tenth}" if tenth else text

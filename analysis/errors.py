"""Errors for files that cannot be ingested.

Every failure of the video analysis services is a :class:`MediaError` whose ``str()`` is a sentence a
user can act on ("The file is empty."), so callers can show it as-is and never leak a traceback.
:data:`BAD_INPUT` are the ones the file itself causes (another try cannot help); the others (a
timeout, ffmpeg missing on the server) may pass.
"""
from __future__ import annotations


class MediaError(Exception):
    """A file that cannot be ingested; str(e) is a readable reason for the user."""


class FileMissingError(MediaError):
    """The path does not exist or is not a regular file."""


class EmptyFileError(MediaError):
    """The file has zero bytes (an interrupted upload, typically)."""


class NotAVideoError(MediaError):
    """The file is not a media file ffmpeg understands, or holds no moving pictures."""


class NoVideoStreamError(NotAVideoError):
    """A media file without a video stream (audio only, subtitles only...)."""


class CorruptVideoError(MediaError):
    """A video whose frames cannot be decoded, or only part of them (truncated file)."""


class BlankVideoError(MediaError):
    """A video that decodes, but into nothing usable (every frame black or blank)."""


class MediaTimeoutError(MediaError):
    """ffprobe/ffmpeg stopped making progress; killed so a worker never hangs on one file."""


#: Failures caused by the file itself: its upload is unusable, so ingestion removes it (see apps/search/indexing.py).
BAD_INPUT: tuple[type[MediaError], ...] = (EmptyFileError, NotAVideoError, CorruptVideoError, BlankVideoError)

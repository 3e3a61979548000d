"""Files posted through the collection page's form (without its script): store each, count what happened."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.files.uploadedfile import UploadedFile

from ..models import Collection
from .queue import photo_batches
from .register import register_stream


@dataclass
class UploadOutcome:
    added: int = 0
    duplicates: int = 0
    refused: list[str] = field(default_factory=list)  # one sentence per refused file, naming it


def register_uploads(collection: Collection, files: Iterable[UploadedFile]) -> UploadOutcome:
    """Store and queue every file; one that is no photo or video (or over the limit) is refused, the rest go on."""
    outcome = UploadOutcome()
    with photo_batches():
        for upload in files:
            try:
                registered = register_stream(collection, upload.chunks(), upload.name)
            except ValueError as exc:
                outcome.refused.append(str(exc))
                continue
            outcome.added += registered.created
            outcome.duplicates += not registered.created
    return outcome

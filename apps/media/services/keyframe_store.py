"""Keyframe images on disk: written as the analysis finds them, swapped in only when it succeeds.

Why: holding every keyframe image of a long recording in memory until the end does not scale (a
day of traffic camera is ~40k keyframes), and a re-ingest must not touch the thumbnails of the
version that is still indexed (and searched) before its own are ready. Keyframes go to a staging
folder next to the item's thumbnail folder; :meth:`KeyframeStaging.commit` replaces the old
folder with it once the new keyframe rows are in.

Embedding reads the staged JPEGs back a batch at a time (:class:`SavedImages`), the same pixels
an index rebuild embeds, so ingest and rebuild give identical vectors. The video's frame
fingerprints (:mod:`analysis.fingerprints`) live in the same folder and are swapped in with it.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import overload

import numpy as np
from PIL import Image

from analysis import fingerprints
from analysis.fingerprints import FingerprintTrack
from analysis.video_analysis import PickedKeyframe

from . import storage, thumbnails

#: The keyframe ids whose vectors a final write adds, noted in the staging folder before the index write
#: (then in the thumbnail folder, which the staging folder becomes, until the rows commit). A run killed in
#: between leaves vectors whose rows were rolled back; the next run of the video drops them
#: (ingest.drop_uncommitted_vectors) and the note goes.
PENDING_VECTORS = ".pending-vectors"


@dataclass(frozen=True)
class StagedKeyframe:
    """A keyframe whose image is saved; ``thumbnail`` is its path once committed."""

    shot_index: int
    time: float
    segment_start: float
    segment_end: float
    thumbnail: str  # relative to MEDIA_ROOT, in the final folder


class KeyframeStaging:
    """Collects the keyframes of one analysis run in a staging folder."""

    def __init__(self, final_dir: str) -> None:
        self.final_dir = final_dir
        self.staging_dir = final_dir + storage.STAGING_SUFFIX
        self.old_dir = final_dir + storage.REPLACED_SUFFIX
        self.keyframes: list[StagedKeyframe] = []
        storage.remove_tree(self.staging_dir)  # left by a run that was killed
        storage.remove_tree(self.old_dir)

    def add(self, keyframe: PickedKeyframe) -> None:
        """Save one keyframe image (the ``on_keyframe`` sink of ``analyze_video``)."""
        name = f"{int(round(keyframe.time * 1000)):09d}.jpg"
        thumbnails.save_jpeg(keyframe.image, f"{self.staging_dir}/{name}")
        thumbnails.save_small_copy(keyframe.image, f"{self.staging_dir}/{name}")  # the pages' srcset
        self.keyframes.append(StagedKeyframe(keyframe.shot_index, keyframe.time, keyframe.segment_start,
                                             keyframe.segment_end, f"{self.final_dir}/{name}"))

    def save_fingerprints(self, track: FingerprintTrack) -> None:
        folder = storage.absolute(self.staging_dir)
        folder.mkdir(parents=True, exist_ok=True)
        track.save(folder / fingerprints.FILE_NAME)

    def staged_images(self) -> list[str]:
        """The keyframe images where they are until :meth:`commit` (relative to MEDIA_ROOT), to embed them."""
        return [f"{self.staging_dir}/{PurePosixPath(kf.thumbnail).name}" for kf in self.keyframes]

    def commit(self) -> None:
        """Replace the item's thumbnail folder with the staged one: two renames, then the old one goes."""
        staged = storage.absolute(self.staging_dir)
        staged.mkdir(parents=True, exist_ok=True)  # a video without keyframes still gets its folder
        final, old = storage.absolute(self.final_dir), storage.absolute(self.old_dir)
        if final.exists():
            os.replace(final, old)
        os.replace(staged, final)
        storage.remove_tree(self.old_dir)

    def discard(self) -> None:
        storage.remove_tree(self.staging_dir)

    def note_vectors(self, keyframe_ids: list[int]) -> None:
        """Note the keyframe ids a final write is about to index (:data:`PENDING_VECTORS`), whole or not at all."""
        folder = storage.absolute(self.staging_dir)
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"{PENDING_VECTORS}.tmp"
        with open(tmp, "w") as f:
            f.write(" ".join(str(pk) for pk in keyframe_ids))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / PENDING_VECTORS)

    def committed(self) -> None:
        """The final write committed: its keyframes have rows, so the note goes."""
        forget_pending_vectors(self.final_dir)


def pending_vectors(final_dir: str) -> set[int]:
    """The keyframe ids noted by final writes of the item in ``final_dir`` that did not finish (see
    :data:`PENDING_VECTORS`): in its staging folder, or in its thumbnail folder after the swap."""
    ids: set[int] = set()
    for folder in (final_dir + storage.STAGING_SUFFIX, final_dir):
        try:
            text = (storage.absolute(folder) / PENDING_VECTORS).read_text()
        except (FileNotFoundError, NotADirectoryError):
            continue
        ids.update(int(word) for word in text.split() if word.isdigit())
    return ids


def forget_pending_vectors(final_dir: str) -> None:
    for folder in (final_dir + storage.STAGING_SUFFIX, final_dir):
        (storage.absolute(folder) / PENDING_VECTORS).unlink(missing_ok=True)


def load_fingerprints(collection_id: int, video_id: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(times, fingerprints) of an ingested video; None for one ingested before they existed."""
    folder = storage.absolute(storage.thumbnail_dir(collection_id, "video", video_id))
    return fingerprints.load(folder / fingerprints.FILE_NAME)


class SavedImages(Sequence[Image.Image]):
    """Images saved under MEDIA_ROOT, opened only when a batch asks for them."""

    def __init__(self, relative_paths: Sequence[str]) -> None:
        self._paths = list(relative_paths)

    def __len__(self) -> int:
        return len(self._paths)

    @overload
    def __getitem__(self, index: int) -> Image.Image: ...

    @overload
    def __getitem__(self, index: slice) -> list[Image.Image]: ...

    def __getitem__(self, index: int | slice) -> Image.Image | list[Image.Image]:
        if isinstance(index, slice):
            return [self._open(path) for path in self._paths[index]]
        return self._open(self._paths[index])

    @staticmethod
    def _open(relative: str) -> Image.Image:
        with Image.open(storage.absolute(relative)) as img:
            return img.convert("RGB")

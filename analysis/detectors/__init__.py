"""Cut detection: a detector finds cuts in the frames, filters give second opinions on them.

One file each, as in PySceneDetect's ``scenedetect/detectors/``:

- ``content.py``: :class:`~analysis.detectors.content.FastContentDetector`, PySceneDetect's
  ContentDetector (hue, saturation and luma change) with a cheaper per-frame score. The detector
  :func:`analysis.video_analysis.analyze_video` runs.
- ``cut_filters.py``: second opinions from the frames around a reported cut: ``is_fade_out`` drops
  the steps of a fade to black, ``FlashRejector`` drops cuts whose picture comes back,
  ``IsolatedSpikeDetector`` adds weak hard cuts that stand out in the detector's score stream.

A detector satisfies :class:`CutDetector`. The pipeline builds its one detector in code, so there is
no registry by name; add one here when a setting comes to choose between detectors.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from scenedetect.common import FrameTimecode


@runtime_checkable
class CutDetector(Protocol):
    """Finds cuts in a stream of frames: what the analysis pipeline asks of a detector.

    The part of PySceneDetect's ``SceneDetector`` interface the pipeline uses (so its detectors fit
    as they are), plus ``last_score``, the stream :class:`~analysis.detectors.cut_filters.IsolatedSpikeDetector`
    reads.
    """

    @property
    def event_buffer_length(self) -> int:
        """How many frames late a cut may be reported (the pipeline waits this long before closing a shot)."""
        ...

    @property
    def last_score(self) -> float:
        """The change score of the latest frame, on ContentDetector's scale."""
        ...

    def process_frame(self, timecode: FrameTimecode, frame_img: np.ndarray) -> list[FrameTimecode]:
        """Take the next frame (a small BGR image); return the cuts now known (the first frame of each new shot)."""
        ...

    def post_process(self, timecode: FrameTimecode) -> list[FrameTimecode]:
        """End of the stream (``timecode``: its last frame); return the cuts still held back."""
        ...

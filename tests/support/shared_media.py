"""The real test media the tests read: ``../shared/media`` beside the repository (its README.md says what each
file is). The one place that says where it is and which files the tests need; ``tests/conftest.py`` (the
``shared_media`` fixture) and ``scripts/check_shared_media.py`` (run first by ``.ci/run``) both use it.

Without it a test that needs it skips with the reason on a laptop, and fails in CI (``CI`` set): a CI run
that lost the folder must not stay green on "N skipped".

Standard library only: the check script runs before ``scripts/setup.sh`` has made the virtualenv.
"""
from __future__ import annotations

import os
from pathlib import Path

#: Point the tests at another copy of the folder (or at a missing one, to see what happens without it).
ENV_VAR = "VIDEOSEARCH_SHARED_MEDIA"
REPO = Path(__file__).resolve().parents[2]
DEFAULT_ROOT = REPO.parent / "shared" / "media"

#: Files the tests read, relative to the folder (licence files and README.md are not read).
FILES = (
    "videos/testvideo.mp4",
    "videos/big_buck_bunny_0_30.webm",
    "videos/traffic_camera.mp4",
    "videos/highway_320x240.avi",
    "videos/issue-236-split-copy.mkv",
    "ground_truth/testvideo.mp4.ContentDetector.default.json",
    "photos/coco-mini/captions_val2017.json",
    "photos/skimage/captions_en_ru.json",
    "photos/skimage/astronaut.png",
    "photos/skimage/camera.png",
    "photos/skimage/chelsea.png",
    "photos/skimage/coffee.png",
    "photos/skimage/horse.png",
    "photos/skimage/motorcycle_right.png",
    "photos/skimage/page.png",
    "photos/skimage/rocket.jpg",
)
#: Folders whose files the tests count: (folder, pattern, how many).
COUNTED = (
    ("photos/coco-mini/images", "*.jpg", 79),
)


def root() -> Path:
    """The shared media folder: ``$VIDEOSEARCH_SHARED_MEDIA`` when set, else ``<repo>/../shared/media``."""
    override = os.environ.get(ENV_VAR, "").strip()
    return Path(override).expanduser().resolve() if override else DEFAULT_ROOT


def in_ci() -> bool:
    """Whether this is a CI run: ``CI`` set to anything but empty, 0, false or no (CI services set CI=true)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def missing(folder: Path | None = None) -> list[str]:
    """What the tests need and ``folder`` (default :func:`root`) lacks; empty when it is complete."""
    folder = root() if folder is None else folder
    if not folder.is_dir():
        return [f"the folder itself ({folder})"]
    lacking = [name for name in FILES if not (folder / name).is_file()]
    for sub, pattern, count in COUNTED:
        found = len(list((folder / sub).glob(pattern))) if (folder / sub).is_dir() else 0
        if found != count:
            lacking.append(f"{sub}/{pattern}: {count} files expected, {found} found")
    return lacking


def problem(folder: Path | None = None) -> str | None:
    """A one-paragraph explanation when the folder is missing or incomplete, else None."""
    folder = root() if folder is None else folder
    lacking = missing(folder)
    if not lacking:
        return None
    shown = "; ".join(lacking[:5]) + (f"; and {len(lacking) - 5} more" if len(lacking) > 5 else "")
    return (f"shared test media {folder} is missing or incomplete (lacks: {shown}). Clone the repository beside "
            f"shared/ (../shared/media, see its README.md) or set {ENV_VAR} to a complete copy.")


def require() -> Path:
    """The folder, for a test that reads it. Missing or incomplete: the test skips with the reason, or in CI
    fails (a CI run must not lose these tests silently)."""
    import pytest

    reason = problem()
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} CI (CI={os.environ.get('CI')}) runs every test: a missing folder fails the run.",
                        pytrace=False)
        pytest.skip(reason)
    return root()

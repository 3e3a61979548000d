"""The small CLIP-style model the project trains itself, for tests and the offline demo.

Its architecture is an open_clip model config in this folder; registering it lets the normal open_clip
path (``create_model_and_transforms(TESTMODEL_NAME, pretrained=str(TESTMODEL_CHECKPOINT))``) load it,
so code under test exercises exactly the path used for real models.
"""
from __future__ import annotations

from pathlib import Path

TESTMODEL_NAME = "videosearch-testmodel"
TESTMODEL_DIR = Path(__file__).resolve().parent
TESTMODEL_CONFIG = TESTMODEL_DIR / f"{TESTMODEL_NAME}.json"
TESTMODEL_CHECKPOINT = TESTMODEL_DIR / "testmodel.pt"


def register_testmodel_config() -> None:
    """Make TESTMODEL_NAME known to open_clip (safe to call any number of times)."""
    import open_clip

    if TESTMODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(TESTMODEL_CONFIG)

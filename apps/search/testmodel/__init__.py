"""The small CLIP-style model the project trains itself, for tests and the offline demo.

Its architecture is an open_clip model config in this folder; registering it lets the normal open_clip
path (``create_model_and_transforms(TESTMODEL_NAME, pretrained=str(TESTMODEL_CHECKPOINT))``) load it,
so code under test exercises exactly the path used for real models. The embedder registry builds the
specs ``testmodel`` and ``onnx:testmodel`` with :func:`load_testmodel` and :func:`load_onnx_testmodel`.
How the checkpoint was trained: tools/TRAINING.md.
"""
from __future__ import annotations

import threading
from pathlib import Path

from apps.search.embedders.base import Embedder, ModelUnavailableError
from apps.search.embedders.common import DEFAULT_BATCH_SIZE

TESTMODEL_NAME = "videosearch-testmodel"
TESTMODEL_DIR = Path(__file__).resolve().parent
TESTMODEL_CONFIG = TESTMODEL_DIR / f"{TESTMODEL_NAME}.json"
TESTMODEL_CHECKPOINT = TESTMODEL_DIR / "testmodel.pt"


def register_testmodel_config() -> None:
    """Make TESTMODEL_NAME known to open_clip (safe to call any number of times)."""
    import open_clip

    if TESTMODEL_NAME not in open_clip.list_models():
        open_clip.add_model_config(TESTMODEL_CONFIG)


def _checkpoint() -> Path:
    if not TESTMODEL_CHECKPOINT.is_file():
        raise ModelUnavailableError(f"test model checkpoint {TESTMODEL_CHECKPOINT} is missing")
    return TESTMODEL_CHECKPOINT


def testmodel_id() -> str:
    """``testmodel:<sha256[:12]>`` of the checkpoint: a retrained model gets a new id."""
    from apps.search.embedders.common import file_sha256

    return f"testmodel:{file_sha256(_checkpoint())[:12]}"


def load_testmodel(*, device: str = "cpu", batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder:
    """The test model through the open_clip backend (spec ``testmodel``)."""
    from apps.search.embedders.openclip_backend import OpenClipEmbedder

    checkpoint = _checkpoint()
    register_testmodel_config()
    return OpenClipEmbedder.from_checkpoint(TESTMODEL_NAME, checkpoint, device=device, batch_size=batch_size,
                                            model_id=testmodel_id())


_export_lock = threading.Lock()


def load_onnx_testmodel(*, model_dir: Path, batch_size: int = DEFAULT_BATCH_SIZE) -> Embedder:
    """The test model through onnxruntime (spec ``onnx:testmodel``), exported into ``<model_dir>/onnx/testmodel``
    on first use, and again when the checkpoint changed (the export's model id no longer matches)."""
    import json

    from apps.search.embedders.onnx_backend import OnnxEmbedder

    out = Path(model_dir) / "onnx" / "testmodel"
    wanted = testmodel_id()
    with _export_lock:
        meta = out / "meta.json"
        current = json.loads(meta.read_text()).get("model_id") if meta.is_file() else None
        if current != wanted:  # only then is the torch model loaded
            from apps.search.onnx_export import export_onnx

            export_onnx(load_testmodel(device="cpu", batch_size=batch_size), out)
    return OnnxEmbedder(out, batch_size=batch_size)

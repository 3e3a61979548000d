"""With the ONNX backend, ``manage.py ingest`` and ``manage.py search`` never import torch.

torch costs a fresh shell about a second and 300-400 MB before anything is encoded; the ONNX backend serves
both towers with onnxruntime and a torch-free tokenizer. Each command runs in its own fresh interpreter,
which reports at exit whether ``torch`` is in ``sys.modules`` and its own peak memory (VmHWM).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PROBE = """import runpy, sys
sys.argv = ['manage.py', *sys.argv[1:]]
try:
    runpy.run_path('manage.py', run_name='__main__')
finally:
    hwm = [line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')][0]
    print('@@probe', 'torch' in sys.modules, hwm, file=sys.stderr)
"""


@pytest.fixture(scope="module")
def onnx_env(tmp_path_factory) -> dict[str, str]:
    """A data folder of its own (SQLite, migrated) with the test model already exported to ONNX."""
    from apps.search.onnx_export import export_onnx
    from apps.search.testmodel import load_testmodel

    data = tmp_path_factory.mktemp("cli-onnx")
    export_onnx(load_testmodel(), data / "models" / "onnx" / "testmodel")
    env = {**os.environ, "VIDEOSEARCH_DATA_DIR": str(data), "VIDEOSEARCH_EMBEDDER": "onnx:testmodel",
           "VIDEOSEARCH_MODEL_DIR": str(data / "models"), "DATABASE_URL": f"sqlite:///{data / 'db.sqlite3'}",
           "VIDEOSEARCH_MEDIA_ROOT": str(data / "media"), "VIDEOSEARCH_INDEX_ROOT": str(data / "indexes"),
           "REDIS_URL": ""}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=REPO, env=env, check=True)
    return env


def run_probe(env: dict[str, str], *args: str) -> tuple[str, bool, int]:
    done = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    torch_loaded, hwm_kb = done.stderr.rsplit("@@probe", 1)[1].split()[:2]
    return done.stdout, torch_loaded == "True", int(hwm_kb)


def test_ingest_and_search_with_onnx_never_import_torch(onnx_env, tmp_path):
    from apps.search.testmodel.demo_video import make_demo_photos

    photos = make_demo_photos(tmp_path / "album", n=4)
    out, torch_loaded, _ = run_probe(onnx_env, "ingest", str(tmp_path / "album"), "--collection", "album")
    assert "4 indexed" in out
    assert not torch_loaded, "manage.py ingest imported torch with the ONNX backend"
    out, torch_loaded, _ = run_probe(onnx_env, "search", "--collection", "album", "--text", photos[0][1], "--top", "4")
    first = next(line for line in out.splitlines() if line.lstrip().startswith("1."))
    assert photos[0][0].name in first, out  # the photo of the caption comes first
    assert not torch_loaded, "manage.py search imported torch with the ONNX backend"


def test_the_torch_backend_does_import_it(onnx_env, tmp_path):
    """The probe would see torch: the test above is not blind."""
    env = {**onnx_env, "VIDEOSEARCH_EMBEDDER": "testmodel"}
    from apps.search.testmodel.demo_video import make_demo_photos

    make_demo_photos(tmp_path / "album", n=1)
    _, torch_loaded, _ = run_probe(env, "ingest", str(tmp_path / "album"), "--collection", "torch-album")
    assert torch_loaded

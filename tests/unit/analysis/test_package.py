"""The analysis package stands alone: every module imports without Django, and detectors fit their protocol."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

#: Imports every module of analysis/ in a fresh interpreter, then lists the project's other packages
#: (and Django) that came with them.
IMPORT_ALL = """
import importlib, json, pkgutil, sys
import analysis
names = [m.name for m in pkgutil.walk_packages(analysis.__path__, "analysis.")]
for name in names:
    importlib.import_module(name)
forbidden = ("django", "apps", "videosearch", "workers")
print(json.dumps({"modules": names,
                  "forbidden": sorted(m for m in sys.modules if m.split(".")[0] in forbidden)}))
"""


def test_every_analysis_module_imports_without_django():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert "analysis.video_analysis" in report["modules"] and "analysis.detectors.content" in report["modules"]
    assert report["forbidden"] == []


def test_the_content_detector_is_a_cut_detector():
    from analysis.detectors import CutDetector
    from analysis.detectors.content import FastContentDetector

    assert isinstance(FastContentDetector(), CutDetector)
    assert not isinstance(object(), CutDetector)

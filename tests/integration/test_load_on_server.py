"""The index never goes dark for clients of the production server: ``bench/serve_under_load.py``, shortened.

8 clients search over HTTP (scripts/serve.sh: gunicorn as deployed, not runserver) while a real Celery
worker rebuilds the collection's index again and again, then re-ingests every video again and again,
both asked for through the API. Every answer must be a 200 with results that hold the video the query
is about. The bench runs as its own process on this session's database (SQLite, or PostgreSQL with
``--postgres``), with its own data dir, Redis, worker and server.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO, session_database_url

pytestmark = [pytest.mark.slow, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

CLIENTS = 8
PHASE_SECONDS = 12


def test_searches_over_http_never_fail_nor_come_back_empty_nor_miss_their_video_during_rebuilds_and_reingests():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "VIDEOSEARCH_", "REDIS_URL", "DATABASE_URL"))}
    env.update(DATABASE_URL=session_database_url(), PYTHONUNBUFFERED="1")
    proc = subprocess.run([sys.executable, "bench/serve_under_load.py", "--clients", str(CLIENTS),
                           "--duration", str(PHASE_SECONDS), "--videos", "2", "--photos", "4"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=420)
    assert proc.returncode == 0, proc.stderr[-6000:]
    report = json.loads(proc.stdout)
    print(proc.stdout)  # the figures, shown with -s or on a failure
    phases = report["phases"]

    for name, phase in phases.items():
        assert phase["searches"] >= CLIENTS, (name, phase)
        assert (phase["errors"], phase["empty_answers"], phase["answers_missing_their_video"]) == (0, 0, 0), (name, phase)
    assert phases["idle"]["runs"] == 0
    assert phases["rebuild"]["runs"] >= 1, phases["rebuild"]  # a rebuild swapped in while clients searched
    assert phases["reingest"]["runs"] >= 1, phases["reingest"]  # every video re-ingested while clients searched
    assert report["vectors_after"] == report["vectors"]
    assert report["server_log_tracebacks"] == 0

"""apps send Celery tasks by name, never importing workers: the names must be registered wherever they are sent."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: What a web process has after Django starts: no module of it imports workers.
REGISTERED = """
import json, django
django.setup()
from celery import current_app
from apps.media.services import queue
print(json.dumps({"sent": [queue.INGEST_JOB, queue.INGEST_PHOTO_JOBS, queue.REBUILD_INDEX],
                  "registered": sorted(current_app.tasks), "app": current_app.main}))
"""


def test_the_tasks_apps_send_by_name_are_registered_in_a_web_process():
    """Unregistered, a send by name goes to the broker even with task_always_eager (no Redis: nothing would run)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["DJANGO_SETTINGS_MODULE"] = "videosearch.settings"
    done = subprocess.run([sys.executable, "-c", REGISTERED], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["app"] == "videosearch"
    assert set(report["sent"]) <= set(report["registered"])

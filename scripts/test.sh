#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: unit, integration (real ffmpeg, Redis, Celery
# worker, FAISS, the bundled model, ../shared/media when present) and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/python -m pytest -q "$@"

#!/usr/bin/env bash
# Set up (if needed) and run the offline demo: generate sample media, ingest it (plus ../shared/media
# when present) with the bundled test model, run example searches, then serve http://127.0.0.1:8000
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export VIDEOSEARCH_EMBEDDER=${VIDEOSEARCH_EMBEDDER:-testmodel}
export VIDEOSEARCH_DATA_DIR=${VIDEOSEARCH_DATA_DIR:-$PWD/var/demo}
export VIDEOSEARCH_LOG_LEVEL=${VIDEOSEARCH_LOG_LEVEL:-WARNING}
.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py demo "$@"

#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite: unit, integration (real ffmpeg, Redis, Celery
# worker, FAISS, the bundled model, ../shared/media: without it the tests that read it skip, or fail
# when CI is set, as does any skip not allowed in tests/support/skips.py) and browser tests, on SQLite; then,
# when run without arguments, the integration tests that use the database again on PostgreSQL (a
# throwaway server the tests start, see tests/support/postgres.py), the database production runs on.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/ruff check .
.venv/bin/lint-imports  # the one-way architecture: [tool.importlinter] in pyproject.toml
if [ $# -gt 0 ]; then  # the tests asked for, on SQLite (add --postgres for PostgreSQL)
  exec .venv/bin/python -m pytest -q "$@"
fi
status=0
MUTATION_SAMPLE=${MUTATION_SAMPLE:-5}
.venv/bin/python -m pytest -q || status=$?
# Integration tests only: the unit tests use no database. Browser tests excluded: Chromium is slow, and
# what they do to the database the test-client integration tests do too. The --postgres run itself skips
# tests that use no database (tests/conftest.py), e.g. the production-server tests, whose gunicorn keeps
# its own SQLite data dir, and the long search-quality tests marked one_database: nothing there differs
# on PostgreSQL.
echo "== the integration tests again, on PostgreSQL"
.venv/bin/python -m pytest -q --postgres tests/integration -m "not browser" || status=$?
# Mutation testing (bench/mutation.py, cosmic-ray): a seeded sample of small bugs planted in each core module must
# be caught by that module's unit tests. A few minutes; the full run is in README.md ("Mutation testing").
echo "== mutation testing, a sample of $MUTATION_SAMPLE mutants per core module"
.venv/bin/python bench/mutation.py --sample "$MUTATION_SAMPLE" --budget-s 300 --min-kill-rate 0.85 \
  > "${TMPDIR:-/tmp}/videosearch-mutation.json" || status=$?
exit $status

#!/usr/bin/env bash
# Check a running server against its own OpenAPI schema (/api/schema/) with schemathesis: every operation,
# every check (server errors, undocumented codes, response bodies and types, valid input refused, invalid
# input accepted, ...), a bounded and repeatable number of cases. Exit status 0: no failure.
#
#   scripts/schemathesis.sh http://127.0.0.1:8000                  anonymous
#   API_TOKEN=<key> scripts/schemathesis.sh http://127.0.0.1:8000  with "Authorization: Token <key>"
#   SEED=7 MAX_EXAMPLES=100 scripts/schemathesis.sh URL            more cases, random ones from seed 7
#   scripts/schemathesis.sh URL --include-path /api/search/        any other `schemathesis run` option
#
#   MAX_EXAMPLES   cases per operation and phase                  (default 30)
#   SEED           random cases from this seed                    (default: none, the same cases every run)
#   SCHEMATHESIS   the schemathesis executable                    (default .venv/bin/schemathesis)
#
# It creates, changes and deletes collections, videos and photos: run it against a throwaway database
# (tests/integration/test_api_schema.py does, with the `demo` collection seeded). Settings, and why some
# operations may answer schema-valid input with 400: scripts/schemathesis.toml.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
url=${1:?usage: scripts/schemathesis.sh BASE_URL [schemathesis run options]}
shift
options=(--generation-deterministic)
if [[ -n "${SEED:-}" ]]; then
  options=(--seed "$SEED")
fi
if [[ -n "${API_TOKEN:-}" ]]; then
  options+=(--header "Authorization: Token ${API_TOKEN}")
fi
exec "${SCHEMATHESIS:-$here/../.venv/bin/schemathesis}" --config-file "$here/schemathesis.toml" run "${url%/}/api/schema/" \
  --checks all \
  --max-examples "${MAX_EXAMPLES:-30}" \
  --no-shrink \
  --workers 1 \
  --request-timeout 60 \
  "${options[@]}" \
  "$@"

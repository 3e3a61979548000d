#!/usr/bin/env bash
# Set up a fresh machine: system packages (ffmpeg, redis-server, chromium, postgresql), a virtualenv with every
# Python dependency (ruclip's special steps included) and the database. Safe to run again: steps
# that are already done are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v chromium >/dev/null || need_apt+=(chromium)
# PostgreSQL for the tests' second pass (they start a throwaway server of their own). Debian keeps initdb and
# pg_ctl in /usr/lib/postgresql/<version>/bin, off PATH; `postgresql` is Debian's supported version (15 on 12).
command -v initdb >/dev/null || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || need_apt+=(postgresql)
# Tesseract with its English and Russian data reads on-screen text; DejaVu and Liberation draw the evaluation's
# burned-in text.
command -v tesseract >/dev/null || need_apt+=(tesseract-ocr)
for data in eng rus; do
  compgen -G "/usr/share/tesseract-ocr/*/tessdata/$data.traineddata" >/dev/null || need_apt+=("tesseract-ocr-$data")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
[ -f /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || need_apt+=(fonts-liberation)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing system packages: ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
PIP=(.venv/bin/python -m pip install -q --disable-pip-version-check)

stamp=.venv/.videosearch-deps
want=$(cat requirements.txt requirements-dev.txt scripts/setup.sh | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "== installing Python packages (torch first: a large download on a new machine)"
  "${PIP[@]}" torch==2.14.1 torchvision==0.29.1
  "${PIP[@]}" -r requirements.txt -r requirements-dev.txt
  # ruclip 0.0.2 pins an old huggingface-hub; its tokenizer youtokentome builds only with Cython<3
  # and without build isolation. ruclip itself goes in without its pins (see docs/models.md).
  "${PIP[@]}" "cython<3"
  "${PIP[@]}" --no-build-isolation youtokentome
  "${PIP[@]}" --no-deps ruclip==0.0.2
  echo "$want" > "$stamp"
fi

# Browser-quality tools (bench/web_quality.py, tests/e2e/test_web_quality.py): Lighthouse and axe-core at the
# versions tools/web/package-lock.json pins, installed into tools/web/node_modules (git-ignored) once per lock.
if ! command -v npm >/dev/null; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm >/dev/null
fi
web_stamp=tools/web/node_modules/.videosearch-lock
web_want=$(sha256sum < tools/web/package-lock.json | cut -c1-16)
if [ "$(cat "$web_stamp" 2>/dev/null)" != "$web_want" ]; then
  echo "== installing the web-quality tools (npm ci in tools/web: Lighthouse, axe-core)"
  npm ci --prefix tools/web --no-audit --no-fund --loglevel=error
  echo "$web_want" > "$web_stamp"
fi

.venv/bin/python manage.py migrate --noinput -v 0
echo "== setup done"

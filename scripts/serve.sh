#!/usr/bin/env bash
# Production web server: apply migrations, collect static files (hashed names, gzip and Brotli copies), then run
# gunicorn in the foreground (exec, so SIGTERM from a supervisor reaches it and stops it gracefully).
#
#   VIDEOSEARCH_BIND                   address to listen on            (default 127.0.0.1:8000; a proxy in front)
#   VIDEOSEARCH_WEB_WORKERS            gunicorn worker processes       (default 2; each loads the model once)
#   VIDEOSEARCH_WEB_THREADS            threads per worker              (default 4)
#   VIDEOSEARCH_WEB_TIMEOUT            seconds a silent worker lives   (default 120)
#   VIDEOSEARCH_WEB_GRACEFUL_TIMEOUT   seconds to finish requests on SIGTERM (default 30)
#   PYTHON                             interpreter                     (default .venv/bin/python)
# Everything else (DJANGO_*, VIDEOSEARCH_*, DATABASE_URL, REDIS_URL) is read by videosearch/settings.py.
# Extra gunicorn options: GUNICORN_CMD_ARGS, FORWARDED_ALLOW_IPS (gunicorn reads them itself). No control
# socket: by default every gunicorn on a host would share ~/.gunicorn/gunicorn.ctl.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
export VIDEOSEARCH_STATIC_MANIFEST=1

"$PYTHON" manage.py migrate --noinput -v 0
"$PYTHON" manage.py collectstatic --noinput -v 0
exec "$PYTHON" -m gunicorn videosearch.wsgi:application \
  --bind "${VIDEOSEARCH_BIND:-127.0.0.1:8000}" \
  --workers "${VIDEOSEARCH_WEB_WORKERS:-2}" \
  --threads "${VIDEOSEARCH_WEB_THREADS:-4}" \
  --timeout "${VIDEOSEARCH_WEB_TIMEOUT:-120}" \
  --graceful-timeout "${VIDEOSEARCH_WEB_GRACEFUL_TIMEOUT:-30}" \
  --access-logfile - \
  --error-logfile - \
  --no-control-socket

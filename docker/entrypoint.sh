#!/bin/sh
# Container entrypoint: one image, several roles.
#
#   web (default)   gunicorn serving helpline.wsgi:application on 0.0.0.0:8000
#   worker          celery -A helpline worker; "worker --queues A,B" takes those queues
#                   (helpline/celery.py names them; docker-compose.yml runs one worker per kind)
#   beat            celery -A helpline beat, schedule under $HELPLINE_VAR_DIR/beat
#   migrate         python manage.py migrate --noinput, as the owner of the tables
#                   (DATABASE_OWNER_URL); it then grants DATABASE_URL's role what the app needs
#   manage ARGS     python manage.py ARGS
#   healthcheck     exit 0 if GET /healthz on this container answers 200
#   anything else   run as given (e.g. "sh", "python manage.py shell")
#
# Extra arguments after web/worker/beat are passed on to gunicorn/celery.
# Environment:
#   GUNICORN_WORKERS      gunicorn worker processes (default 2: one a core on two cores)
#   GUNICORN_THREADS      threads of each worker process (default 4), which take the next
#                         request while one waits on the database
#   FORWARDED_ALLOW_IPS   front ends trusted for X-Forwarded-Proto etc. (gunicorn
#                         --forwarded-allow-ips; IPs or CIDRs, comma separated,
#                         "*" for any; default 127.0.0.1,::1)
#   GUNICORN_CMD_ARGS     any further gunicorn options, read by gunicorn itself
#   LOG_LEVEL             celery log level (default INFO)
set -eu

role="${1:-web}"
if [ "$#" -gt 0 ]; then shift; fi

case "$role" in
    web)
        # Each start with an empty folder for the processes' Prometheus figures (helpline/metrics.py).
        if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
            rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        fi
        exec gunicorn helpline.wsgi:application \
            --bind 0.0.0.0:8000 \
            --worker-class gthread \
            --workers "${GUNICORN_WORKERS:-2}" \
            --threads "${GUNICORN_THREADS:-4}" \
            --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-127.0.0.1,::1}" \
            --worker-tmp-dir /dev/shm \
            "$@"
        ;;
    worker)
        if [ -n "${PROMETHEUS_MULTIPROC_DIR:-}" ]; then
            rm -rf "$PROMETHEUS_MULTIPROC_DIR" && mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
        fi
        exec celery -A helpline worker --loglevel "${LOG_LEVEL:-INFO}" "$@"
        ;;
    beat)
        exec celery -A helpline beat --loglevel "${LOG_LEVEL:-INFO}" \
            --schedule "${HELPLINE_VAR_DIR:-/app/var}/beat/celerybeat-schedule" "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    healthcheck)
        # Django answers 400 to a Host header outside ALLOWED_HOSTS, so ask for
        # the first configured host name (".example.org" -> "example.org").
        exec python - <<'PY'
import os, sys, urllib.request

hosts = [h.strip().lstrip(".") for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",")]
host = next((h for h in hosts if h and h != "*"), "localhost")
request = urllib.request.Request("http://127.0.0.1:8000/healthz", headers={"Host": host})
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:
    print(f"healthz: {error}", file=sys.stderr)
    sys.exit(1)
PY
        ;;
    *)
        exec "$role" "$@"
        ;;
esac

#!/usr/bin/env bash
# Load benchmark: gunicorn with production settings on DATABASE_URL, 50 locust users for 60 seconds,
# then a table per request: count, failures, median, p95 and PASS/FAIL against the targets
# (no failure, median < 100 ms, p95 < 300 ms). A benchmark, not a test: it writes cases, steps,
# referral moves, tokens and sessions, so point it at a throwaway copy of a generated database.
#
#   DATABASE_URL=postgres://postgres@127.0.0.1:5432/helpline_load devtools/loadtest/run.sh
#
# Settings: USERS (50), SPAWN_RATE (10), DURATION (60s), WARMUP (90s, 0 for none), PORT (8765), WORKERS (2), THREADS (4), as
# docker-compose.yml runs gunicorn, and CACHE_URL (none: sessions in the database; compose uses Redis).
set -euo pipefail

cd "$(dirname "$0")/../.."
: "${DATABASE_URL:?set DATABASE_URL to a throwaway copy of a database with generated cases}"
USERS="${USERS:-50}" SPAWN_RATE="${SPAWN_RATE:-10}" DURATION="${DURATION:-60s}" WARMUP="${WARMUP:-90s}"
PORT="${PORT:-8765}" WORKERS="${WORKERS:-2}" THREADS="${THREADS:-4}"
BIN=.venv/bin

WORK="$(mktemp -d "${TMPDIR:-/tmp}/helpline-load.XXXXXX")"
export DATABASE_URL
export DJANGO_ENV=production
export DJANGO_SECRET_KEY="$("$BIN/python" -c 'import secrets; print(secrets.token_urlsafe(48))')"
export DJANGO_ALLOWED_HOSTS=127.0.0.1
export HELPLINE_VAR_DIR="$WORK/var"   # static files, celery queue: kept out of the checkout
export LOG_LEVEL=WARNING
export LOADTEST_DATA="$WORK/data.json"

"$BIN/python" manage.py collectstatic --noinput -v 0
"$BIN/python" devtools/loadtest/prepare.py "$LOADTEST_DATA"

"$BIN/gunicorn" helpline.wsgi:application --bind "127.0.0.1:$PORT" --workers "$WORKERS" --threads "$THREADS" \
    --forwarded-allow-ips 127.0.0.1 --worker-tmp-dir /dev/shm --log-level warning &
GUNICORN=$!
trap 'kill "$GUNICORN" 2>/dev/null; wait "$GUNICORN" 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null && break
    sleep 0.2
done

# Each web process takes in the statistics store when it starts (gunicorn.conf.py), which at a million cases holds
# up its requests for about half a minute; the figures are of the app once it has, as it runs all day, so a first
# run of WARMUP (90s) is not counted. The warm-up moved referrals: the counted run is given those still movable.
if [ "$WARMUP" != "0" ]; then
    "$BIN/locust" -f devtools/loadtest/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" -t "$WARMUP" \
        --host "http://127.0.0.1:$PORT" --only-summary --loglevel ERROR >/dev/null 2>&1 || true
    "$BIN/python" devtools/loadtest/prepare.py "$LOADTEST_DATA"
fi
"$BIN/locust" -f devtools/loadtest/locustfile.py --headless -u "$USERS" -r "$SPAWN_RATE" -t "$DURATION" \
    --host "http://127.0.0.1:$PORT" --csv "$WORK/load" --only-summary --loglevel WARNING >"$WORK/locust.log" 2>&1 ||
    true
grep -E "Error|Traceback" "$WORK/locust.log" | head -20 || true

"$BIN/python" - "$WORK/load_stats.csv" "$WORK/load_failures.csv" <<'EOF'
import csv
import sys

MEDIAN_MS, P95_MS = 100, 300
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"{'request':<34}{'count':>7}{'fail':>6}{'req/s':>7}{'median':>8}{'p95':>7}{'p99':>7}{'max':>7}  verdict")
ok = True
for row in rows:
    name = row["Name"] if row["Name"] != "Aggregated" else "all requests"
    count, failures = int(row["Request Count"]), int(row["Failure Count"])
    median, p95 = float(row["50%"] or 0), float(row["95%"] or 0)
    verdict = "PASS" if failures == 0 and median < MEDIAN_MS and p95 < P95_MS else "FAIL"
    if name != "all requests":
        ok = ok and verdict == "PASS"
    print(
        f"{name:<34}{count:>7}{failures:>6}{float(row['Requests/s']):>7.1f}{median:>8.0f}{p95:>7.0f}"
        f"{float(row['99%'] or 0):>7.0f}{float(row['Max Response Time']):>7.0f}  {verdict}"
    )
print(f"targets: no failure, median < {MEDIAN_MS} ms, p95 < {P95_MS} ms (milliseconds)")
for failure in csv.DictReader(open(sys.argv[2])):
    print(f"failure: {failure['Method']} {failure['Name']}: {failure['Error']} x{failure['Occurrences']}")
print("all targets met" if ok else "targets NOT met")
EOF

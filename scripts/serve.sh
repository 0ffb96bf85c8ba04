#!/usr/bin/env bash
# Serve Taskboard: the web server (waitress) and the queue worker (`flask worker`: mail and
# periodic jobs) side by side, in the foreground. Ctrl-C (or SIGTERM) stops both; if either
# one exits, the other is stopped too. Expects a set-up .venv/ and a migrated database:
# scripts/run.sh does both, then runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

export FLASK_APP=wsgi
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
if [ "${TASKBOARD_ENV:-}" = "production" ]; then HOST=0.0.0.0; fi

worker_pid=
web_pid=
stop() {
  trap - INT TERM EXIT
  for pid in $web_pid $worker_pid; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in $web_pid $worker_pid; do wait "$pid" 2>/dev/null || true; done
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

.venv/bin/flask worker &
worker_pid=$!
# waitress refuses bodies far past the largest upload before it buffers them; the app
# answers anything over ATTACHMENT_MAX_BYTES with its own 413.
max_body=$(( ${ATTACHMENT_MAX_BYTES:-26214400} * 2 + 1048576 ))
.venv/bin/waitress-serve --listen "$HOST:$PORT" --max-request-body-size="$max_body" wsgi:app &
web_pid=$!
echo "Taskboard is at http://$HOST:$PORT/  (API docs: http://$HOST:$PORT/api/docs/)"
echo "Web server pid $web_pid, worker pid $worker_pid. Ctrl-C stops both."

while kill -0 "$web_pid" 2>/dev/null && kill -0 "$worker_pid" 2>/dev/null; do
  sleep 1
done
echo "The web server or the worker stopped; stopping Taskboard." >&2
exit 1

#!/usr/bin/env bash
# Set up everything and start Taskboard: a virtualenv with the pinned requirements,
# the database migrated, a demo account, then the web server (waitress) and the queue
# worker (`flask worker`: mail and periodic jobs) side by side. Ctrl-C stops both.
# Settings come from the environment or a .env file; with none, the embedded defaults
# apply (SQLite and queue under instance/, mail written to instance/outbox/).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
"$PYTHON" - <<'PY' || { echo "Taskboard needs Python 3.11 or newer ($PYTHON is older)." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY

if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv/ …"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements.sha256
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "Installing the requirements …"
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements.txt
  echo "$want" > "$stamp"
fi

export FLASK_APP=wsgi
.venv/bin/flask db upgrade
if [ "${TASKBOARD_ENV:-}" != "production" ]; then .venv/bin/flask demo seed; fi

exec bash scripts/serve.sh

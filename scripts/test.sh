#!/usr/bin/env bash
# Run the whole test suite: lint, then pytest on SQLite and PostgreSQL, the queue on Redis,
# the pages in headless Chromium.
# Installs what it needs (virtualenv, dev requirements) and starts the local PostgreSQL and
# Redis servers when they are installed but not running. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.requirements-dev.sha256
want=$(cat requirements.txt requirements-dev.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r requirements-dev.txt
  echo "$want" > "$stamp"
fi

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
apt_updated=
apt_install() {
  [ -n "$apt_updated" ] || { as_root apt-get update -qq; apt_updated=1; }
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

postgres_up() { .venv/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 user=postgres dbname=postgres connect_timeout=2').close()" 2>/dev/null; }
redis_up() { .venv/bin/python -c "import redis; redis.Redis(host='127.0.0.1', socket_connect_timeout=2).ping()" 2>/dev/null; }

if ! postgres_up; then
  echo "Starting PostgreSQL …"
  if [ ! -d /etc/postgresql ]; then apt_install postgresql || true; fi
  for version in $(ls /etc/postgresql 2>/dev/null); do
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  done
  for _ in $(seq 30); do postgres_up && break; sleep 1; done
fi
if ! redis_up; then
  echo "Starting Redis …"
  command -v redis-server >/dev/null || apt_install redis-server || true
  as_root mkdir -p /var/lib/redis /var/log/redis || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || true
  for _ in $(seq 30); do redis_up && break; sleep 1; done
fi

# The browser tests drive Debian's chromium (Playwright's own download is not used).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  echo "Installing chromium …"
  apt_install chromium || echo "chromium could not be installed; the browser tests will say so"
fi

echo "ruff check …"
.venv/bin/ruff check taskboard tests bench migrations/env.py wsgi.py
# On every core (TEST_WORKERS=0: in this one process). The longest tests start first
# (tests/conftest.py); a worker that runs out takes over the end of another's queue.
echo "pytest …"
exec .venv/bin/pytest -n "${TEST_WORKERS:-auto}" --dist worksteal "$@"

"""The entry point: `waitress-serve wsgi:app`, `flask --app wsgi …`, `huey_consumer wsgi.huey`."""

import sys

from taskboard import create_app
from taskboard.config import ConfigError
from taskboard.queue import huey

try:
    app = create_app()
except ConfigError as exc:
    # One readable line for the operator instead of a traceback from waitress or flask.
    sys.exit(f"Taskboard cannot start: {exc}")

__all__ = ["app", "huey"]

"""The WSGI entry point: `waitress-serve wsgi:app`, `flask --app wsgi …`."""

import sys

from taskboard import create_app
from taskboard.config import ConfigError

try:
    app = create_app()
except ConfigError as exc:
    # One readable line for the operator instead of a traceback from waitress or flask.
    sys.exit(f"Taskboard cannot start: {exc}")

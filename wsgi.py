"""The entry point: `waitress-serve wsgi:app`, `flask --app wsgi …`, `huey_consumer wsgi.huey`."""

from taskboard import create_app
from taskboard.queue import huey

app = create_app()

__all__ = ["app", "huey"]

"""The WSGI entry point: `waitress-serve wsgi:app`, `flask --app wsgi …`."""

from taskboard import create_app

app = create_app()

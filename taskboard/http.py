"""Per-request plumbing: one log line per request and the security headers."""

from __future__ import annotations

import logging
import re
import sys
import time

from flask import Flask, Response, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

log = logging.getLogger("taskboard.request")

CSP = (
    "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'"
)
# Swagger UI and ReDoc style their widgets inline and render images from data: URIs.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "worker-src 'self' blob:; base-uri 'self'; frame-ancestors 'none'; object-src 'none'"
)
# Secrets travel in some paths (reset and confirmation links); never write them to a log.
_SECRET_PATH = re.compile(r"^(/(?:reset-password|confirm-email)/)[^/]+")


def loggable_path(path: str) -> str:
    return _SECRET_PATH.sub(r"\1[redacted]", path)


def _configure_logging(app: Flask) -> None:
    root = logging.getLogger()
    if not any(getattr(h, "_taskboard", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler._taskboard = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def _start_timer() -> None:
    g.request_started = time.perf_counter()


def _finish(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", g.get("csp", CSP))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    started = g.get("request_started")
    elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
    log.info(
        "%s %s %s %.1fms",
        request.method,
        loggable_path(request.path),
        response.status_code,
        elapsed,
    )
    return response


def _trust_proxies(app: Flask) -> None:
    """Believe X-Forwarded-* only from the configured number of proxies, and only then."""
    hops = app.config.get("TRUSTED_PROXIES", 0)
    if hops > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops
        )


def init_app(app: Flask) -> None:
    _configure_logging(app)
    _trust_proxies(app)
    app.before_request(_start_timer)
    app.after_request(_finish)

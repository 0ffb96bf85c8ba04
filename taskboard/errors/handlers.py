"""Every error's answer, in one place: JSON in flask-smorest's shape for the API, an HTML
page (or an htmx notice) for the pages.

A domain error (`NotFound`, `Forbidden`, `Invalid` …) raised by a service, an HTTP error
raised by Flask or a library, and a refused CSRF token all end here; adding an error is
one class in `taskboard.errors` and, where its answer differs, one line below.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, MethodNotAllowed
from werkzeug.http import HTTP_STATUS_CODES

from ..connection import SAFE_METHODS
from . import DomainError

log = logging.getLogger("taskboard.errors")

CSRF_MESSAGE = (
    "This page is out of date or the form did not come from Taskboard. "
    "Reload the page and try again."
)


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors; pages get HTML."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


# The API -----------------------------------------------------------------------------


def error_payload(code: int, message: str | None = None, errors: Any = None) -> dict[str, Any]:
    """flask-smorest's error shape: {code, status, message?, errors?}."""
    payload: dict[str, Any] = {"code": code, "status": HTTP_STATUS_CODES.get(code, "Error")}
    if message:
        payload["message"] = message
    if errors:
        payload["errors"] = errors
    return payload


def domain_error_response(error: DomainError) -> tuple[dict[str, Any], int, dict[str, str]]:
    errors = None
    if error.status in (409, 422) and error.field:
        # A GET has only its query string to be wrong in; a DELETE its query string (the
        # only input it takes); every other method, its body.
        query = request.method in SAFE_METHODS or request.method == "DELETE"
        location = "query" if query else "json"
        errors = {location: {error.field: [error.message]}}
    headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
    return error_payload(error.status, error.message, errors), error.status, headers


def http_error_response(
    error: HTTPException, smorest_answer: Callable[[HTTPException], Any]
) -> Any:
    """An HTTP error (404, 405, 413, 429 …): flask-smorest's JSON for the API, with the
    headers its clients need; the error page for the pages."""
    allow = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        allow = {"Allow": ", ".join(sorted(error.valid_methods))}
    if not wants_json():
        body, code, headers = render_error_page(error.code or 500, error.description)
        return body, code, {**headers, **allow}
    payload, code, headers = smorest_answer(error)
    headers = {**(headers or {}), **allow}
    if code == 401:
        headers = {**headers, "WWW-Authenticate": "Bearer"}
    if code == 429 and error.description and "message" not in payload:
        payload = {**payload, "message": error.description}
    return payload, code, headers


# The pages ---------------------------------------------------------------------------


def render_error_page(code: int, message: str | None = None) -> Any:
    """The error page; to an htmx request, no swap and an event the page shows as a notice."""
    if request.headers.get("HX-Request") == "true":
        text = message or "Something went wrong."
        if request.method == "GET" and request.headers.get("HX-Target") == "div#board":
            # The board itself is gone for this viewer (deleted, or they were removed):
            # reload, so the page says so instead of polling on.
            return text, code, {"HX-Refresh": "true", "Vary": "HX-Request"}
        events: dict[str, str] = {"show-error": text}
        if request.method != "GET":
            events["board-changed"] = ""  # what failed may be stale: fetch the board anew
        headers = {
            "HX-Reswap": "none",
            "HX-Trigger": json.dumps(events),
            "Vary": "HX-Request",
        }
        return text, code, headers
    try:
        page = render_template("errors/error.html", code=code, message=message)
    except Exception:
        # Whatever broke the request may break the page too: a bare page, never none.
        log.exception("the error page for a %d could not be rendered", code)
        page = _BARE_ERROR_PAGE.format(
            code=code, message=escape(message or "Something went wrong.")
        )
    return page, code, {"Vary": "HX-Request"}


_BARE_ERROR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error {code}</title>'
    '<link rel="stylesheet" href="/static/css/app.css"></head><body><main>'
    '<h1>Error {code}</h1><p>{message}</p><p><a href="/">Back to Taskboard</a></p>'
    "</main></body></html>"
)


# Both --------------------------------------------------------------------------------


def handle_domain_error(error: DomainError) -> Any:
    if wants_json():
        return domain_error_response(error)
    return render_error_page(error.status, error.message)


def handle_csrf_error(error: CSRFError) -> Any:
    """A form or htmx request without a valid token: 400, nothing changed, a plain reason."""
    return render_error_page(400, CSRF_MESSAGE)


def init_app(app: Flask) -> None:
    """Register the handlers; HTTP errors come through flask-smorest's `Api`
    (`extensions.Api`), which registers itself for every `HTTPException`."""
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(CSRFError, handle_csrf_error)

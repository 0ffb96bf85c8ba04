"""Extensions, created unbound here and bound to the app in the factory."""

from __future__ import annotations

import json
import logging
from typing import Any

import flask_login
from flask import Response, render_template, request
from flask.globals import request_ctx
from flask_mail import Mail
from flask_migrate import Migrate
from flask_smorest import Api as SmorestApi
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from markupsafe import escape
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from werkzeug.exceptions import HTTPException, MethodNotAllowed

log = logging.getLogger("taskboard.errors")

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class LoginManager(flask_login.LoginManager):
    """flask-login's, leaving an empty session alone after each request.

    Its after-request hook acts only on a session holding a remember-cookie instruction,
    yet it read every session to find out: an API request's empty one was then "accessed",
    which made every API answer `Vary: Cookie` and cost about 5 % of a one-task request.
    """

    def _update_remember_cookie(self, response: Response) -> Response:
        if not request_ctx._session:  # looked at without marking it accessed
            return response
        return super()._update_remember_cookie(response)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
mail = Mail()


def wants_json() -> bool:
    """API paths and clients that ask for JSON get JSON errors; pages get HTML."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


class Api(SmorestApi):
    """flask-smorest's Api, whose app-wide HTTPException handler answers pages in HTML."""

    def handle_http_exception(self, error: HTTPException) -> Any:
        allow = {}
        if isinstance(error, MethodNotAllowed) and error.valid_methods:
            allow = {"Allow": ", ".join(sorted(error.valid_methods))}
        if not wants_json():
            body, code, headers = render_error_page(error.code or 500, error.description)
            return body, code, {**headers, **allow}
        payload, code, headers = super().handle_http_exception(error)
        headers = {**(headers or {}), **allow}
        if code == 401:
            headers = {**headers, "WWW-Authenticate": "Bearer"}
        if code == 429 and error.description and "message" not in payload:
            payload = {**payload, "message": error.description}
        return payload, code, headers


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
        log.exception("the error page for a %d could not be rendered", code)
        page = _BARE_ERROR_PAGE.format(
            code=code, message=escape(message or "Something went wrong.")
        )
    return page, code, {"Vary": "HX-Request"}


_BARE_ERROR_PAGE = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error {code}</title>'
    '<link rel="stylesheet" href="/static/css/app.css"></head><body><main>'
    "<h1>Error {code}</h1><p>{message}</p><p><a href=\"/\">Back to Taskboard</a></p>"
    "</main></body></html>"
)


api = Api()

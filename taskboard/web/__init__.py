"""The HTML pages: session login, projects, the htmx board, the account."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, make_response, redirect, request
from flask_login import login_url

from ..extensions import login_manager
from ..limits import limit_per_caller
from ..services.attachments import human_size
from ..services.cards import is_due_soon, is_overdue
from . import card_html
from .clock import date_time, due_text, short_date
from .htmx import is_htmx


def _unauthorized() -> Response:
    """Pages send you to log in and back; an htmx fragment request reloads to the login page."""
    if is_htmx():
        current = request.headers.get("HX-Current-URL", "")
        parts = urlsplit(current)
        back = parts.path + (f"?{parts.query}" if parts.query else "") if parts.path else ""
        response = make_response("", 401)
        response.headers["HX-Redirect"] = login_url("/login", back) if back else "/login"
        return response
    back = request.full_path if request.query_string else request.path
    return redirect(login_url("/login", back))


def initials(name: str) -> str:
    parts = [p for p in name.replace("-", " ").split() if p]
    if not parts:
        return "?"
    if len(parts) == 1:
        return parts[0][:2].upper()
    return (parts[0][0] + parts[-1][0]).upper()


def _vary_on_htmx(response: Response) -> Response:
    """Every page may answer htmx differently (a fragment, a login redirect), so say so."""
    if not request.path.startswith(("/api/", "/static/")) and request.path != "/healthz":
        response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    from . import (
        account,
        attachments,
        auth,
        board,
        columns,
        integrations,
        notify,
        projects,
        transfer,
    )

    modules = (auth, projects, board, columns, attachments, integrations, notify, account, transfer)
    for module in modules:
        app.register_blueprint(module.bp)
        if module is not auth:  # sign-in pages have their own limits
            limit_per_caller(module.bp)
    login_manager.unauthorized_handler(_unauthorized)
    app.after_request(_vary_on_htmx)
    app.jinja_env.filters["initials"] = initials
    app.jinja_env.filters["short_date"] = short_date
    app.jinja_env.filters["date_time"] = date_time
    app.jinja_env.filters["due_text"] = due_text
    app.jinja_env.filters["file_size"] = human_size
    notify.init_app(app)
    app.jinja_env.tests["overdue"] = is_overdue
    app.jinja_env.tests["due_soon"] = is_due_soon
    app.jinja_env.globals["card_renderer"] = card_html.Cards

    # Pages reached from mailed links, with their own limits (the reset's, sign-in's).
    from . import invitations, recovery

    app.register_blueprint(recovery.bp)
    app.register_blueprint(invitations.bp)

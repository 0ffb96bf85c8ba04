"""Notifications in the browser: the inbox, its count in the header, the settings on
/account, watching and muting, and the one-click unsubscribe link from the mail."""

from __future__ import annotations

import uuid
import zoneinfo
from functools import lru_cache
from typing import Any

from flask import Blueprint, Flask, Response, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import DomainError, Gone, NotFound
from ..extensions import csrf
from ..services import inbox, preferences, unsubscribe
from .htmx import see_other

bp = Blueprint("web_notify", __name__)

PAGE = 50
KIND_LABELS = (
    ("assigned", "Being assigned to a task"),
    ("added_to_project", "Being added to a project"),
    ("commented", "Comments on my tasks"),
    ("moved_to_done", "My tasks moved to Done"),
    ("due_soon", "My tasks due within 24 hours"),
    ("watching", "Changes to tasks and projects I watch"),
)
LABELS = dict(KIND_LABELS)


@lru_cache(maxsize=1)
def zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def unread_notifications() -> int:
    """For the header of every page (a logged-in one)."""
    return inbox.unread_count(current_user) if current_user.is_authenticated else 0


@bp.get("/notifications")
@login_required
def show() -> Response:
    try:
        page = max(int(request.args.get("page", "1")), 1)
    except ValueError:
        page = 1
    found = inbox.entries(current_user, offset=(page - 1) * PAGE, limit=PAGE)
    return make_response(
        render_template(
            "notifications/inbox.html",
            entries=found.items,
            page=page,
            more=found.total > page * PAGE,
        )
    )


@bp.get("/notifications/badge")
@login_required
def badge() -> Response:
    """The header's link with the unread count: 304 while it stays the same."""
    count, tag = inbox.state(current_user)
    response = make_response(render_template("notifications/_badge.html", unread=count))
    response.set_etag(tag)
    response.headers["Cache-Control"] = "private, no-cache"
    return response.make_conditional(request)


@bp.post("/notifications/read")
@login_required
def mark_read() -> Response:
    everything = request.form.get("all") == "1"
    ids = []
    for raw in request.form.getlist("ids"):
        try:
            ids.append(uuid.UUID(raw))
        except ValueError:
            continue
    try:
        inbox.mark_read(current_user, ids=ids, everything=everything)
    except DomainError as error:
        flash(error.message, "error")
    return see_other("/notifications")


@bp.post("/account/notifications")
@login_required
def save_settings() -> Response:
    from .account import account_page

    form = request.form
    values: dict[str, Any] = {}
    if "mode" in form:
        values["mode"] = form["mode"]
    if "digest_hour" in form:
        raw = form["digest_hour"].strip()
        values["digest_hour"] = int(raw) if raw.lstrip("-").isdigit() else raw
    if "time_zone" in form:
        values["time_zone"] = form["time_zone"].strip()
    if "kinds-present" in form:
        chosen = set(form.getlist("kinds"))
        values["kinds"] = {kind: kind in chosen for kind in preferences.KINDS}
    try:
        preferences.update_settings(current_user, **values)
    except DomainError as error:
        shown = {**preferences.get_settings(current_user), **values}
        shown["kinds"] = values.get("kinds", shown["kinds"])
        return account_page(status=error.status, notify=shown, notify_error=error)
    flash("Notification settings saved.", "success")
    return see_other("/account#notifications")


def _follow(message: str, back: str) -> Response:
    flash(message, "success")
    return see_other(back)


@bp.post("/tasks/<uuid:task_id>/watch")
@login_required
def watch_task(task_id: uuid.UUID) -> Response:
    on = request.form.get("watch") != "off"
    preferences.watch_task(current_user, task_id, on)
    message = "You watch this task." if on else "You no longer watch this task."
    return _follow(message, f"/tasks/{task_id}")


@bp.post("/projects/<uuid:project_id>/follow")
@login_required
def follow_project(project_id: uuid.UUID) -> Response:
    state = request.form.get("state", "")
    if state in ("watch", "mute"):
        preferences.follow_project(current_user, project_id, state)
        message = "You watch this project." if state == "watch" else "Project muted."
    else:
        preferences.follow_project(current_user, project_id, None)
        message = "You no longer watch or mute this project."
    return _follow(message, f"/projects/{project_id}")


@bp.route("/unsubscribe/<unsubscribe_token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe_link(unsubscribe_token: str) -> Response:
    """GET asks (a scanner following links changes nothing); POST, with or without the
    RFC 8058 body, switches the kinds off."""
    try:
        if request.method == "POST":
            request.form.get("List-Unsubscribe")  # read: a body past the limit is 413
            user, kinds = unsubscribe.apply(unsubscribe_token)
        else:
            user, kinds = unsubscribe.read(unsubscribe_token)
    except (NotFound, Gone) as error:
        page = render_template("errors/error.html", code=error.status, message=error.message)
        return make_response(page, error.status)
    page = render_template(
        "notifications/unsubscribe.html",
        user=user,
        token=unsubscribe_token,
        labels=[LABELS.get(kind, kind) for kind in kinds],
        done=request.method == "POST",
    )
    response = make_response(page)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def follow_state(project_id: uuid.UUID, task_id: uuid.UUID | None = None) -> dict[str, bool]:
    """For the board and the detail: watching the project or task, muting the project."""
    return preferences.watching_state(current_user.id, project_id, task_id)


def init_app(app: Flask) -> None:
    app.jinja_env.globals["unread_notifications"] = unread_notifications
    app.jinja_env.globals["follow_state"] = follow_state

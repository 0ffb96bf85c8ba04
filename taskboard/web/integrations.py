"""Integrations in the browser: the calendar feed (and its section on /account), the
read-only board at /share/<token> (and its switch on the settings page), and webhooks
(managed from the settings page, one page each with its deliveries)."""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from flask import Blueprint, Response, current_app, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import DomainError, Forbidden, NotFound
from ..services import calendar, checklists, projects, sharing, tasks, webhooks
from ..services.task_reads import TaskFilter
from .htmx import confirm_page, see_other

bp = Blueprint("web_integrations", __name__)

SHOW_MAX = 1000


def _unlisted(response: Response) -> Response:
    """A page behind a secret link: not indexed, not cached, not leaked in a Referer."""
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


# The calendar feed -------------------------------------------------------------------


@bp.get("/calendar/<feed_token>.ics")
def calendar_feed(feed_token: str) -> Response:
    response = make_response(calendar.feed(feed_token))
    response.mimetype = "text/calendar"
    response.charset = "utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="taskboard.ics"'
    return _unlisted(response)


@bp.post("/account/calendar")
@login_required
def create_calendar() -> Response:
    calendar.create_feed(current_user)
    flash("Your calendar feed is ready: add its URL to your calendar app.", "success")
    return see_other("/account#calendar")


@bp.post("/account/calendar/revoke")
@login_required
def revoke_calendar() -> Response:
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question="Revoke your calendar feed?",
            consequence="Calendars subscribed to its URL stop getting your tasks.",
            action="/account/calendar/revoke",
            button="Revoke calendar feed",
            cancel="/account#calendar",
        )
    with contextlib.suppress(NotFound):  # revoked already: the same outcome
        calendar.revoke_feed(current_user)
    flash("Calendar feed revoked.", "success")
    return see_other("/account#calendar")


def calendar_url() -> str | None:
    """For the account page: the feed's URL, None without one."""
    try:
        return calendar.get_url(current_user)
    except NotFound:
        return None


# The read-only link ------------------------------------------------------------------


def _show(raw: str | None) -> tuple[uuid.UUID | None, int]:
    """`?show=<column id>:<count>`: one column shown longer."""
    column, _, count = (raw or "").partition(":")
    try:
        return uuid.UUID(column), max(1, min(int(count), SHOW_MAX))
    except ValueError:
        return None, 0


@bp.get("/share/<share_token>")
def shared_board(share_token: str) -> Response:
    shared = sharing.open_link(share_token)
    size = int(current_app.config["BOARD_COLUMN_PAGE"])
    column, count = _show(request.args.get("show"))
    wider = {column: count} if column is not None else None
    windows = tasks.board_windows(shared.reader, shared.project.id, TaskFilter(), size, wider)
    page = render_template(
        "share/board.html",
        project=shared.project,
        token=share_token,
        windows=windows,
        show_max=SHOW_MAX,
    )
    return _unlisted(make_response(page))


@bp.get("/share/<share_token>/tasks/<uuid:task_id>")
def shared_card(share_token: str, task_id: uuid.UUID) -> Response:
    shared = sharing.open_link(share_token)
    card = sharing.card(shared, task_id)
    page = render_template(
        "share/card.html",
        project=shared.project,
        token=share_token,
        task=card,
        checklist=checklists.list_items(shared.reader, card.id).items,
        comments=tasks.list_comments(shared.reader, card.id).items,
    )
    return _unlisted(make_response(page))


@bp.post("/projects/<uuid:project_id>/share")
@login_required
def share_on(project_id: uuid.UUID) -> Response:
    sharing.turn_on(current_user, project_id)
    flash("The read-only link is on: anyone who has it can see the board.", "success")
    return see_other(f"/projects/{project_id}/settings#share")


@bp.post("/projects/<uuid:project_id>/share/off")
@login_required
def share_off(project_id: uuid.UUID) -> Response:
    try:
        sharing.turn_off(current_user, project_id)
    except NotFound as error:
        if error.message != sharing.NOT_SHARED:
            raise
    flash("The read-only link is off; it no longer opens the board.", "success")
    return see_other(f"/projects/{project_id}/settings#share")


def share_url(project_id: uuid.UUID) -> str | None:
    try:
        return sharing.get_url(current_user, project_id)
    except NotFound:
        return None


# Webhooks ----------------------------------------------------------------------------


def webhook_form_values() -> dict[str, Any]:
    return {
        "url": request.form.get("url", ""),
        "events": request.form.getlist("events"),
        "secret": request.form.get("secret", ""),
    }


@bp.post("/projects/<uuid:project_id>/webhooks")
@login_required
def add_webhook(project_id: uuid.UUID) -> Response:
    from .projects import settings_page

    values = webhook_form_values()
    try:
        hook = webhooks.create(
            current_user,
            project_id,
            url=values["url"],
            events=values["events"],
            secret=values["secret"] or None,
        )
    except (NotFound, Forbidden):
        raise
    except DomainError as error:
        return settings_page(
            project_id, webhook_values=values, webhook_error=error, status=error.status
        )
    flash("Webhook added. Its secret signs every delivery; it is shown on its page.", "success")
    return see_other(f"/webhooks/{hook.id}")


def _webhook_page(hook_id: uuid.UUID, status: int = 200, **extra: Any) -> Response:
    hook = webhooks.get(current_user, hook_id)
    page = render_template(
        "share/webhook.html",
        hook=hook,
        project=projects.get_for_owner(current_user, hook.project_id),
        deliveries=webhooks.deliveries(current_user, hook_id),
        events=webhooks.EVENTS,
        **extra,
    )
    return make_response(page, status)


@bp.get("/webhooks/<uuid:webhook_id>")
@login_required
def webhook_page(webhook_id: uuid.UUID) -> Response:
    return _webhook_page(webhook_id)


@bp.post("/webhooks/<uuid:webhook_id>")
@login_required
def edit_webhook(webhook_id: uuid.UUID) -> Response:
    values = webhook_form_values()
    try:
        webhooks.update_webhook(
            current_user,
            webhook_id,
            url=values["url"],
            events=values["events"],
            secret=values["secret"] or None,
        )
    except (NotFound, Forbidden):
        raise
    except DomainError as error:
        return _webhook_page(webhook_id, error.status, values=values, error=error)
    flash("Webhook saved.", "success")
    return see_other(f"/webhooks/{webhook_id}")


@bp.post("/webhooks/<uuid:webhook_id>/active")
@login_required
def switch_webhook(webhook_id: uuid.UUID) -> Response:
    on = request.form.get("active") == "on"
    webhooks.update_webhook(current_user, webhook_id, active=on)
    flash("Webhook switched on." if on else "Webhook switched off.", "success")
    return see_other(f"/webhooks/{webhook_id}")


@bp.post("/webhooks/<uuid:webhook_id>/test")
@login_required
def test_webhook(webhook_id: uuid.UUID) -> Response:
    webhooks.send_test(current_user, webhook_id)
    flash("Test event queued; its delivery shows below in a moment.", "success")
    return see_other(f"/webhooks/{webhook_id}")


@bp.post("/webhooks/<uuid:webhook_id>/delete")
@login_required
def delete_webhook(webhook_id: uuid.UUID) -> Response:
    hook = webhooks.get(current_user, webhook_id)
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Delete the webhook to {hook.url}?",
            consequence="No more events go there; its delivery log goes too.",
            action=f"/webhooks/{webhook_id}/delete",
            button="Delete webhook",
            cancel=f"/webhooks/{webhook_id}",
        )
    project_id = hook.project_id
    webhooks.delete_webhook(current_user, webhook_id)
    flash("Webhook deleted.", "success")
    return see_other(f"/projects/{project_id}/settings#webhooks")

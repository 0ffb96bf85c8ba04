"""Notification settings, the inbox, watching and muting."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..services import inbox, preferences
from . import schemas as s
from .base import Blueprint, current_actor, paged

blp = Blueprint(
    "notify",
    __name__,
    url_prefix="/api/v1",
    description="Notification settings, the inbox, watching and muting",
)


@blp.route("/users/me/notification-settings")
class MySettings(MethodView):
    @blp.auth()
    @blp.response(200, s.NotificationSettingsSchema)
    def get(self) -> dict[str, Any]:
        """Your mail settings: mode, digest hour and time zone, each kind on or off"""
        return preferences.get_settings(current_actor())

    @blp.auth()
    @blp.arguments(s.NotificationSettingsSchema)
    @blp.response(200, s.NotificationSettingsSchema)
    @blp.errors(403)
    def patch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Change any of your mail settings; 422 for an unknown mode, kind or time zone,
        or an hour outside 0-23 (nothing changes then)"""
        return preferences.update_settings(current_actor(), **body)


@blp.route("/users/me/notifications")
class MyInbox(MethodView):
    @blp.auth()
    @blp.response(200, s.NotificationEntrySchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[inbox.Entry]:
        """Your inbox: every notification, mailed or not, newest first"""
        return paged(pagination_parameters, inbox.entries, current_actor())


@blp.route("/users/me/notifications/read")
class MarkRead(MethodView):
    @blp.auth()
    @blp.arguments(s.MarkReadSchema)
    @blp.response(200, s.UnreadSchema)
    @blp.errors(403)
    def post(self, body: dict[str, Any]) -> dict[str, int]:
        """Mark entries read (`ids`), or all of them (`all: true`); the unread count"""
        left = inbox.mark_read(
            current_actor(), ids=body.get("ids"), everything=bool(body.get("all"))
        )
        return {"unread": left}


def _watch_view(name: str, on: Any, off: Any, doc_on: str, doc_off: str) -> type[MethodView]:
    def put(self: Any, **ids: uuid.UUID) -> None:
        on(current_actor(), *ids.values())

    def delete(self: Any, **ids: uuid.UUID) -> None:
        off(current_actor(), *ids.values())

    put.__doc__, delete.__doc__ = doc_on, doc_off
    view = type(name, (MethodView,), {"put": put, "delete": delete})
    for method in ("put", "delete"):
        function = getattr(view, method)
        function = blp.errors(403, 404)(blp.response(204)(blp.auth()(function)))
        setattr(view, method, function)
    return view


blp.route("/tasks/<uuid:task_id>/watch")(
    _watch_view(
        "TaskWatch",
        lambda actor, task_id: preferences.watch_task(actor, task_id, True),
        lambda actor, task_id: preferences.watch_task(actor, task_id, False),
        "Watch a task: its comments, moves and edits reach you",
        "Stop watching a task",
    )
)
blp.route("/projects/<uuid:project_id>/watch")(
    _watch_view(
        "ProjectWatch",
        lambda actor, pid: preferences.follow_project(actor, pid, "watch"),
        lambda actor, pid: preferences.unfollow_project(actor, pid, "watch"),
        "Watch every task of a project",
        "Stop watching a project",
    )
)
blp.route("/projects/<uuid:project_id>/mute")(
    _watch_view(
        "ProjectMute",
        lambda actor, pid: preferences.follow_project(actor, pid, "mute"),
        lambda actor, pid: preferences.unfollow_project(actor, pid, "mute"),
        "Mute a project: no notification from it at all",
        "Unmute a project",
    )
)

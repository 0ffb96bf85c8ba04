"""A person's calendar feed: `/calendar/<token>.ics`, their assigned open tasks with a due
date as RFC 5545 events, for any calendar app to subscribe to.

The token is the user's id and feed number signed with the app's SECRET_KEY (never
stored); making a new feed takes the next number, so every earlier link answers 404, and
revoking clears it. Each task is one VEVENT with a stable UID (its id) and SEQUENCE (its
version), so a calendar updates an event in place when the task changes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flask import current_app
from icalendar import Calendar, Event
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, select

from ..errors import NotFound
from ..extensions import db
from ..models import Membership, Project, Task, TaskAssignee, User, utcnow
from .common import Actor

SALT = "taskboard.calendar"
NO_FEED = "No calendar feed; create one first."
NOT_FOUND = "No such calendar feed."
PRODID = "-//Taskboard//Calendar feed//EN"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def _url(user: User) -> str:
    token = _serializer().dumps({"u": str(user.id), "v": user.calendar_version})
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/calendar/{token}.ics"


def _user(actor: Actor) -> User:
    user = db.session.get(User, actor.id)
    if user is None:
        raise NotFound(NOT_FOUND)
    return user


def get_url(actor: Actor) -> str:
    """The feed's URL; NotFound when there is none."""
    user = _user(actor)
    if user.calendar_version is None:
        raise NotFound(NO_FEED)
    return _url(user)


def create_feed(actor: Actor) -> str:
    """A new secret URL; any earlier one stops working."""
    user = _user(actor)
    user.calendar_seq = (user.calendar_seq or 0) + 1
    user.calendar_version = user.calendar_seq
    db.session.commit()
    return _url(user)


def revoke_feed(actor: Actor) -> None:
    user = _user(actor)
    if user.calendar_version is None:
        raise NotFound(NO_FEED)
    user.calendar_version = None
    db.session.commit()


def owner_of(token: str) -> User:
    """The active user a feed token belongs to, if it is their current one."""
    try:
        data = _serializer().loads(token)
        user_id, version = uuid.UUID(data["u"]), int(data["v"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound(NOT_FOUND) from exc
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or user.calendar_version != version:
        raise NotFound(NOT_FOUND)
    return user


def _stamp(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def feed(token: str) -> bytes:
    """The iCalendar text of the feed: one event per assigned open task with a due date,
    in projects the user is still a member of."""
    user = owner_of(token)
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    rows = db.session.execute(
        select(Task, Project.title)
        .join(TaskAssignee, and_(TaskAssignee.task_id == Task.id, TaskAssignee.user_id == user.id))
        .join(Project, Project.id == Task.project_id)
        .join(
            Membership,
            and_(Membership.project_id == Task.project_id, Membership.user_id == user.id),
        )
        .where(Task.due_date.is_not(None), Task.status != "done")
        .order_by(Task.due_date, Task.id)
    ).all()
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"Taskboard: {user.name}")
    now = _stamp(utcnow())
    for task, project_title in rows:
        link = f"{base}/projects/{task.project_id}?task={task.id}"
        event = Event()
        event.add("uid", f"{task.id}@taskboard")
        event.add("dtstamp", now)
        event.add("dtstart", _stamp(task.due_date))  # a moment: when it is due
        event.add("summary", task.title)
        details = [f"Project: {project_title}", f"Status: {task.status_label}", link]
        if task.description:
            details.insert(0, task.description)
        event.add("description", "\n\n".join(details))
        event.add("url", link)
        event.add("categories", [project_title])
        event.add("sequence", task.version)
        event.add("last-modified", _stamp(task.updated_at))
        event.add("created", _stamp(task.created_at))
        calendar.add_component(event)
    return bytes(calendar.to_ical())

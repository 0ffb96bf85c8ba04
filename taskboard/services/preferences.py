"""What mail a person wants: a mode (instant, a daily digest, off), each kind on or off,
the projects and tasks they watch and the projects they mute.

Kinds and mode decide mail only: every notification still lands in the inbox, except
those of a muted project, which add nothing at all.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, bindparam, delete, select, update

from ..database import Prepared, read
from ..errors import Invalid
from ..extensions import db
from ..models import (
    Membership,
    Notification,
    ProjectFollow,
    Task,
    TaskAssignee,
    TaskWatch,
    User,
    utcnow,
)
from .common import UNSET, Actor

MODES = ("instant", "digest", "off")
# The kinds a person can switch off (account mail is always sent).
KINDS = ("assigned", "added_to_project", "commented", "moved_to_done", "due_soon", "watching")


# Settings -----------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise Invalid(
            f"Unknown time zone {name!r}; use a name like Europe/Berlin.", field="time_zone"
        ) from exc


def next_digest(hour: int, zone_name: str, after: datetime) -> datetime:
    """The first moment after `after` when it is `hour`:00 in the zone. One a local day:
    a day whose hour is skipped by a clock change gets it at the first moment after the
    gap; a day whose hour comes twice gets it the first time."""
    tz = zone(zone_name)
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(3):
        moment = datetime.combine(day, time(hour), tzinfo=tz)
        # zoneinfo reads a time in a gap with the offset before it; round trip to UTC
        # and back gives the moment it stands for.
        moment = moment.astimezone(ZoneInfo("UTC"))
        if moment > after:
            return moment
        day += timedelta(days=1)
    raise AssertionError("a digest hour always comes within three days")


def settings_of(user: User) -> dict[str, Any]:
    kinds = user.notify_kinds or {}
    return {
        "mode": user.notify_mode,
        "digest_hour": user.digest_hour,
        "time_zone": user.time_zone,
        "kinds": {kind: bool(kinds.get(kind, True)) for kind in KINDS},
    }


def _user(actor: Actor) -> User:
    user = db.session.get(User, actor.id)
    assert user is not None, "an actor is a user"
    return user


def get_settings(actor: Actor) -> dict[str, Any]:
    return settings_of(_user(actor))


def check_hour(hour: Any) -> int:
    if isinstance(hour, bool) or not isinstance(hour, int) or not 0 <= hour <= 23:
        raise Invalid("The digest hour must be a whole number from 0 to 23.", field="digest_hour")
    return hour


def check_kinds(kinds: Any) -> dict[str, bool]:
    if not isinstance(kinds, dict):
        raise Invalid("Kinds must be an object of kind: true or false.", field="kinds")
    for name, value in kinds.items():
        if name not in KINDS:
            raise Invalid(f"Unknown kind {name!r}; kinds are {', '.join(KINDS)}.", field="kinds")
        if not isinstance(value, bool):
            raise Invalid(f"The kind {name!r} must be true or false.", field="kinds")
    return dict(kinds)


def update_settings(
    actor: Actor,
    *,
    mode: Any = UNSET,
    digest_hour: Any = UNSET,
    time_zone: Any = UNSET,
    kinds: Any = UNSET,
) -> dict[str, Any]:
    """Change any of the settings; all are checked before anything changes."""
    user = _user(actor)
    if mode is not UNSET and mode not in MODES:
        raise Invalid(f"Unknown mode {mode!r}; modes are {', '.join(MODES)}.", field="mode")
    if digest_hour is not UNSET:
        digest_hour = check_hour(digest_hour)
    if time_zone is not UNSET:
        if not isinstance(time_zone, str) or not time_zone or len(time_zone) > 64:
            raise Invalid("Give a time zone name like Europe/Berlin.", field="time_zone")
        zone(time_zone)
    if kinds is not UNSET:
        kinds = check_kinds(kinds)
    before = user.notify_mode
    if digest_hour is not UNSET:
        user.digest_hour = digest_hour
    if time_zone is not UNSET:
        user.time_zone = time_zone
    if kinds is not UNSET:
        user.notify_kinds = {**(user.notify_kinds or {}), **kinds}
    if mode is not UNSET:
        user.notify_mode = mode
    released = _mode_changed(user, before)
    db.session.commit()
    if released:
        from .notifications import enqueue_delivery

        enqueue_delivery(released)
    return settings_of(user)


def _mode_changed(user: User, before: str) -> list[uuid.UUID]:
    """Keep the first wave's switch and the next digest in step with the mode. Leaving
    the digest, what waited for it goes out now (instant) or stays in the inbox (off).
    The ids to queue after the commit."""
    user.notifications = user.notify_mode != "off"
    now = utcnow()
    if user.notify_mode == "digest":
        user.digest_next_at = next_digest(user.digest_hour, user.time_zone, now)
        if before != "digest":  # what waits for its instant mail joins the digest
            db.session.execute(
                update(Notification)
                .where(
                    Notification.user_id == user.id,
                    Notification.status == "pending",
                    Notification.batch_id.is_(None),
                    Notification.kind.in_(KINDS),
                )
                .values(status="digest")
                .execution_options(synchronize_session=False)
            )
        return []
    user.digest_next_at = None
    if before != "digest":
        return []
    waiting = list(
        db.session.scalars(
            select(Notification.id).where(
                Notification.user_id == user.id, Notification.status == "digest"
            )
        )
    )
    if waiting:
        status = "pending" if user.notify_mode == "instant" else "inbox"
        db.session.execute(
            update(Notification)
            .where(Notification.id.in_(waiting))
            .values(status=status, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return waiting if user.notify_mode == "instant" else []


def set_mail(user: User, on: bool) -> None:
    """The first wave's on/off switch: off is mode off; on keeps a digest, else instant.
    Does not commit."""
    before = user.notify_mode
    if not on:
        user.notify_mode = "off"
    elif before == "off":
        user.notify_mode = "instant"
    _mode_changed(user, before)


def kinds_off(user: User, kinds: list[str]) -> list[str]:
    """Switch kinds off (the unsubscribe link): the known ones among them. Commits."""
    names = [kind for kind in dict.fromkeys(kinds) if kind in KINDS]
    user.notify_kinds = {**(user.notify_kinds or {}), **dict.fromkeys(names, False)}
    db.session.commit()
    return names


def muted(user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    follow = db.session.get(ProjectFollow, (user_id, project_id))
    return follow is not None and follow.state == "mute"


def muting(project_id: uuid.UUID) -> set[uuid.UUID]:
    """Who mutes the project (one query, for every recipient of a change)."""
    return set(
        db.session.scalars(
            select(ProjectFollow.user_id).where(
                ProjectFollow.project_id == project_id, ProjectFollow.state == "mute"
            )
        )
    )


def mail_status(
    user: User, setting: str, project_id: uuid.UUID | None, muted_ids: set[uuid.UUID]
) -> str | None:
    """What a new notification of this kind is for the user: None (they mute the
    project: no notification), "inbox" (no mail), "digest" or "pending" (instant mail).
    `muted_ids`: who mutes the project (`muting`)."""
    if project_id is not None and user.id in muted_ids:
        return None
    if user.notify_mode == "off" or not (user.notify_kinds or {}).get(setting, True):
        return "inbox"
    return "digest" if user.notify_mode == "digest" else "pending"


# Watching and muting ------------------------------------------------------------------


def watch_task(actor: Actor, task_id: uuid.UUID, on: bool) -> None:
    from .task_reads import get_for_member

    get_for_member(actor, task_id)
    if on:
        if db.session.get(TaskWatch, (actor.id, task_id)) is None:
            db.session.add(TaskWatch(user_id=actor.id, task_id=task_id, created_at=utcnow()))
    else:
        db.session.execute(
            delete(TaskWatch).where(TaskWatch.user_id == actor.id, TaskWatch.task_id == task_id)
        )
    db.session.commit()


def follow_project(actor: Actor, project_id: uuid.UUID, state: str | None) -> None:
    """Set the actor's state for the project: watch, mute, or None (neither)."""
    from .projects import check_member

    check_member(actor, project_id)
    follow = db.session.get(ProjectFollow, (actor.id, project_id))
    if state is None:
        if follow is not None:
            db.session.delete(follow)
    elif follow is None:
        db.session.add(
            ProjectFollow(user_id=actor.id, project_id=project_id, state=state, created_at=utcnow())
        )
    else:
        follow.state = state
    db.session.commit()


def unfollow_project(actor: Actor, project_id: uuid.UUID, state: str) -> None:
    """Stop watching (or muting): only that state is cleared."""
    from .projects import check_member

    check_member(actor, project_id)
    db.session.execute(
        delete(ProjectFollow).where(
            ProjectFollow.user_id == actor.id,
            ProjectFollow.project_id == project_id,
            ProjectFollow.state == state,
        )
    )
    db.session.commit()


def watching_state(user_id: uuid.UUID, project_id: uuid.UUID, task_id: uuid.UUID | None) -> dict:
    """For the pages: does the user watch the task, the project, mute the project."""
    row = read(_WATCHING_STATE, {"user_id": user_id, "project_id": project_id, "task_id": task_id})
    state = row.first()
    return {
        "task": task_id is not None and bool(state.task),
        "project": state.project == "watch",
        "muted": state.project == "mute",
    }


# Every board page and card detail shows it: one statement, built once.
_FOLLOWS, _WATCHES = ProjectFollow.__table__, TaskWatch.__table__
_WATCHING_STATE = Prepared(
    select(
        select(_FOLLOWS.c.state)
        .where(
            _FOLLOWS.c.user_id == bindparam("user_id"),
            _FOLLOWS.c.project_id == bindparam("project_id"),
        )
        .scalar_subquery()
        .label("project"),
        select(_WATCHES.c.task_id)
        .where(
            _WATCHES.c.user_id == bindparam("user_id"),
            _WATCHES.c.task_id == bindparam("task_id"),
        )
        .exists()
        .label("task"),
    )
)


def _watchers_query() -> Select:
    task, project = bindparam("task_id"), bindparam("project_id")
    ids = (
        select(TaskWatch.user_id.label("uid"))
        .where(TaskWatch.task_id == task)
        .union(
            select(ProjectFollow.user_id).where(
                ProjectFollow.project_id == project, ProjectFollow.state == "watch"
            ),
            select(TaskAssignee.user_id).where(TaskAssignee.task_id == task),
        )
        .subquery()
    )
    return (
        select(User)
        .join(ids, ids.c.uid == User.id)
        .join(Membership, (Membership.user_id == User.id) & (Membership.project_id == project))
        .where(User.is_active.is_(True))
        .order_by(User.id)
    )


# Built once: every change of a card asks it, and building it showed in the profile of a
# move (bench/costs.py --profile move) next to running it.
_WATCHERS = _watchers_query()


def watchers(task: Task) -> list[User]:
    """Who watches the task: its assignees, those watching it, those watching its project;
    members only, active accounts."""
    params = {"task_id": task.id, "project_id": task.project_id}
    return list(db.session.scalars(_WATCHERS, params))

"""Notifications: who is told what, written to the outbox in the transaction of the change.

The outbox rows are the truth. A use case adds them to its own transaction through an
`Outbox`, commits once, then `Outbox.dispatch()` hands the ids to the queue; the queue
only carries them. Sending is `delivery`'s work.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Comment, Notification, Project, Task, TaskAssignee, User, utcnow
from .common import Actor

log = logging.getLogger("taskboard.notifications")

COMMENT_EXCERPT = 1000


@dataclass(frozen=True)
class Kind:
    """A kind of mail: its subject (formatted with the row's payload), its templates
    (`templates/mail/<template>.txt` and `.html`), and whether it is `account` mail
    (password reset, email confirmation), which is sent whatever the user's notification
    preference. `context`, if given, adds to the templates' context at sending time, e.g.
    a signed link that should not sit in the database. `skip`, if given, is asked at
    sending time for a reason not to send the row (None: send it), e.g. an address that
    belongs to no account."""

    name: str
    subject: str
    template: str
    account: bool = False
    context: Callable[[Notification], dict[str, Any]] | None = None
    skip: Callable[[Notification], str | None] | None = None


KINDS: dict[str, Kind] = {}


def register_kind(
    name: str,
    subject: str,
    *,
    template: str | None = None,
    account: bool = False,
    context: Callable[[Notification], dict[str, Any]] | None = None,
    skip: Callable[[Notification], str | None] | None = None,
) -> Kind:
    kind = Kind(name, subject, template or name, account, context, skip)
    KINDS[name] = kind
    return kind


ASSIGNED = register_kind("assigned", "You were assigned to “{task_title}”")
ADDED_TO_PROJECT = register_kind(
    "added_to_project", "You were added to the project “{project_title}”"
)
COMMENTED = register_kind("commented", "New comment on “{task_title}”")
MOVED_TO_DONE = register_kind("moved_to_done", "“{task_title}” was moved to Done")
DUE_SOON = register_kind("due_soon", "“{task_title}” is due within 24 hours")
WATCHING = register_kind("watching", "{actor_name} {change} “{task_title}”{detail}")


def setting_of(kind: Kind) -> str:
    """The on/off switch a kind of mail answers to (`preferences.KINDS`)."""
    return kind.name


def coalesce_seconds() -> int:
    from flask import current_app

    return int(current_app.config["NOTIFY_COALESCE_SECONDS"])


def line(note: Notification) -> str:
    """One line saying what a notification is about: the inbox's entry, a line of a
    coalesced mail or of a digest."""
    p = note.payload or {}
    who, task, project = (
        p.get("actor_name", "Someone"),
        p.get("task_title", ""),
        p.get("project_title", ""),
    )
    if note.kind == ASSIGNED.name:
        return f"{who} assigned you to “{task}”"
    if note.kind == ADDED_TO_PROJECT.name:
        return f"{who} added you to the project “{project}”"
    if note.kind == COMMENTED.name:
        return f"{who} commented on “{task}”: {p.get('comment', '')}"
    if note.kind == MOVED_TO_DONE.name:
        return f"{who} moved “{task}” to Done"
    if note.kind == DUE_SOON.name:
        return f"“{task}” is due within 24 hours"
    if note.kind == WATCHING.name:
        return f"{who} {p.get('change', 'changed')} “{task}”{p.get('detail', '')}"
    kind = KINDS.get(note.kind)
    return kind.subject.format_map(_Blank(p)) if kind else note.kind


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


# Writing: the outbox of one use case ------------------------------------------------------


class Outbox:
    """The notifications raised by one use case: rows in its transaction, queued after commit.

    Usage: `outbox = Outbox()`, `outbox.assigned(...)` while changing things,
    `db.session.commit()`, then `outbox.dispatch()`.
    """

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []  # to send now (account mail)
        self.later: list[uuid.UUID] = []  # to send once their coalescing window is over
        self.hook_ids: list[uuid.UUID] = []
        self._muting: dict[uuid.UUID, set[uuid.UUID]] = {}  # project → who mutes it
        self._hooks: dict[uuid.UUID, list[Any]] = {}  # project → its active webhooks

    def read_hooks(self, project_id: uuid.UUID) -> None:
        """Read the project's webhooks now, before the board's write lock, so that the
        events of the change ask nothing while the lock is held. (A webhook added while
        the change runs is as if added just after it.)"""
        from . import webhooks

        self._hooks[project_id] = webhooks.active(project_id)

    def read_card_hooks(self, card_id: uuid.UUID) -> None:
        """`read_hooks` for the project of a card (a card stays in its project)."""
        from . import webhooks

        project_id, hooks = webhooks.active_for_card(card_id)
        if project_id is not None:
            self._hooks[project_id] = hooks

    def event(self, project_id: uuid.UUID, event: str, actor: Actor, **objects: Any) -> None:
        """A webhook event of the project (`webhooks.EVENTS`): a delivery row for each
        webhook that wants it, in this transaction, queued by `dispatch()`."""
        from . import webhooks  # webhooks registers its own mail kind here

        hooks = self._hooks.get(project_id)
        self.hook_ids.extend(webhooks.record(project_id, event, actor, objects, hooks))

    def add(
        self,
        kind: Kind,
        user: User | None,
        *,
        actor: Actor | None = None,
        project_id: uuid.UUID | None = None,
        task_id: uuid.UUID | None = None,
        email: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Notification | None:
        """Add one row, unless the rules say this user gets none (their own change, a
        deactivated account, a muted project). A notification row is also the user's
        inbox entry: one whose kind or mode says "no mail" is kept as "inbox", one for a
        digest as "digest"; instant mail waits NOTIFY_COALESCE_SECONDS for others to
        join it in one mail. Account mail goes out at once, whatever the settings.

        The mail goes to `email` if given (it need not be the user's address), else to the
        user's address at sending time."""
        if user is None and email is None:
            raise ValueError("a notification needs a user or an address")
        status = "pending"
        now = utcnow()
        due = now
        if user is not None:
            if actor is not None and user.id == actor.id:
                return None
            if not user.is_active:
                return None
            if not kind.account:
                from .preferences import mail_status, muting

                muted: set[uuid.UUID] = set()
                if project_id is not None:
                    if project_id not in self._muting:
                        self._muting[project_id] = muting(project_id)
                    muted = self._muting[project_id]
                found = mail_status(user, setting_of(kind), project_id, muted)
                if found is None:
                    return None
                status = found
                due = now + timedelta(seconds=coalesce_seconds())
        note = Notification(
            id=uuid.uuid4(),
            kind=kind.name,
            user_id=user.id if user is not None else None,
            email=email,
            project_id=project_id,
            task_id=task_id,
            payload=payload or {},
            status=status,
            attempts=0,
            next_attempt_at=due,
            created_at=now,
        )
        db.session.add(note)
        if status == "pending":
            (self.ids if due == now else self.later).append(note.id)
        return note

    def watching(
        self,
        task: Task,
        actor: Actor,
        change: str,
        detail: str = "",
        *,
        skip: Iterable[uuid.UUID] = (),
        extra: dict[str, Any] | None = None,
    ) -> None:
        """A change of a watched task (`change`: "commented on", "moved", "edited";
        `detail` follows the title, e.g. " to Done"): to its watchers and assignees,
        except those in `skip` (told of it by another kind)."""
        from .preferences import watchers

        told = set(skip)
        fields = None
        for user in watchers(task):
            if user.id in told or user.id == actor.id:
                continue
            if fields is None:  # the project's title is loaded only for someone to tell
                fields = _task_fields(task, actor)
                fields["payload"].update(change=change, detail=detail, **(extra or {}))
            self.add(WATCHING, user, actor=actor, **fields)

    def assigned(self, task: Task, users: Iterable[User], actor: Actor) -> None:
        self._tell(ASSIGNED, task, users, actor)

    def added_to_project(self, project: Project, user: User, actor: Actor) -> None:
        payload = {"project_title": project.title, "actor_name": actor.name}
        self.add(ADDED_TO_PROJECT, user, actor=actor, project_id=project.id, payload=payload)

    def commented(self, task: Task, comment: Comment, actor: Actor) -> None:
        body = comment.body
        if len(body) > COMMENT_EXCERPT:
            body = body[: COMMENT_EXCERPT - 1] + "…"
        self._tell(COMMENTED, task, task.assignees, actor, comment=body)
        skip = [user.id for user in task.assignees]
        self.watching(task, actor, "commented on", skip=skip, extra={"comment": body})

    def moved_to_done(self, task: Task, actor: Actor) -> None:
        self._tell(MOVED_TO_DONE, task, task.assignees, actor)

    def _tell(
        self, kind: Kind, task: Task, users: Iterable[User], actor: Actor, **extra: Any
    ) -> None:
        """One notification of `kind` about the task to each user but the actor."""
        fields = None
        for user in users:
            if user.id == actor.id:
                continue
            if fields is None:
                fields = _task_fields(task, actor)
                fields["payload"].update(extra)
            self.add(kind, user, actor=actor, **fields)

    def dispatch(self) -> None:
        """Queue delivery of what was added; call after the commit. Never raises: if the
        queue is down the rows stay pending and the sweep delivers them."""
        if self.ids:
            enqueue_delivery(self.ids)
            self.ids = []
        if self.later:
            enqueue_delivery(self.later, delay=coalesce_seconds() or None)
            self.later = []
        if self.hook_ids:
            from . import webhooks

            webhooks.enqueue(self.hook_ids)
            self.hook_ids = []


def _task_fields(task: Task, actor: Actor) -> dict[str, Any]:
    return {
        "project_id": task.project_id,
        "task_id": task.id,
        "payload": {
            "task_title": task.title,
            "project_title": task.project.title,
            "actor_name": actor.name,
        },
    }


class Carrier(Protocol):
    """What takes outbox ids to the workers: `taskboard.jobs` registers its job here."""

    def __call__(self, ids: list[str], *, delay: float | None = None) -> None: ...


_carrier: Carrier | None = None


def register_carrier(carrier: Carrier) -> None:
    """Set what `enqueue_delivery` hands ids to (the jobs module does, when imported)."""
    global _carrier
    _carrier = carrier


def enqueue_delivery(ids: Iterable[uuid.UUID], *, delay: float | None = None) -> bool:
    """Hand ids to the queue; False (logged) if the queue cannot take them."""
    keys = [str(note_id) for note_id in ids]
    if _carrier is None:
        log.warning("no queue is set up; the sweep will send %d notification(s)", len(keys))
        return False
    try:
        _carrier(keys, delay=delay)
    except Exception:  # the rows are safe in the database; the sweep sends them
        log.exception("could not queue %d notification(s); the sweep will send them", len(keys))
        return False
    return True


# Due-date reminders ------------------------------------------------------------------


REMINDER_WINDOW = timedelta(hours=24)


def queue_due_reminders(now: datetime | None = None) -> list[uuid.UUID]:
    """Write a reminder for each assignee of each task due within 24 hours and not done,
    once per task, due date and user; commit; queue them. The ids of the new ones that
    will be mailed (every new one is in its user's inbox)."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Task, User, Project.title)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .join(User, User.id == TaskAssignee.user_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Task.due_date > now,
            Task.due_date <= now + REMINDER_WINDOW,
            Task.status != "done",
            User.is_active.is_(True),
        )
        .order_by(Task.due_date, Task.id, User.id)
    ).all()
    from .preferences import mail_status, muting

    mutes: dict[uuid.UUID, set[uuid.UUID]] = {}
    values = []
    for task, user, project_title in rows:
        due = task.due_date
        assert due is not None
        if task.project_id not in mutes:
            mutes[task.project_id] = muting(task.project_id)
        status = mail_status(user, setting_of(DUE_SOON), task.project_id, mutes[task.project_id])
        if status is None:  # a muted project
            continue
        values.append(
            {
                "id": uuid.uuid4(),
                "kind": DUE_SOON.name,
                "user_id": user.id,
                "project_id": task.project_id,
                "task_id": task.id,
                "payload": {
                    "task_title": task.title,
                    "project_title": project_title,
                    "due_date": due.isoformat(),
                },
                "dedupe_key": f"due:{task.id}:{due.isoformat()}:{user.id}",
                "status": status,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    created = _insert_new(values)
    db.session.commit()
    made = set(created)
    to_send = [v["id"] for v in values if v["status"] == "pending" and v["id"] in made]
    if to_send:
        enqueue_delivery(to_send)
    # What will be mailed, now or in a digest (inbox-only reminders mail no one).
    return [v["id"] for v in values if v["status"] != "inbox" and v["id"] in made]


def _insert_new(values: list[dict[str, Any]]) -> list[uuid.UUID]:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING: two workers running the job at once
    write each reminder once. The ids actually inserted."""
    if not values:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(Notification)
        .values(values)
        .on_conflict_do_nothing(index_elements=["dedupe_key"])
        .returning(Notification.id)
    )
    return list(db.session.scalars(statement))

"""Notifications: who is told what (written to the outbox with the change), and delivery.

The outbox rows are the truth. A use case adds them to its own transaction through an
`Outbox`, commits once, then `Outbox.dispatch()` hands the ids to the queue; the queue
only carries them. Delivery claims a row with a conditional UPDATE, so two workers never
send the same row, and a periodic sweep sends whatever is still pending.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .. import mail
from ..extensions import db
from ..models import Comment, Membership, Notification, Project, Task, TaskAssignee, User, utcnow

log = logging.getLogger("taskboard.notifications")

COMMENT_EXCERPT = 1000
ERROR_MAX = 1000
SWEEP_STOP_AFTER_FAILURES = 3


@dataclass(frozen=True)
class Kind:
    """A kind of mail: its subject (formatted with the row's payload), its templates
    (`templates/mail/<template>.txt` and `.html`), and whether it is `account` mail
    (password reset, email confirmation), which is sent whatever the user's notification
    preference. `context`, if given, adds to the templates' context at sending time, e.g.
    a signed link that should not sit in the database."""

    name: str
    subject: str
    template: str
    account: bool = False
    context: Callable[[Notification], dict[str, Any]] | None = None


KINDS: dict[str, Kind] = {}


def register_kind(
    name: str,
    subject: str,
    *,
    template: str | None = None,
    account: bool = False,
    context: Callable[[Notification], dict[str, Any]] | None = None,
) -> Kind:
    kind = Kind(name, subject, template or name, account, context)
    KINDS[name] = kind
    return kind


ASSIGNED = register_kind("assigned", "You were assigned to “{task_title}”")
ADDED_TO_PROJECT = register_kind(
    "added_to_project", "You were added to the project “{project_title}”"
)
COMMENTED = register_kind("commented", "New comment on “{task_title}”")
MOVED_TO_DONE = register_kind("moved_to_done", "“{task_title}” was moved to Done")
DUE_SOON = register_kind("due_soon", "“{task_title}” is due within 24 hours")


# Writing: the outbox of one use case ------------------------------------------------------


class Outbox:
    """The notifications raised by one use case: rows in its transaction, queued after commit.

    Usage: `outbox = Outbox()`, `outbox.assigned(...)` while changing things,
    `db.session.commit()`, then `outbox.dispatch()`.
    """

    def __init__(self) -> None:
        self.ids: list[uuid.UUID] = []

    def add(
        self,
        kind: Kind,
        user: User | None,
        *,
        actor: User | None = None,
        project_id: uuid.UUID | None = None,
        task_id: uuid.UUID | None = None,
        email: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> Notification | None:
        """Add one row, unless the rules say this user gets no mail for it.

        The mail goes to `email` if given (it need not be the user's address), else to the
        user's address at sending time."""
        if user is None and email is None:
            raise ValueError("a notification needs a user or an address")
        if user is not None:
            if actor is not None and user.id == actor.id:
                return None
            if not user.is_active or (not kind.account and not user.notifications):
                return None
        now = utcnow()
        note = Notification(
            id=uuid.uuid4(),
            kind=kind.name,
            user_id=user.id if user is not None else None,
            email=email,
            project_id=project_id,
            task_id=task_id,
            payload=payload or {},
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(note)
        self.ids.append(note.id)
        return note

    def assigned(self, task: Task, users: Iterable[User], actor: User) -> None:
        for user in users:
            self.add(ASSIGNED, user, actor=actor, **_task_fields(task, actor))

    def added_to_project(self, project: Project, user: User, actor: User) -> None:
        payload = {"project_title": project.title, "actor_name": actor.name}
        self.add(ADDED_TO_PROJECT, user, actor=actor, project_id=project.id, payload=payload)

    def commented(self, task: Task, comment: Comment, actor: User) -> None:
        fields = _task_fields(task, actor)
        body = comment.body
        if len(body) > COMMENT_EXCERPT:
            body = body[: COMMENT_EXCERPT - 1] + "…"
        fields["payload"]["comment"] = body
        for user in task.assignees:
            self.add(COMMENTED, user, actor=actor, **fields)

    def moved_to_done(self, task: Task, actor: User) -> None:
        for user in task.assignees:
            self.add(MOVED_TO_DONE, user, actor=actor, **_task_fields(task, actor))

    def dispatch(self) -> None:
        """Queue delivery of what was added; call after the commit. Never raises: if the
        queue is down the rows stay pending and the sweep delivers them."""
        if self.ids:
            enqueue_delivery(self.ids)
            self.ids = []


def _task_fields(task: Task, actor: User) -> dict[str, Any]:
    return {
        "project_id": task.project_id,
        "task_id": task.id,
        "payload": {
            "task_title": task.title,
            "project_title": task.project.title,
            "actor_name": actor.name,
        },
    }


def enqueue_delivery(ids: Iterable[uuid.UUID], *, delay: float | None = None) -> bool:
    """Hand ids to the queue; False (logged) if the queue cannot take them."""
    from ..jobs import deliver_notifications

    keys = [str(note_id) for note_id in ids]
    try:
        if delay:
            deliver_notifications.schedule(args=(keys,), delay=delay)
        else:
            deliver_notifications(keys)
    except Exception:  # the rows are safe in the database; the sweep sends them
        log.exception("could not queue %d notification(s); the sweep will send them", len(keys))
        return False
    return True


# Due-date reminders ------------------------------------------------------------------


REMINDER_WINDOW = timedelta(hours=24)


def queue_due_reminders(now: datetime | None = None) -> list[uuid.UUID]:
    """Write a reminder for each assignee of each task due within 24 hours and not done,
    once per task, due date and user; commit; queue them. The new rows' ids."""
    now = now or utcnow()
    rows = db.session.execute(
        select(Task, User)
        .join(TaskAssignee, TaskAssignee.task_id == Task.id)
        .join(User, User.id == TaskAssignee.user_id)
        .join(Project, Project.id == Task.project_id)
        .where(
            Task.due_date > now,
            Task.due_date <= now + REMINDER_WINDOW,
            Task.status != "done",
            User.is_active.is_(True),
            User.notifications.is_(True),
        )
        .order_by(Task.due_date, Task.id, User.id)
    ).all()
    values = []
    for task, user in rows:
        due = task.due_date
        assert due is not None
        values.append(
            {
                "id": uuid.uuid4(),
                "kind": DUE_SOON.name,
                "user_id": user.id,
                "project_id": task.project_id,
                "task_id": task.id,
                "payload": {
                    "task_title": task.title,
                    "project_title": task.project.title,
                    "due_date": due.isoformat(),
                },
                "dedupe_key": f"due:{task.id}:{due.isoformat()}:{user.id}",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
        )
    created = _insert_new(values)
    db.session.commit()
    if created:
        enqueue_delivery(created)
    return created


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


# Delivery ----------------------------------------------------------------------------


def _settings() -> dict[str, int]:
    config = current_app.config
    return {
        "retry": config["NOTIFY_RETRY_SECONDS"],
        "retry_max": config["NOTIFY_RETRY_MAX_SECONDS"],
        "max_attempts": config["NOTIFY_MAX_ATTEMPTS"],
        "lease": config["NOTIFY_LEASE_SECONDS"],
    }


def _claimable(now: datetime, lease: int, max_attempts: int) -> Any:
    """Rows a worker may take now: pending and due, or left "sending" past the lease."""
    return and_(
        Notification.attempts < max_attempts,
        or_(
            and_(Notification.status == "pending", Notification.next_attempt_at <= now),
            and_(
                Notification.status == "sending",
                Notification.claimed_at < now - timedelta(seconds=lease),
            ),
        ),
    )


def claim(note_id: uuid.UUID, now: datetime) -> bool:
    """Take the row for this worker (pending → sending) and commit; False if not ours."""
    s = _settings()
    result = db.session.execute(
        update(Notification)
        .where(Notification.id == note_id, _claimable(now, s["lease"], s["max_attempts"]))
        .values(status="sending", claimed_at=now, attempts=Notification.attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def _finish(note_id: uuid.UUID, claim: datetime, **values: Any) -> bool:
    """Record the outcome of a claim, if the claim is still this worker's."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == note_id,
            Notification.status == "sending",
            Notification.claimed_at == claim,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != 1:
        log.warning("notification %s: claim lost before its outcome was recorded", note_id)
    return result.rowcount == 1


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: doubling, capped."""
    s = _settings()
    return min(s["retry"] * 2 ** max(attempts - 1, 0), s["retry_max"])


def deliver(note_id: uuid.UUID) -> str:
    """Send one notification if it is due and no one else has it.

    The outcome: "sent", "skipped", "retrying", "failed", or "not due" (sent already,
    taken by another worker, or waiting for its next try).
    """
    now = utcnow()
    if not claim(note_id, now):
        return "not due"
    note = db.session.get(Notification, note_id, populate_existing=True)
    assert note is not None
    reason = _skip_reason(note, now)
    if reason is not None:
        log.info("notification %s (%s) skipped: %s", note.id, note.kind, reason)
        _finish(note.id, now, status="skipped", last_error=reason, claimed_at=None)
        return "skipped"
    try:
        mail.send(build_mail(note))
    except mail.PermanentFailure as exc:
        return _give_up(note, now, exc)
    except Exception as exc:  # noqa: BLE001 - any failure to send is retried, then given up
        if note.attempts >= _settings()["max_attempts"]:
            return _give_up(note, now, exc)
        delay = retry_delay(note.attempts)
        log.warning(
            "notification %s: try %d failed (%s); next try in %ss",
            note.id,
            note.attempts,
            _describe(exc),
            delay,
        )
        _finish(
            note.id,
            now,
            status="pending",
            claimed_at=None,
            next_attempt_at=utcnow() + timedelta(seconds=delay),
            last_error=_describe(exc),
        )
        enqueue_delivery([note.id], delay=delay)
        return "retrying"
    _finish(note.id, now, status="sent", sent_at=utcnow(), claimed_at=None, last_error=None)
    return "sent"


def _give_up(note: Notification, now: datetime, exc: BaseException) -> str:
    log.error("notification %s: giving up after %d tries: %s", note.id, note.attempts, exc)
    _finish(note.id, now, status="failed", claimed_at=None, last_error=_describe(exc))
    return "failed"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:ERROR_MAX]


def _skip_reason(note: Notification, now: datetime) -> str | None:
    """Why this mail should no longer go out, if it should not: the world moved on."""
    kind = KINDS.get(note.kind)
    if kind is None:
        return f"unknown kind {note.kind!r}"
    user = note.user
    if user is not None:
        if not user.is_active:
            return "the recipient's account is deactivated"
        if not kind.account and not user.notifications:
            return "the recipient turned notifications off"
    if (
        user is not None
        and note.project_id is not None
        and db.session.get(Membership, (note.project_id, user.id)) is None
    ):
        return "the recipient is no longer a member of the project"
    if note.task_id is not None:
        task = db.session.get(Task, note.task_id)
        if task is None:
            return "the task was deleted"
        if kind is DUE_SOON:
            if task.status == "done":
                return "the task is done"
            if task.due_date is None or task.due_date.isoformat() != note.payload.get("due_date"):
                return "the due date changed"
            if task.due_date <= now:
                return "the due date has passed"
    return None


def _address(note: Notification) -> str:
    if note.email:
        return note.email
    assert note.user is not None, "a notification needs a user or an address"
    return note.user.email


def build_mail(note: Notification) -> mail.Mail:
    """Render the mail of one outbox row."""
    payload = dict(note.payload)
    base = current_app.config["BASE_URL"]
    context: dict[str, Any] = {"note": note, "recipient": note.user, **payload}
    if note.project_id is not None:
        context["project_url"] = f"{base}/projects/{note.project_id}"
    if note.task_id is not None:
        context["task_url"] = f"{base}/projects/{note.project_id}?task={note.task_id}"
    if "due_date" in payload:
        context["due"] = datetime.fromisoformat(payload["due_date"])
    context["account_url"] = f"{base}/account"
    kind = KINDS[note.kind]
    if kind.context is not None:
        context.update(kind.context(note))
    return mail.render(
        kind.template,
        to=_address(note),
        subject=kind.subject.format_map(_Blank(payload)),
        message_id=mail.message_id(str(note.id)),
        **context,
    )


class _Blank(dict):
    """Payload fields for a subject; a missing one reads as empty rather than failing."""

    def __missing__(self, key: str) -> str:
        return ""


@dataclass
class SweepResult:
    outcomes: Counter[str]
    abandoned: int

    def summary(self) -> str:
        parts = [f"{count} {outcome}" for outcome, count in sorted(self.outcomes.items())]
        if self.abandoned:
            parts.append(f"{self.abandoned} given up after an interrupted send")
        return ", ".join(parts) if parts else "nothing to send"


def sweep(limit: int = 500) -> SweepResult:
    """Deliver whatever is pending and due, and rows a killed worker left "sending"."""
    now = utcnow()
    s = _settings()
    stale = now - timedelta(seconds=s["lease"])
    abandoned = db.session.execute(
        update(Notification)
        .where(
            Notification.status == "sending",
            Notification.claimed_at < stale,
            Notification.attempts >= s["max_attempts"],
        )
        .values(
            status="failed",
            claimed_at=None,
            last_error="interrupted during the last allowed try",
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    ids = list(
        db.session.scalars(
            select(Notification.id)
            .where(_claimable(now, s["lease"], s["max_attempts"]))
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(limit)
        )
    )
    db.session.rollback()
    outcomes: Counter[str] = Counter()
    failures_in_a_row = 0
    for note_id in ids:
        outcome = deliver(note_id)
        outcomes[outcome] += 1
        failures_in_a_row = failures_in_a_row + 1 if outcome == "retrying" else 0
        if failures_in_a_row >= SWEEP_STOP_AFTER_FAILURES:
            # The mail server is most likely down: the rest waits for the next sweep
            # instead of each costing a timeout and a try now.
            log.warning("sweep stopped after %d failed sends in a row", failures_in_a_row)
            break
    return SweepResult(outcomes, abandoned)


def status_counts() -> dict[str, int]:
    """How many outbox rows are in each status."""
    rows = db.session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status: count for status, count in rows}

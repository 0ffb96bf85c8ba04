"""Delivery of the outbox: each row sent once, retried with backoff, or given up with a reason.

A worker claims a row with a conditional UPDATE (pending → sending), so two workers never
send the same row; a row left "sending" by a killed worker can be claimed again once its
lease has run out. The sweep sends whatever is pending and due.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError

from .. import mail
from ..extensions import db
from ..models import Membership, Notification, Task, utcnow
from .notifications import DUE_SOON, KINDS, enqueue_delivery

log = logging.getLogger("taskboard.notifications")

ERROR_MAX = 1000
SWEEP_STOP_AFTER_FAILURES = 3


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


def _finish(note_id: uuid.UUID, claimed: datetime, **values: Any) -> bool:
    """Record the outcome of a claim, if the claim is still this worker's."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id == note_id,
            Notification.status == "sending",
            Notification.claimed_at == claimed,
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
        outgoing = build_mail(note)
    except SQLAlchemyError as exc:
        db.session.rollback()
        return _retry_later(note, now, exc)
    except Exception as exc:  # noqa: BLE001 - the same row renders the same way on every try
        return _give_up(note, now, exc)
    try:
        mail.send(outgoing)
    except mail.PermanentFailure as exc:
        return _give_up(note, now, exc)
    except Exception as exc:  # noqa: BLE001 - any failure to send is retried, then given up
        return _retry_later(note, now, exc)
    _finish(note.id, now, status="sent", sent_at=utcnow(), claimed_at=None, last_error=None)
    return "sent"


def _retry_later(note: Notification, now: datetime, exc: BaseException) -> str:
    """A failed try that may succeed later: back off, or give up after the last one."""
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
    if kind.skip is not None:
        return kind.skip(note)
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


def retry_failed() -> int:
    """Give every failed notification a fresh set of tries (after fixing the mail setup)."""
    ids = list(db.session.scalars(select(Notification.id).where(Notification.status == "failed")))
    if not ids:
        return 0
    db.session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), Notification.status == "failed")
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    enqueue_delivery(ids)
    return len(ids)


def purge(keep_days: int | None = None) -> int:
    """Delete finished notifications (sent, skipped, failed) older than `keep_days`."""
    days = keep_days or current_app.config["NOTIFY_KEEP_DAYS"]
    deleted = db.session.execute(
        delete(Notification)
        .where(
            Notification.status.in_(("sent", "skipped", "failed")),
            Notification.created_at < utcnow() - timedelta(days=days),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted


def status_counts() -> dict[str, int]:
    """How many outbox rows are in each status."""
    rows = db.session.execute(
        select(Notification.status, func.count()).group_by(Notification.status)
    ).all()
    return {status: count for status, count in rows}

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
from ..models import Membership, Notification, Task, User, utcnow
from . import unsubscribe
from .notifications import (
    DUE_SOON,
    KINDS,
    coalesce_seconds,
    enqueue_delivery,
    line,
    setting_of,
)
from .preferences import muted

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


def _finish(ids: list[uuid.UUID], claimed: datetime, **values: Any) -> bool:
    """Record the outcome of a claim, for the rows whose claim is still this worker's."""
    result = db.session.execute(
        update(Notification)
        .where(
            Notification.id.in_(ids),
            Notification.status == "sending",
            Notification.claimed_at == claimed,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if result.rowcount != len(ids):
        log.warning("notification %s: claim lost before its outcome was recorded", ids[0])
    return result.rowcount == len(ids)


def retry_delay(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: doubling, capped."""
    s = _settings()
    return min(s["retry"] * 2 ** max(attempts - 1, 0), s["retry_max"])


def _coalesced(note: Notification) -> bool:
    """A user's notification (not account mail): sent with others of the same moment."""
    kind = KINDS.get(note.kind)
    return note.user_id is not None and kind is not None and not kind.account


def _coalescible_kinds() -> list[str]:
    return [name for name, kind in KINDS.items() if not kind.account]


def _claim_batch(note: Notification, now: datetime) -> uuid.UUID | None:
    """Claim the rows that go out in one mail with this one, and commit: the batch key,
    or None when there is nothing to send now.

    A row already in a batch (a retry, a digest) is claimed with its batch. Otherwise
    the batch is the recipient's first pending row and every pending row written within
    NOTIFY_COALESCE_SECONDS of it, once that window is over; its key is the first row's
    id, so the mail's Message-ID is the same on every try."""
    s = _settings()
    if note.batch_id is not None:
        key = note.batch_id
        where = and_(Notification.batch_id == key, _claimable(now, s["lease"], s["max_attempts"]))
    else:
        first = db.session.scalars(
            select(Notification)
            .where(
                Notification.user_id == note.user_id,
                Notification.status == "pending",
                Notification.batch_id.is_(None),
                Notification.kind.in_(_coalescible_kinds()),
                Notification.attempts < s["max_attempts"],
            )
            .order_by(Notification.created_at, Notification.id)
            .limit(1)
        ).first()
        if first is None or first.next_attempt_at > now:
            db.session.rollback()
            return None
        key = first.id
        bound = first.created_at + timedelta(seconds=coalesce_seconds())
        where = and_(
            Notification.user_id == note.user_id,
            Notification.status == "pending",
            Notification.batch_id.is_(None),
            Notification.kind.in_(_coalescible_kinds()),
            Notification.created_at <= bound,
            Notification.attempts < s["max_attempts"],
        )
    claimed = db.session.execute(
        update(Notification)
        .where(where)
        .values(
            status="sending",
            claimed_at=now,
            attempts=Notification.attempts + 1,
            batch_id=key,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return key if claimed else None


def deliver(note_id: uuid.UUID) -> str:
    """Send one notification if it is due and no one else has it: alone (account mail),
    or in one mail with the recipient's others of the same moment.

    The outcome: "sent", "skipped", "retrying", "failed", or "not due" (sent already,
    taken by another worker, or waiting for its next try or its window).
    """
    now = utcnow()
    note = db.session.get(Notification, note_id, populate_existing=True)
    if note is None:
        db.session.rollback()
        return "not due"
    if not _coalesced(note):
        db.session.rollback()
        if not claim(note_id, now):
            return "not due"
        return send_batch([note_id], note_id, now)
    key = _claim_batch(note, now)
    if key is None:
        return "not due"
    ids = list(
        db.session.scalars(
            select(Notification.id)
            .where(
                Notification.batch_id == key,
                Notification.status == "sending",
                Notification.claimed_at == now,
            )
            .order_by(Notification.created_at, Notification.id)
        )
    )
    db.session.rollback()
    return send_batch(ids, key, now)


def send_batch(ids: list[uuid.UUID], key: uuid.UUID, now: datetime) -> str:
    """Send the claimed rows (claimed at `now`) as one mail: one row's own mail, a
    coalesced list, or a digest. Rows that no longer make sense are skipped."""
    notes = list(
        db.session.scalars(
            select(Notification)
            .where(Notification.id.in_(ids))
            .order_by(Notification.created_at, Notification.id)
            .execution_options(populate_existing=True)
        )
    )
    live = []
    for note in notes:
        reason = _skip_reason(note, now)
        if reason is None:
            live.append(note)
        else:
            log.info("notification %s (%s) skipped: %s", note.id, note.kind, reason)
            _finish([note.id], now, status="skipped", last_error=reason, claimed_at=None)
    if not live:
        return "skipped"
    live_ids = [note.id for note in live]
    try:
        outgoing = build_batch_mail(live, key)
    except SQLAlchemyError as exc:
        db.session.rollback()
        return _retry_later(live, now, exc)
    except Exception as exc:  # noqa: BLE001 - the same rows render the same way every time
        return _give_up(live_ids, now, exc)
    try:
        mail.send(outgoing)
    except mail.PermanentFailure as exc:
        return _give_up(live_ids, now, exc)
    except Exception as exc:  # noqa: BLE001 - any failure to send is retried, then given up
        return _retry_later(live, now, exc)
    _finish(live_ids, now, status="sent", sent_at=utcnow(), claimed_at=None, last_error=None)
    return "sent"


def _retry_later(notes: list[Notification], now: datetime, exc: BaseException) -> str:
    """A failed try that may succeed later: back off, or give up after the last one."""
    ids = [note.id for note in notes]
    attempts = max(note.attempts for note in notes)
    if attempts >= _settings()["max_attempts"]:
        return _give_up(ids, now, exc)
    delay = retry_delay(attempts)
    log.warning(
        "notification %s: try %d failed (%s); next try in %ss",
        ids[0],
        attempts,
        _describe(exc),
        delay,
    )
    _finish(
        ids,
        now,
        status="pending",
        claimed_at=None,
        next_attempt_at=utcnow() + timedelta(seconds=delay),
        last_error=_describe(exc),
    )
    enqueue_delivery(ids[:1], delay=delay)
    return "retrying"


def _give_up(ids: list[uuid.UUID], now: datetime, exc: BaseException) -> str:
    log.error("notification %s: giving up: %s", ids[0], exc)
    _finish(ids, now, status="failed", claimed_at=None, last_error=_describe(exc))
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
        if not kind.account:
            if user.notify_mode == "off":
                return "the recipient turned notifications off"
            if not (user.notify_kinds or {}).get(setting_of(kind), True):
                return "the recipient turned this kind of mail off"
            if note.project_id is not None and muted(user.id, note.project_id):
                return "the recipient muted the project"
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


def _context(note: Notification) -> dict[str, Any]:
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
    context["settings_url"] = f"{base}/account#notifications"
    return context


def build_mail(note: Notification, key: uuid.UUID | None = None) -> mail.Mail:
    """Render the mail of one outbox row."""
    context = _context(note)
    kind = KINDS[note.kind]
    if kind.context is not None:
        context.update(kind.context(note))
    headers = {}
    if not kind.account and note.user is not None:
        headers = unsubscribe.headers(note.user, [setting_of(kind)])
        context["unsubscribe_url"] = unsubscribe.link(note.user, [setting_of(kind)])
    return mail.render(
        kind.template,
        to=_address(note),
        subject=kind.subject.format_map(_Blank(note.payload)),
        message_id=mail.message_id(str(key or note.id)),
        headers=headers,
        **context,
    )


def _entry(note: Notification) -> dict[str, Any]:
    context = _context(note)
    return {
        "text": line(note),
        "url": context.get("task_url") or context.get("project_url") or context["account_url"],
        "project": note.payload.get("project_title", ""),
        "due_soon": note.kind == DUE_SOON.name,
    }


def build_batch_mail(notes: list[Notification], key: uuid.UUID) -> mail.Mail:
    """One mail for the rows of a batch: a single row's own mail, else a list of every
    change (coalesced instant mail) or the day's digest (grouped by project, due soon
    first)."""
    first = notes[0]
    digest_at = first.digest_at
    if len(notes) == 1 and digest_at is None:
        return build_mail(first, key)
    user = first.user
    assert user is not None, "batches are a user's"
    kinds = list(dict.fromkeys(setting_of(KINDS[n.kind]) for n in notes))
    entries = [_entry(note) for note in notes]
    context = {**_context(first), "entries": entries, "count": len(entries)}
    context["unsubscribe_url"] = unsubscribe.link(user, kinds)
    if digest_at is not None:
        groups: dict[str, list[dict[str, Any]]] = {}
        for entry in entries:
            if not entry["due_soon"]:
                groups.setdefault(entry["project"], []).append(entry)
        context.update(
            due_soon=[e for e in entries if e["due_soon"]],
            groups=groups,
            day=digest_at,
        )
        template = "digest"
        subject = f"Your daily digest: {len(entries)} update{'s' if len(entries) != 1 else ''}"
    else:
        template = "coalesced"
        subject = f"{len(entries)} updates on your boards"
    return mail.render(
        template,
        to=_address(first),
        subject=subject,
        message_id=mail.message_id(str(key)),
        headers=unsubscribe.headers(user, kinds),
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
    """Delete finished notifications (sent, skipped, failed, inbox-only) older than
    `keep_days`: the inbox keeps that long too."""
    days = keep_days or current_app.config["NOTIFY_KEEP_DAYS"]
    deleted = db.session.execute(
        delete(Notification)
        .where(
            Notification.status.in_(("sent", "skipped", "failed", "inbox")),
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


# Daily digests -------------------------------------------------------------------------


DIGEST_BATCH = 200


def send_digests(now: datetime | None = None, batch: int = DIGEST_BATCH) -> int:
    """Send every digest whose hour has come: per user, what waited for it since the last
    one, in one mail (none when nothing waited). Users are read `batch` at a time.

    A digest's rows are claimed and the user's next digest moment set in one transaction,
    so a digest goes out once even when two workers run this together; the batch key is
    derived from the user and the due moment, so a retry is the same mail."""
    from .preferences import next_digest

    now = now or utcnow()
    sent = 0
    while True:
        users = list(
            db.session.scalars(
                select(User)
                .where(
                    User.notify_mode == "digest",
                    User.digest_next_at <= now,
                    User.is_active.is_(True),
                )
                .order_by(User.digest_next_at, User.id)
                .limit(batch)
            )
        )
        if not users:
            db.session.rollback()
            return sent
        for user in users:
            due = user.digest_next_at
            assert due is not None
            key = uuid.uuid5(uuid.NAMESPACE_URL, f"taskboard:digest:{user.id}:{due.isoformat()}")
            moved = db.session.execute(
                update(User)
                .where(User.id == user.id, User.digest_next_at == due)
                .values(digest_next_at=next_digest(user.digest_hour, user.time_zone, max(due, now)))
                .execution_options(synchronize_session=False)
            ).rowcount
            if moved != 1:  # another worker took this digest
                db.session.rollback()
                continue
            claimed = db.session.execute(
                update(Notification)
                .where(Notification.user_id == user.id, Notification.status == "digest")
                .values(
                    status="sending",
                    claimed_at=now,
                    attempts=Notification.attempts + 1,
                    batch_id=key,
                    digest_at=due,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            if claimed:
                ids = list(
                    db.session.scalars(
                        select(Notification.id).where(
                            Notification.batch_id == key, Notification.claimed_at == now
                        )
                    )
                )
                if send_batch(ids, key, now) == "sent":
                    sent += 1

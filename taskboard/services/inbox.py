"""The inbox: every notification of a person, mailed or not, newest first, read or unread."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select, update

from ..database import Prepared, read
from ..errors import Invalid
from ..extensions import db
from ..models import Notification, utcnow
from . import trash
from .common import Actor, Page
from .notifications import KINDS, line


def _kinds() -> list[str]:
    return [name for name, kind in KINDS.items() if not kind.account]


def _mine(actor: Actor) -> object:
    return (
        (Notification.user_id == actor.id)
        & Notification.kind.in_(_kinds())
        & ~trash.hidden_notifications()
    )


def list_entries(
    actor: Actor, *, offset: int = 0, limit: int | None = None, unread: bool = False
) -> Page[Notification]:
    where = _mine(actor)
    if unread:
        where = where & Notification.read_at.is_(None)
    total = db.session.scalar(select(func.count()).select_from(Notification).where(where)) or 0
    query = (
        select(Notification)
        .where(where)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


@functools.lru_cache(maxsize=4)
def _unread_query(kinds: tuple[str, ...]) -> Prepared:
    """The count of unread entries, built once (every page shows it in its header)."""
    return Prepared(
        select(func.count().label("unread"))
        .select_from(Notification)
        .where(
            Notification.user_id == bindparam("user_id"),
            Notification.kind.in_(kinds),
            Notification.read_at.is_(None),
            ~trash.hidden_notifications(),
        )
    )


def unread_count(actor: Actor) -> int:
    return read(_unread_query(tuple(_kinds())), {"user_id": actor.id}).scalar() or 0


def state(actor: Actor) -> tuple[int, str]:
    """The unread count and a tag that changes whenever the inbox does (its ETag)."""
    count, newest = db.session.execute(
        select(func.count(), func.max(Notification.created_at)).where(
            _mine(actor), Notification.read_at.is_(None)
        )
    ).one()
    return int(count or 0), f"{count}-{newest.timestamp() if newest else 0}"


def mark_read(
    actor: Actor, *, ids: Iterable[uuid.UUID] | None = None, everything: bool = False
) -> int:
    """Mark these entries (or all) read; the number of unread entries left."""
    if not everything and not ids:
        raise Invalid("Give the ids to mark read, or all.", field="ids")
    where = _mine(actor) & Notification.read_at.is_(None)
    if not everything:
        where = where & Notification.id.in_(list(ids or ()))
    db.session.execute(
        update(Notification)
        .where(where)
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return unread_count(actor)


def _url(note: Notification) -> str:
    if note.task_id is not None:
        return f"/projects/{note.project_id}?task={note.task_id}"
    if note.project_id is not None:
        return f"/projects/{note.project_id}"
    return "/notifications"


@dataclass(frozen=True)
class Entry:
    """An inbox entry as the pages and the API show it: what happened, and where."""

    id: uuid.UUID
    kind: str
    text: str
    url: str
    project_id: uuid.UUID | None
    task_id: uuid.UUID | None
    created_at: datetime
    read_at: datetime | None

    @classmethod
    def of(cls, note: Notification) -> Entry:
        return cls(
            note.id,
            note.kind,
            line(note),
            _url(note),
            note.project_id,
            note.task_id,
            note.created_at,
            note.read_at,
        )


def entries(actor: Actor, *, offset: int = 0, limit: int | None = None) -> Page[Entry]:
    """The inbox page by page, newest first."""
    found = list_entries(actor, offset=offset, limit=limit)
    return Page([Entry.of(note) for note in found.items], found.total)

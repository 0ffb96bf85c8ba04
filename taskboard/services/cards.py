"""Tasks as they are read: small plain objects built from column rows.

The board's list and a single task are the reads every client repeats (the pages poll,
scripts page through boards). Building ORM entities for them — identity map, instrumented
attributes, loader strategies — cost more than running their queries, so reads select
columns and build `Card`s; writes still load and change ORM `Task`s. Every read is two
statements whatever the page size: the cards with their creators, then all their
assignees at once.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select

from ..extensions import db
from ..models import STATUS_LABELS, Task, TaskAssignee, User

TASKS = Task.__table__
USERS = User.__table__
ASSIGNEES = TaskAssignee.__table__


@dataclass(slots=True, frozen=True)
class Person:
    """A user as a card shows them."""

    id: uuid.UUID
    email: str
    name: str


@dataclass(slots=True)
class Card:
    """A task as read: the same attributes as `Task`, with its creator and assignees."""

    id: uuid.UUID
    project_id: uuid.UUID
    title: str
    description: str
    status: str
    position: int
    due_date: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    created_by: Person
    assignees: list[Person] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


_CARD_COLUMNS = (
    TASKS.c.id,
    TASKS.c.project_id,
    TASKS.c.title,
    TASKS.c.description,
    TASKS.c.status,
    TASKS.c.position,
    TASKS.c.due_date,
    TASKS.c.created_at,
    TASKS.c.updated_at,
    TASKS.c.version,
    USERS.c.id,
    USERS.c.email,
    USERS.c.name,
)
_WIDTH = len(_CARD_COLUMNS)

# Built once: building a statement and its cache key costs about as much as running it.
_ASSIGNEES_QUERY = (
    select(ASSIGNEES.c.task_id, USERS.c.id, USERS.c.email, USERS.c.name)
    .join_from(ASSIGNEES, USERS, USERS.c.id == ASSIGNEES.c.user_id)
    .where(ASSIGNEES.c.task_id.in_(bindparam("task_ids", expanding=True)))
    .order_by(USERS.c.name, USERS.c.id)
)


def select_cards(*extra: Any) -> Select:
    """SELECT of the card columns (then `extra` ones) from tasks joined to their creators."""
    return select(*_CARD_COLUMNS, *extra).join_from(
        TASKS, USERS, USERS.c.id == TASKS.c.created_by_id
    )


def build(rows: Sequence[Sequence[Any]]) -> list[Card]:
    """Cards from rows of `select_cards()` (extra columns ignored), with their assignees."""
    if not rows:
        return []
    assignees: dict[uuid.UUID, list[Person]] = {}
    for task_id, user_id, email, name in db.session.execute(
        _ASSIGNEES_QUERY, {"task_ids": [row[0] for row in rows]}
    ):
        assignees.setdefault(task_id, []).append(Person(user_id, email, name))
    return [
        Card(
            *row[:10],
            created_by=Person(row[10], row[11], row[12]),
            assignees=assignees.get(row[0], []),
        )
        for row in rows
    ]


def fetch(query: Select, params: dict[str, Any] | None = None) -> list[Card]:
    """Run a `select_cards()` query; the cards in its order."""
    return build(db.session.execute(query, params or {}).all())

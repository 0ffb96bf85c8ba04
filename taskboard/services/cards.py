"""Tasks as they are read: small plain objects built from column rows.

The board's list and a single task are the reads every client repeats (the pages poll,
scripts page through boards). Building ORM entities for them — identity map, instrumented
attributes, loader strategies — cost more than running their queries, so reads select
columns and build `Card`s; writes still load and change ORM `Task`s. A page of cards is
two statements whatever its size (the cards with their creators, then all their
assignees at once, then their labels); a single card is two (its assignees outer-joined,
then its labels).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Select, String, and_, bindparam, select, type_coerce

from ..database import Prepared, read
from ..models import STATUS_LABELS, Label, Task, TaskAssignee, TaskLabel, User

TASKS = Task.__table__
USERS = User.__table__
ASSIGNEES = TaskAssignee.__table__
LABELS = Label.__table__
TASK_LABELS = TaskLabel.__table__


@dataclass(slots=True, frozen=True)
class Person:
    """A user as a card shows them."""

    id: uuid.UUID
    email: str
    name: str


@dataclass(slots=True, frozen=True)
class Tag:
    """A label as a card shows it."""

    id: uuid.UUID
    name: str
    color: str


@dataclass(slots=True, frozen=True)
class Checklist:
    """A card's checklist in numbers: `done` of `total` items ticked."""

    done: int
    total: int


@dataclass(slots=True)
class Card:
    """A task as read: the same attributes as `Task`, with its creator and assignees."""

    id: uuid.UUID
    project_id: uuid.UUID
    column_id: uuid.UUID
    title: str
    description: str
    status: str
    position: int
    due_date: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int
    created_by: Person
    checklist: Checklist
    attachment_count: int = 0
    assignees: list[Person] = field(default_factory=list)
    labels: list[Tag] = field(default_factory=list)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


def overdue_clause(now: Any) -> ColumnElement[bool]:
    """The one rule for "overdue", in SQL: due before `now` (a moment or a bound
    parameter) and not done. `is_overdue` is the same rule for a card in hand."""
    return and_(TASKS.c.due_date < now, TASKS.c.status != "done")


def is_overdue(card: Any, now: datetime | None = None) -> bool:
    """`overdue_clause` for a card (or task) already read: the board marks it so."""
    if card.due_date is None or card.status == "done":
        return False
    return bool(card.due_date < (now or datetime.now(UTC)))


DUE_SOON = timedelta(hours=24)


def is_due_soon(card: Any, now: datetime | None = None) -> bool:
    """Due within the next 24 hours and not done (the board marks it "Due soon")."""
    if card.due_date is None or card.status == "done":
        return False
    now = now or datetime.now(UTC)
    return bool(now < card.due_date <= now + DUE_SOON)


def _raw(column: Any, label: str) -> Any:
    """The column as the driver returns it: ids are made UUIDs by `_uuid`, which remembers."""
    return type_coerce(column, String).label(label)


@lru_cache(maxsize=16384)
def _parse_uuid(value: str) -> uuid.UUID:
    return uuid.UUID(value)


def _uuid(value: Any) -> uuid.UUID:
    """An id as a UUID. SQLite stores ids as text, and parsing the same few ids again for
    every row (one project, a handful of people) showed in every profile of a list."""
    return value if type(value) is uuid.UUID else _parse_uuid(value)


_CARD_COLUMNS = (
    _raw(TASKS.c.id, "task_id"),
    _raw(TASKS.c.project_id, "project_id"),
    _raw(TASKS.c.column_id, "column_id"),
    TASKS.c.title,
    TASKS.c.description,
    TASKS.c.status,
    TASKS.c.position,
    TASKS.c.due_date,
    TASKS.c.created_at,
    TASKS.c.updated_at,
    TASKS.c.version,
    TASKS.c.checklist_done,
    TASKS.c.checklist_total,
    TASKS.c.attachment_count,
    _raw(USERS.c.id, "creator_id"),
    USERS.c.email.label("creator_email"),
    USERS.c.name.label("creator_name"),
)


def select_assignees() -> Select:
    """SELECT of (task id, user id, email, name) of task assignees, in each card's order;
    narrowed by the caller to a page's tasks."""
    return (
        select(
            _raw(ASSIGNEES.c.task_id, "task_id"),
            _raw(USERS.c.id, "user_id"),
            USERS.c.email,
            USERS.c.name,
        )
        .join_from(ASSIGNEES, USERS, USERS.c.id == ASSIGNEES.c.user_id)
        .order_by(USERS.c.name, USERS.c.id)
    )


def select_labels() -> Select:
    """SELECT of (task id, label id, name, color) of task labels, by name; narrowed by the
    caller to a page's tasks."""
    return (
        select(
            _raw(TASK_LABELS.c.task_id, "task_id"),
            _raw(LABELS.c.id, "label_id"),
            LABELS.c.name,
            LABELS.c.color,
        )
        .join_from(TASK_LABELS, LABELS, LABELS.c.id == TASK_LABELS.c.label_id)
        .order_by(LABELS.c.name_key, LABELS.c.id)
    )


# Built once: building a statement and its cache key costs about as much as running it.
_ASSIGNEES_QUERY = Prepared(
    select_assignees().where(ASSIGNEES.c.task_id.in_(bindparam("task_ids", expanding=True)))
)
_LABELS_QUERY = Prepared(
    select_labels().where(TASK_LABELS.c.task_id.in_(bindparam("task_ids", expanding=True)))
)
_CARD_LABELS_QUERY = Prepared(select_labels().where(TASK_LABELS.c.task_id == bindparam("task_id")))


def select_cards(*extra: Any) -> Select:
    """SELECT of the card columns (then `extra` ones) from tasks joined to their creators."""
    return select(*_CARD_COLUMNS, *extra).join_from(
        TASKS, USERS, USERS.c.id == TASKS.c.created_by_id
    )


def build(
    rows: Sequence[Sequence[Any]],
    assignee_rows: Iterable[Sequence[Any]] | None = None,
    label_rows: Iterable[Sequence[Any]] | None = None,
) -> list[Card]:
    """Cards from rows of `select_cards()` (extra columns ignored), with their assignees
    and labels: `assignee_rows` from a `select_assignees()` query and `label_rows` from a
    `select_labels()` query covering the same tasks, or, when not given, read by the
    tasks' ids."""
    if not rows:
        return []
    if assignee_rows is None or label_rows is None:
        ids = [_uuid(row.task_id) for row in rows]
        if assignee_rows is None:
            assignee_rows = read(_ASSIGNEES_QUERY, {"task_ids": ids})
        if label_rows is None:
            label_rows = read(_LABELS_QUERY, {"task_ids": ids})
    assignees: dict[uuid.UUID, list[Person]] = {}
    for task_id, user_id, email, name in assignee_rows:
        assignees.setdefault(_uuid(task_id), []).append(Person(_uuid(user_id), email, name))
    tags = _tags(label_rows)
    return [
        _card(row, assignees.get(key, []), tags.get(key, []))
        for row in rows
        for key in (_uuid(row.task_id),)
    ]


def _tags(label_rows: Iterable[Sequence[Any]]) -> dict[uuid.UUID, list[Tag]]:
    tags: dict[uuid.UUID, list[Tag]] = {}
    for task_id, label_id, name, color in label_rows:
        tags.setdefault(_uuid(task_id), []).append(Tag(_uuid(label_id), name, color))
    return tags


def _card(row: Any, assignees: list[Person], tags: list[Tag]) -> Card:
    """A card from a `select_cards()` row."""
    return Card(
        id=_uuid(row.task_id),
        project_id=_uuid(row.project_id),
        column_id=_uuid(row.column_id),
        title=row.title,
        description=row.description,
        status=row.status,
        position=row.position,
        due_date=row.due_date,
        created_at=row.created_at,
        updated_at=row.updated_at,
        version=row.version,
        created_by=Person(_uuid(row.creator_id), row.creator_email, row.creator_name),
        checklist=Checklist(row.checklist_done, row.checklist_total),
        attachment_count=row.attachment_count,
        assignees=assignees,
        labels=tags,
    )


def written(
    task: Task, creator: Any, assignees: Sequence[Any], labels: Sequence[Any]
) -> Card | None:
    """The card a transaction has just written, from the values it wrote (call it after
    the flush, before the commit expires them): a create's answer with no read after its
    commit. None where the read is needed: with several assignees or labels, whose order
    is the database's collation of their names."""
    if len(assignees) > 1 or len(labels) > 1:
        return None

    def utc(moment: Any) -> Any:
        return None if moment is None else moment.astimezone(UTC)

    return Card(
        id=task.id,
        project_id=task.project_id,
        column_id=task.column_id,
        title=task.title,
        description=task.description,
        status=task.status,
        position=task.position,
        due_date=utc(task.due_date),
        created_at=utc(task.created_at),
        updated_at=utc(task.updated_at),
        version=task.version,
        created_by=Person(creator.id, creator.email, creator.name),
        checklist=Checklist(task.checklist_done, task.checklist_total),
        attachment_count=task.attachment_count,
        assignees=[Person(user.id, user.email, user.name) for user in assignees],
        labels=[Tag(label.id, label.name, label.color) for label in labels],
    )


_ASSIGNED = USERS.alias("assigned")


def select_card_with_assignees() -> Select:
    """SELECT of one card per row and assignee (a row with NULLs for none): a single card
    in one statement. `fetch_one` reads it."""
    return (
        select_cards(
            _raw(_ASSIGNED.c.id, "assignee_id"),
            _ASSIGNED.c.email.label("assignee_email"),
            _ASSIGNED.c.name.label("assignee_name"),
        )
        .outerjoin(ASSIGNEES, ASSIGNEES.c.task_id == TASKS.c.id)
        .outerjoin(_ASSIGNED, _ASSIGNED.c.id == ASSIGNEES.c.user_id)
        .order_by(_ASSIGNED.c.name, _ASSIGNED.c.id)
    )


def fetch_one(query: Prepared, params: dict[str, Any]) -> Card | None:
    """Run a `select_card_with_assignees()` query narrowed to one task; None if no row."""
    rows = read(query, params).all()
    if not rows:
        return None
    assignees = [
        Person(_uuid(row.assignee_id), row.assignee_email, row.assignee_name)
        for row in rows
        if row.assignee_id is not None
    ]
    task_id = _uuid(rows[0].task_id)
    tags = _tags(read(_CARD_LABELS_QUERY, {"task_id": task_id})).get(task_id, [])
    return _card(rows[0], assignees, tags)


def fetch(
    query: Prepared,
    params: dict[str, Any] | None = None,
    *,
    assignees: Prepared | None = None,
    labels: Prepared | None = None,
) -> list[Card]:
    """Run a `select_cards()` query; the cards in its order. `assignees` and `labels`,
    `select_assignees()` and `select_labels()` queries taking the same parameters and
    covering the same tasks, read those instead of by a list of the page's ids (which
    costs binding one parameter per card)."""
    params = params or {}
    rows = read(query, params).all()
    if not rows or assignees is None or labels is None:
        return build(rows)
    return build(rows, read(assignees, params), read(labels, params))

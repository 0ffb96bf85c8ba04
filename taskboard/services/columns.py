"""A board's columns: named, ordered, each of a category (the `status` of its cards), with
an optional WIP limit. Members manage them.

Positions are 0..k-1 across a project's columns; every change first takes the project's
write lock (`lock_project`), like every change to its cards. Each category keeps at
least one column, so a card can always be given any status.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import InvalidRequestError

from ..database import Prepared, read
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models import STATUS_LABELS, STATUSES, BoardColumn, Membership, Task, utcnow
from . import projects
from .common import (
    COLUMN_NAME_MAX,
    UNSET,
    WIP_MAX,
    WIP_MIN,
    Actor,
    Page,
    clean_text,
    lock_project,
)

COLUMN_NOT_FOUND = "No such column."
COLUMNS = BoardColumn.__table__
TASKS = Task.__table__
MEMBERSHIPS = Membership.__table__
# A new project's board, and every project's board from before columns could be named.
DEFAULTS: tuple[tuple[str, str], ...] = tuple((STATUS_LABELS[s], s) for s in STATUSES)


@dataclass(frozen=True, slots=True)
class ColumnView:
    """A column as read: its fields and how many cards it holds."""

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    category: str
    position: int
    wip_limit: int | None
    task_count: int

    @property
    def over_limit(self) -> bool:
        return self.wip_limit is not None and self.task_count > self.wip_limit

    @property
    def category_label(self) -> str:
        return STATUS_LABELS[self.category]

    @classmethod
    def of(cls, column: Any, task_count: int) -> ColumnView:
        """From a column (a row of its fields, or the model) and its number of cards."""
        return cls(
            id=column.id,
            project_id=column.project_id,
            name=column.name,
            category=column.category,
            position=column.position,
            wip_limit=column.wip_limit,
            task_count=task_count,
        )


def check_name(name: str | None) -> str:
    return clean_text(name, "name", "Column name", min_len=1, max_len=COLUMN_NAME_MAX)


def check_category(category: str | None, field: str = "category") -> str:
    if category not in STATUSES:
        raise Invalid(f"Category must be one of: {', '.join(STATUSES)}.", field=field)
    return category


def check_wip_limit(wip_limit: int | None) -> int | None:
    if wip_limit is None:
        return None
    if isinstance(wip_limit, bool) or not isinstance(wip_limit, int):
        raise Invalid("The WIP limit must be a whole number.", field="wip_limit")
    if not WIP_MIN <= wip_limit <= WIP_MAX:
        raise Invalid(
            f"The WIP limit must be between {WIP_MIN} and {WIP_MAX}, or none.", field="wip_limit"
        )
    return wip_limit


def add_defaults(project_id: uuid.UUID, now: datetime) -> None:
    """The columns of a new project: "To Do", "In Progress", "Done"."""
    for position, (name, category) in enumerate(DEFAULTS):
        db.session.add(
            BoardColumn(
                project_id=project_id,
                name=name,
                name_key=name.casefold(),
                position=position,
                category=category,
                created_at=now,
            )
        )


def _last_position(column_id: Any) -> Any:
    """The column's last card position as a scalar subquery: one index seek (0..n-1)."""
    return (
        select(TASKS.c.position)
        .where(TASKS.c.column_id == column_id)
        .order_by(TASKS.c.position.desc())
        .limit(1)
        .scalar_subquery()
    )


def column_size(column_id: uuid.UUID) -> int:
    last = db.session.scalar(select(_last_position(column_id)))
    return 0 if last is None else last + 1


# The board's columns with their sizes, and the membership check, in one statement.
_COLUMNS_QUERY = Prepared(
    select(
        COLUMNS.c.id,
        COLUMNS.c.project_id,
        COLUMNS.c.name,
        COLUMNS.c.category,
        COLUMNS.c.position,
        COLUMNS.c.wip_limit,
        _last_position(COLUMNS.c.id).label("last"),
    )
    .join(MEMBERSHIPS, MEMBERSHIPS.c.project_id == COLUMNS.c.project_id)
    .where(
        COLUMNS.c.project_id == bindparam("project_id"),
        MEMBERSHIPS.c.user_id == bindparam("user_id"),
    )
    .order_by(COLUMNS.c.position, COLUMNS.c.id)
)


def list_for_project(actor: Actor, project_id: uuid.UUID) -> list[ColumnView]:
    """The project's columns in board order, each with its card count; NotFound for a
    non-member (a project always has columns, so no row means no membership)."""
    rows = read(_COLUMNS_QUERY, {"project_id": project_id, "user_id": actor.id}).all()
    if not rows:
        raise NotFound(projects.PROJECT_NOT_FOUND)
    return [ColumnView.of(row, 0 if row.last is None else row.last + 1) for row in rows]


def list_page(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[ColumnView]:
    every = list_for_project(actor, project_id)
    end = None if limit is None else offset + limit
    return Page(every[offset:end], len(every))


def _in_project(project_id: uuid.UUID) -> list[BoardColumn]:
    query = (
        select(BoardColumn)
        .where(BoardColumn.project_id == project_id)
        .order_by(BoardColumn.position, BoardColumn.id)
    )
    return list(db.session.scalars(query))


def _load(actor: Actor, column_id: uuid.UUID) -> BoardColumn:
    """The column, if the actor is a member of its project; NotFound otherwise."""
    column = db.session.scalar(
        select(BoardColumn)
        .join(Membership, Membership.project_id == BoardColumn.project_id)
        .where(BoardColumn.id == column_id, Membership.user_id == actor.id)
    )
    if column is None:
        raise NotFound(COLUMN_NOT_FOUND)
    return column


def _reload(column: BoardColumn) -> None:
    try:
        db.session.refresh(column)
    except InvalidRequestError as exc:  # deleted meanwhile
        raise NotFound(COLUMN_NOT_FOUND) from exc


def get_for_member(actor: Actor, column_id: uuid.UUID) -> ColumnView:
    column = _load(actor, column_id)
    return _as_view(column)


def _as_view(column: BoardColumn) -> ColumnView:
    return ColumnView.of(column, column_size(column.id))


def _check_unique(columns: list[BoardColumn], name: str, skip: uuid.UUID | None = None) -> None:
    key = name.casefold()
    if any(c.name_key == key and c.id != skip for c in columns):
        raise Conflict("A column of this board already has this name.", field="name")


# Where a card goes, with the columns' sizes: built once (a create and a move ask).
_WITH_SIZE = select(BoardColumn, _last_position(BoardColumn.id))
_NAMED_COLUMN = _WITH_SIZE.where(BoardColumn.id == bindparam("column_id"))
_FIRST_OF_CATEGORY = (
    _WITH_SIZE.where(
        BoardColumn.project_id == bindparam("project_id"),
        BoardColumn.category == bindparam("category"),
    )
    .order_by(BoardColumn.position)
    .limit(1)
)
_ROUTE = _WITH_SIZE.where(BoardColumn.project_id == bindparam("project_id")).order_by(
    BoardColumn.position
)


def for_task(
    project_id: uuid.UUID, column_id: uuid.UUID | None, status: str | None
) -> tuple[BoardColumn, int]:
    """The column a new card goes to, and how many cards it holds: `column_id` (of this
    project, and of `status`'s category when both are given), else the first column of
    `status`'s category (To Do's when neither is given). Invalid when they do not fit."""
    if column_id is not None:
        found = db.session.execute(_NAMED_COLUMN, {"column_id": column_id}).first()
        _check_named(found and found[0], project_id, status)
    else:
        category = check_category(status or "todo", "status")
        params = {"project_id": project_id, "category": category}
        found = db.session.execute(_FIRST_OF_CATEGORY, params).first()
        _check_kept(found, category)
    return found[0], 0 if found[1] is None else found[1] + 1


def _check_named(column: BoardColumn | None, project_id: uuid.UUID, status: str | None) -> None:
    """A column named for a card: one of this project's, of `status`'s category if given."""
    if column is None or column.project_id != project_id:
        raise Invalid("The column must be one of this project's.", field="column_id")
    if status is not None and status != column.category:
        raise Invalid(
            f"The status '{status}' disagrees with the column's category "
            f"'{column.category}'; give one of them, or both alike.",
            field="status",
        )


def _check_kept(found: Any, category: str) -> None:
    if found is None:  # cannot happen: each category keeps a column
        raise Conflict(f"This board has no column of the category '{category}'.", field="status")


@dataclass(frozen=True, slots=True)
class Route:
    """Where a move takes a card: from its column to the target, with the size of each
    of the board's columns (read under the board's write lock, so they hold)."""

    source: BoardColumn
    target: BoardColumn
    sizes: dict[uuid.UUID, int]


def route(
    task_column_id: uuid.UUID,
    project_id: uuid.UUID,
    column_id: uuid.UUID | None,
    status: str | None,
) -> Route:
    """Where a move sends a card now in `task_column_id`: the column named (of this
    project, and of `status`'s category when both are given); else, for a status other
    than its column's category, the first column of that category; else its own column.
    Invalid when they do not fit. One statement: the board's few columns and sizes."""
    found = db.session.execute(_ROUTE, {"project_id": project_id}).all()
    board = {column.id: column for column, _last in found}
    sizes = {column.id: 0 if last is None else last + 1 for column, last in found}
    current = board.get(task_column_id)
    if current is None:  # cannot happen: a card's column is kept by a foreign key
        raise NotFound(COLUMN_NOT_FOUND)
    if column_id is not None:
        target = board.get(column_id)
        _check_named(target, project_id, status)
    elif status is not None and status != current.category:
        category = check_category(status, "status")
        target = next((c for c in board.values() if c.category == category), None)
        _check_kept(target, category)
    else:
        target = current
    return Route(current, target, sizes)


def destination(
    task_column_id: uuid.UUID,
    project_id: uuid.UUID,
    column_id: uuid.UUID | None,
    status: str | None,
) -> BoardColumn:
    """The target of `route`."""
    return route(task_column_id, project_id, column_id, status).target


def create(
    actor: Actor,
    project_id: uuid.UUID,
    *,
    name: str,
    category: str,
    wip_limit: int | None = None,
    position: int | None = None,
) -> ColumnView:
    """A new column at `position` (None or past the end: the end); the others make room."""
    projects.check_member(actor, project_id)
    name = check_name(name)
    category = check_category(category)
    wip_limit = check_wip_limit(wip_limit)
    if position is not None and position < 0:
        raise Invalid("Position must be 0 or more.", field="position")
    lock_project(project_id)
    columns = _in_project(project_id)
    _check_unique(columns, name)
    target = len(columns) if position is None else min(position, len(columns))
    for column in columns[target:]:
        column.position += 1
    column = BoardColumn(
        project_id=project_id,
        name=name,
        name_key=name.casefold(),
        position=target,
        category=category,
        wip_limit=wip_limit,
        created_at=utcnow(),
    )
    db.session.add(column)
    db.session.commit()
    return _as_view(column)


def update(
    actor: Actor,
    column_id: uuid.UUID,
    *,
    name: str = UNSET,
    category: str = UNSET,
    wip_limit: int | None = UNSET,
    position: int = UNSET,
) -> ColumnView:
    """Rename, recategorise (its cards' status follows), limit or move a column."""
    column = _load(actor, column_id)
    lock_project(column.project_id)
    _reload(column)
    columns = _in_project(column.project_id)
    if name is not UNSET:
        name = check_name(name)
        _check_unique(columns, name, skip=column.id)
        column.name, column.name_key = name, name.casefold()
    if wip_limit is not UNSET:
        column.wip_limit = check_wip_limit(wip_limit)
    if category is not UNSET:
        category = check_category(category)
        if category != column.category:
            _check_not_last(columns, column)
            column.category = category
            db.session.execute(
                sql_update(Task)
                .where(Task.column_id == column.id)
                .values(status=category, version=Task.version + 1, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
    if position is not UNSET:
        if position is None or position < 0:
            raise Invalid("Position must be 0 or more.", field="position")
        others = [c for c in columns if c.id != column.id]
        target = min(position, len(others))
        others.insert(target, column)
        for index, each in enumerate(others):
            each.position = index
    db.session.commit()
    return _as_view(column)


def _check_not_last(columns: list[BoardColumn], column: BoardColumn) -> None:
    if not any(c.category == column.category and c.id != column.id for c in columns):
        label = STATUS_LABELS[column.category]
        raise Conflict(
            f"This is the board's only column of the category “{label}”; each category "
            "keeps at least one column. Add another first."
        )


def delete(actor: Actor, column_id: uuid.UUID, *, move_to: uuid.UUID | None = None) -> None:
    """Delete a column; its cards go to the end of `move_to` (required when it has any).

    A card that changes category on the way is recorded in its history, and notified
    like any card moved to Done.
    """
    from .tasks import move_column_cards  # tasks imports this module

    column = _load(actor, column_id)
    lock_project(column.project_id)
    _reload(column)
    columns = _in_project(column.project_id)
    _check_not_last(columns, column)
    target: BoardColumn | None = None
    if move_to is not None:
        target = next((c for c in columns if c.id == move_to), None)
        if target is None or target.id == column.id:
            raise Invalid("Move the cards to another column of this board.", field="move_to")
    size = column_size(column.id)
    if size and target is None:
        raise Conflict(
            f"The column holds {size} card{'s' if size != 1 else ''}: say where they go (move_to).",
            field="move_to",
        )
    outbox = None
    if size and target is not None:
        outbox = move_column_cards(actor, column, target)
    db.session.delete(column)
    db.session.flush()
    for index, each in enumerate(c for c in columns if c.id != column.id):
        each.position = index
    db.session.commit()
    if outbox is not None:
        outbox.dispatch()

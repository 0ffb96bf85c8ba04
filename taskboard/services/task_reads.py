"""Tasks as they are read: one card, a page of a board, the board's state, the lists
across projects, comments and history. Every read checks the actor's membership.

The writes (create, edit, move, delete, comment) are in `tasks`, which also offers these
reads under the same names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, and_, bindparam, func, not_, or_, select
from sqlalchemy.orm import joinedload

from ..database import Prepared, read
from ..errors import NotFound
from ..extensions import db
from ..models import STATUSES, Activity, Comment, Membership, Project, Task, utcnow
from . import projects
from .cards import (
    ASSIGNEES,
    DUE_SOON,
    TASKS,
    Card,
    build,
    due_soon_clause,
    fetch,
    fetch_one,
    overdue_clause,
    select_assignees,
    select_card_with_assignees,
    select_cards,
)
from .common import Actor, Page, check_moment, like_pattern

MEMBERSHIPS = Membership.__table__
PROJECTS = Project.__table__
COMMENTS = Comment.__table__
T = TypeVar("T")
TASK_NOT_FOUND = "No such task."


@dataclass(frozen=True)
class TaskFilter:
    status: str | None = None
    assignee: uuid.UUID | None = None
    q: str | None = None
    due_before: datetime | None = None
    due_after: datetime | None = None
    overdue: bool | None = None

    def __post_init__(self) -> None:
        if self.due_before is not None:
            check_moment(self.due_before, "due_before", "due_before")
        if self.due_after is not None:
            check_moment(self.due_after, "due_after", "due_after")

    def apply(self, query: Select, now: datetime) -> Select:
        """The filters as conditions on a query of the tasks table."""
        if self.status is not None:
            query = query.where(TASKS.c.status == self.status)
        if self.assignee is not None:
            query = query.where(
                TASKS.c.id.in_(
                    select(ASSIGNEES.c.task_id).where(ASSIGNEES.c.user_id == self.assignee)
                )
            )
        if self.q:
            pattern = like_pattern(self.q.lower())
            query = query.where(
                or_(
                    func.lower(TASKS.c.title).like(pattern, escape="\\"),
                    func.lower(TASKS.c.description).like(pattern, escape="\\"),
                )
            )
        if self.due_before is not None:
            query = query.where(TASKS.c.due_date < self.due_before)
        if self.due_after is not None:
            query = query.where(TASKS.c.due_date > self.due_after)
        if self.overdue is True:
            query = query.where(overdue_clause(now))
        elif self.overdue is False:
            query = query.where(or_(TASKS.c.due_date.is_(None), not_(overdue_clause(now))))
        return query


def _last_position(project_id: Any, status: str) -> Any:
    """The column's last position as a scalar subquery: one index seek, as positions are 0..n-1.

    Written as ORDER BY … LIMIT 1 rather than max(), so that the seek does not depend on
    the planner knowing the table's statistics (PostgreSQL without ANALYZE would scan).
    """
    return (
        select(TASKS.c.position)
        .where(TASKS.c.project_id == project_id, TASKS.c.status == status)
        .order_by(TASKS.c.position.desc())
        .limit(1)
        .scalar_subquery()
    )


def _visible(actor: Actor) -> Select:
    return (
        select(Task)
        .join(Membership, Membership.project_id == Task.project_id)
        .where(Membership.user_id == actor.id)
    )


def _visible_cards(actor: Actor) -> Select:
    """Cards of every project the actor is a member of."""
    return select_cards().join(
        MEMBERSHIPS,
        and_(MEMBERSHIPS.c.project_id == TASKS.c.project_id, MEMBERSHIPS.c.user_id == actor.id),
    )


# Reads run on every request of every board and script: their statements are built once,
# as building a statement and its cache key costs about as much as running it.
_CARD_QUERY = Prepared(
    select_card_with_assignees()
    .join(MEMBERSHIPS, MEMBERSHIPS.c.project_id == TASKS.c.project_id)
    .where(TASKS.c.id == bindparam("task_id"), MEMBERSHIPS.c.user_id == bindparam("user_id"))
)


def get_for_member(actor: Actor, task_id: uuid.UUID) -> Card:
    """The task as read, if the actor is a member of its project; NotFound otherwise."""
    card = fetch_one(_CARD_QUERY, {"task_id": task_id, "user_id": actor.id})
    if card is None:
        raise NotFound(TASK_NOT_FOUND)
    return card


def _check_visible(actor: Actor, task_id: uuid.UUID) -> None:
    """NotFound unless the task is in one of the actor's projects (one light query)."""
    found = db.session.scalar(_visible(actor).with_only_columns(Task.id).where(Task.id == task_id))
    if found is None:
        raise NotFound(TASK_NOT_FOUND)


def _page(
    query: Select,
    offset: int,
    limit: int | None,
    items: Callable[[list[Row[Any]]], list[T]],
    *,
    orm: bool = False,
) -> Page[T]:
    """One query for the page and its total (a window count); `items` makes the rows objects.

    Column queries (cards) run through `read`; `orm=True` for a query of ORM entities,
    which only the session turns into objects."""
    run = db.session.execute if orm else read
    counted = query.add_columns(func.count().over().label("total")).offset(offset)
    if limit is not None:
        counted = counted.limit(limit)
    rows = run(counted).all()
    if rows:
        return Page(items(rows), rows[0].total)
    if offset == 0:
        return Page([], 0)
    total = run(select(func.count()).select_from(query.order_by(None).subquery())).scalar()
    return Page([], total or 0)


def _entities(rows: list[Row[Any]]) -> list[Any]:
    return [row[0] for row in rows]


_SIZES_QUERY = Prepared(
    select(
        MEMBERSHIPS.c.user_id,
        *(_last_position(bindparam("project_id"), s).label(f"last_{s}") for s in STATUSES),
    ).where(
        MEMBERSHIPS.c.project_id == bindparam("project_id"),
        MEMBERSHIPS.c.user_id == bindparam("user_id"),
    )
)


# One position range per column, [lo, hi): plain equality and range conditions on the board
# index, which every planner turns into index seeks (row-value comparisons are not as lucky).
_RANGES = or_(
    *(
        # The project in every branch: SQLite seeks each branch only when it is.
        and_(
            TASKS.c.project_id == bindparam("project_id"),
            TASKS.c.status == status,
            TASKS.c.position >= bindparam(f"lo_{status}"),
            TASKS.c.position < bindparam(f"hi_{status}"),
        )
        for status in STATUSES
    )
)


_RANGE_QUERY = Prepared(
    select_cards()
    .where(_RANGES)
    .order_by(TASKS.c.status, TASKS.c.position, TASKS.c.id)
    .limit(bindparam("limit"))
)


# The same ranges are exactly the page's tasks: their assignees by the same seeks, instead
# of one bound parameter per card.
_RANGE_ASSIGNEES_QUERY = Prepared(
    select_assignees().join(TASKS, TASKS.c.id == ASSIGNEES.c.task_id).where(_RANGES)
)


def _board_sizes(actor: Actor, project_id: uuid.UUID) -> list[int]:
    """The size of each column, read with the membership check; NotFound for a non-member."""
    row = read(_SIZES_QUERY, {"project_id": project_id, "user_id": actor.id}).first()
    if row is None:
        raise NotFound(projects.PROJECT_NOT_FOUND)
    lasts = (getattr(row, f"last_{status}") for status in STATUSES)
    return [0 if last is None else last + 1 for last in lasts]


def _board_page(actor: Actor, project_id: uuid.UUID, offset: int, limit: int | None) -> Page[Card]:
    """A page of the whole board, whatever its size, in a constant time.

    Positions are 0..n-1 in each column, so the column sizes give the total and turn the
    page's bounds into a position range per column: no count over the project's tasks,
    and no reading past `offset` rows to skip them.
    """
    sizes = _board_sizes(actor, project_id)
    total = sum(sizes)
    end = total if limit is None else min(offset + limit, total)
    if offset >= end:
        return Page([], total)
    params: dict[str, Any] = {"project_id": project_id, "limit": end - offset}
    before = 0  # cards in the columns left of this one
    for status, size in zip(STATUSES, sizes, strict=True):
        lo, hi = max(offset - before, 0), min(end - before, size)
        params[f"lo_{status}"], params[f"hi_{status}"] = (lo, hi) if lo < hi else (0, 0)
        before += size
    return Page(fetch(_RANGE_QUERY, params, assignees=_RANGE_ASSIGNEES_QUERY), total)


def list_for_project(
    actor: Actor,
    project_id: uuid.UUID,
    filters: TaskFilter,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> Page[Card]:
    """The project's tasks in board order: by status, then position."""
    if filters == TaskFilter():
        return _board_page(actor, project_id, offset, limit)
    projects.get_for_member(actor, project_id, load=False)
    query = filters.apply(select_cards().where(TASKS.c.project_id == project_id), utcnow())
    return _page(query.order_by(TASKS.c.status, TASKS.c.position, TASKS.c.id), offset, limit, build)


@dataclass(frozen=True)
class BoardState:
    """What a board's rendering depends on besides the filters: its version and the clock."""

    version: int
    overdue: int
    due_soon: int


# Every open board asks for its state every few seconds.
_BOARD_STATE_QUERY = Prepared(
    select(
        PROJECTS.c.board_version,
        select(func.count())
        .select_from(TASKS)
        .where(TASKS.c.project_id == PROJECTS.c.id, overdue_clause(bindparam("now")))
        .scalar_subquery()
        .label("overdue"),
        select(func.count())
        .select_from(TASKS)
        .where(
            TASKS.c.project_id == PROJECTS.c.id,
            due_soon_clause(bindparam("now"), bindparam("soon_until")),
        )
        .scalar_subquery()
        .label("due_soon"),
    )
    .join(MEMBERSHIPS, MEMBERSHIPS.c.project_id == PROJECTS.c.id)
    .where(PROJECTS.c.id == bindparam("project_id"), MEMBERSHIPS.c.user_id == bindparam("user_id"))
)


_COMMENT_COUNTS_QUERY = Prepared(
    select(COMMENTS.c.task_id, func.count().label("comments"))
    .join(TASKS, TASKS.c.id == COMMENTS.c.task_id)
    .where(TASKS.c.project_id == bindparam("project_id"))
    .group_by(COMMENTS.c.task_id)
)


def board_state(actor: Actor, project_id: uuid.UUID) -> BoardState:
    """The board's version and overdue count in one query; NotFound for a non-member.

    Cards turn due soon and overdue with time, not with a write, so the counts are part
    of the state.
    """
    now = utcnow()
    params = {
        "project_id": project_id,
        "user_id": actor.id,
        "now": now,
        "soon_until": now + DUE_SOON,
    }
    row = read(_BOARD_STATE_QUERY, params).first()
    if row is None:
        raise NotFound(projects.PROJECT_NOT_FOUND)
    return BoardState(version=row.board_version, overdue=row.overdue, due_soon=row.due_soon)


def comment_counts(actor: Actor, project_id: uuid.UUID) -> dict[uuid.UUID, int]:
    """How many comments each card of the board has (cards without any are left out)."""
    projects.get_for_member(actor, project_id, load=False)
    rows = read(_COMMENT_COUNTS_QUERY, {"project_id": project_id})
    return {task_id: count for task_id, count in rows}


def list_for_user(
    actor: Actor, filters: TaskFilter, *, offset: int = 0, limit: int | None = None
) -> Page[Card]:
    """Tasks across every project of the actor: by status, then soonest due, then position."""
    query = filters.apply(_visible_cards(actor), utcnow())
    query = query.order_by(
        TASKS.c.status,
        TASKS.c.due_date.is_(None),
        TASKS.c.due_date,
        TASKS.c.position,
        TASKS.c.id,
    )
    return _page(query, offset, limit, build)


def list_comments(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Comment]:
    """Comments oldest first, as a conversation reads."""
    _check_visible(actor, task_id)
    query = select(Comment).where(Comment.task_id == task_id)
    query = query.order_by(Comment.created_at, Comment.id).options(joinedload(Comment.author))
    return _page(query, offset, limit, _entities, orm=True)


def list_activity(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Activity]:
    """The task's history, newest first."""
    _check_visible(actor, task_id)
    query = select(Activity).where(Activity.task_id == task_id).order_by(Activity.id.desc())
    query = query.options(joinedload(Activity.actor))
    return _page(query, offset, limit, _entities, orm=True)

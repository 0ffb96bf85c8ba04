"""Tasks as they are read: one card, a page of a board, the board's state, the lists
across projects, comments and history. Every read checks the actor's membership.

The writes (create, edit, move, delete, comment) are in `tasks`, which also offers these
reads under the same names.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, and_, bindparam, case, func, not_, or_, select
from sqlalchemy.orm import joinedload

from ..database import Prepared, read
from ..errors import NotFound
from ..extensions import db
from ..models import (
    Activity,
    BoardChange,
    BoardColumn,
    Comment,
    Membership,
    Project,
    Task,
    utcnow,
)
from . import columns, projects
from .cards import (
    ASSIGNEES,
    DUE_SOON,
    TASK_LABELS,
    TASKS,
    Card,
    _uuid,
    build,
    fetch,
    fetch_one,
    overdue_clause,
    select_assignees,
    select_card_with_assignees,
    select_cards,
    select_labels,
)
from .common import Actor, Page, check_moment, like_pattern

MEMBERSHIPS = Membership.__table__
PROJECTS = Project.__table__
COMMENTS = Comment.__table__
COLUMNS = BoardColumn.__table__
BOARD_CHANGES = BoardChange.__table__
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
    column: uuid.UUID | None = None
    label: uuid.UUID | None = None

    def __post_init__(self) -> None:
        if self.due_before is not None:
            check_moment(self.due_before, "due_before", "due_before")
        if self.due_after is not None:
            check_moment(self.due_after, "due_after", "due_after")

    def apply(self, query: Select, now: datetime) -> Select:
        """The filters as conditions on a query of the tasks table."""
        if self.status is not None:
            query = query.where(TASKS.c.status == self.status)
        if self.column is not None:
            query = query.where(TASKS.c.column_id == self.column)
        if self.label is not None:
            query = query.where(
                TASKS.c.id.in_(
                    select(TASK_LABELS.c.task_id).where(TASK_LABELS.c.label_id == self.label)
                )
            )
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


def _visible(actor: Actor) -> Select:
    return visible_to(actor.id)


def visible_to(user_id: Any) -> Select:
    """The tasks of the projects `user_id` (a value, or a bound parameter for a statement
    built once) is a member of."""
    return (
        select(Task)
        .join(Membership, Membership.project_id == Task.project_id)
        .where(Membership.user_id == user_id)
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


# A page of the board is a run of cards from (column `first`, position `lo`) to (column
# `final`, position `hi`, exclusive): each column's position range is read as an index
# range on (column_id, position), whatever the number of columns.
_RANGE = and_(
    COLUMNS.c.project_id == bindparam("project_id"),
    COLUMNS.c.position >= bindparam("first"),
    COLUMNS.c.position <= bindparam("final"),
    TASKS.c.column_id == COLUMNS.c.id,
    TASKS.c.position >= case((COLUMNS.c.position == bindparam("first"), bindparam("lo")), else_=0),
    TASKS.c.position
    < case((COLUMNS.c.position == bindparam("final"), bindparam("hi")), else_=bindparam("end")),
)

_RANGE_QUERY = Prepared(
    select_cards()
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(_RANGE)
    .order_by(COLUMNS.c.position, TASKS.c.position, TASKS.c.id)
    .limit(bindparam("limit"))
)

# The same range is exactly the page's tasks: their assignees and labels by the same
# seeks, instead of one bound parameter per card.
_RANGE_ASSIGNEES_QUERY = Prepared(
    select_assignees()
    .join(TASKS, TASKS.c.id == ASSIGNEES.c.task_id)
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(_RANGE)
)
_RANGE_LABELS_QUERY = Prepared(
    select_labels()
    .join(TASKS, TASKS.c.id == TASK_LABELS.c.task_id)
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(_RANGE)
)


def _board_page(actor: Actor, project_id: uuid.UUID, offset: int, limit: int | None) -> Page[Card]:
    """A page of the whole board, whatever its size, in a constant time.

    Positions are 0..n-1 in each column, so the column sizes give the total and turn the
    page's bounds into a run of positions from one column to another: no count over the
    project's tasks, and no reading past `offset` rows to skip them.
    """
    # The columns with their sizes, read with the membership check (NotFound otherwise).
    sizes = [column.task_count for column in columns.list_for_project(actor, project_id)]
    total = sum(sizes)
    end = total if limit is None else min(offset + limit, total)
    if offset >= end:
        return Page([], total)
    first = final = lo = hi = 0
    before = 0  # cards in the columns left of this one
    for index, size in enumerate(sizes):
        if before <= offset < before + size:
            first, lo = index, offset - before
        if before < end <= before + size:
            final, hi = index, end - before
        before += size
    params: dict[str, Any] = {
        "project_id": project_id,
        "first": first,
        "final": final,
        "lo": lo,
        "hi": hi,
        "end": max(sizes) + 1,
        "limit": end - offset,
    }
    cards = fetch(
        _RANGE_QUERY, params, assignees=_RANGE_ASSIGNEES_QUERY, labels=_RANGE_LABELS_QUERY
    )
    return Page(cards, total)


def list_for_project(
    actor: Actor,
    project_id: uuid.UUID,
    filters: TaskFilter,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> Page[Card]:
    """The project's tasks in board order: by column, then position."""
    if filters == TaskFilter():
        return _board_page(actor, project_id, offset, limit)
    projects.check_member(actor, project_id)
    query = filters.apply(
        select_cards()
        .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
        .where(TASKS.c.project_id == project_id),
        utcnow(),
    )
    query = query.order_by(COLUMNS.c.position, TASKS.c.position, TASKS.c.id)
    return _page(query, offset, limit, build)


@dataclass(frozen=True)
class Window:
    """What the board shows of one column: a run of its (matching) cards and how many
    there are in all. `offset` is where the run starts in the column's matching cards."""

    column: columns.ColumnView
    cards: list[Card]
    total: int
    offset: int = 0

    @property
    def more(self) -> int:
        """Matching cards after this run."""
        return max(self.total - self.offset - len(self.cards), 0)


# The first cards of every column of a board: each column's first `limit` positions, an
# index range on (column_id, position) per column, whatever the column sizes.
_WINDOWS_QUERY = Prepared(
    select_cards()
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(COLUMNS.c.project_id == bindparam("project_id"), TASKS.c.position < bindparam("limit"))
    .order_by(COLUMNS.c.position, TASKS.c.position)
)
_WINDOWS_ASSIGNEES_QUERY = Prepared(
    select_assignees()
    .join(TASKS, TASKS.c.id == ASSIGNEES.c.task_id)
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(COLUMNS.c.project_id == bindparam("project_id"), TASKS.c.position < bindparam("limit"))
)
_WINDOWS_LABELS_QUERY = Prepared(
    select_labels()
    .join(TASKS, TASKS.c.id == TASK_LABELS.c.task_id)
    .join(COLUMNS, COLUMNS.c.id == TASKS.c.column_id)
    .where(COLUMNS.c.project_id == bindparam("project_id"), TASKS.c.position < bindparam("limit"))
)


def board_windows(
    actor: Actor,
    project_id: uuid.UUID,
    filters: TaskFilter,
    size: int,
    wider: dict[uuid.UUID, int] | None = None,
) -> list[Window]:
    """Each column of the board with its first `size` matching cards (`wider` asks for
    more of some columns) and its number of matching cards; NotFound for a non-member.

    Unfiltered, a column's first cards are its first positions: a board of any size costs
    the same few index seeks. Filtered, the matching cards are numbered per column in
    the database and the first ones kept."""
    board = columns.list_for_project(actor, project_id)
    limits = {column.id: max((wider or {}).get(column.id, size), 1) for column in board}
    by_column: dict[uuid.UUID, list[Card]] = {column.id: [] for column in board}
    if filters == TaskFilter():
        totals = {column.id: column.task_count for column in board}
        if len(set(limits.values())) == 1:
            params = {"project_id": project_id, "limit": size}
            cards = fetch(
                _WINDOWS_QUERY,
                params,
                assignees=_WINDOWS_ASSIGNEES_QUERY,
                labels=_WINDOWS_LABELS_QUERY,
            )
        else:  # a page without JavaScript that asked for more of a column
            cards = build(
                read(
                    select_cards()
                    .where(
                        or_(
                            *(
                                and_(TASKS.c.column_id == cid, TASKS.c.position < limit)
                                for cid, limit in limits.items()
                            )
                        )
                    )
                    .order_by(TASKS.c.column_id, TASKS.c.position)
                ).all()
            )
    else:
        ranked = filters.apply(
            select(
                TASKS.c.id.label("ranked_id"),
                func.row_number()
                .over(partition_by=TASKS.c.column_id, order_by=TASKS.c.position)
                .label("rank"),
                func.count().over(partition_by=TASKS.c.column_id).label("matching"),
            ).where(TASKS.c.project_id == project_id),
            utcnow(),
        ).subquery()
        rows = read(
            select_cards(ranked.c.rank, ranked.c.matching)
            .join(ranked, ranked.c.ranked_id == TASKS.c.id)
            .where(
                ranked.c.rank
                <= case(
                    {cid: limit for cid, limit in limits.items()},
                    value=TASKS.c.column_id,
                    else_=size,
                )
            )
            .order_by(TASKS.c.column_id, TASKS.c.position)
        ).all()
        totals = {column.id: 0 for column in board}
        for row in rows:
            totals[_uuid(row.column_id)] = row.matching
        cards = build(rows)
    for card in cards:
        if card.column_id in by_column and len(by_column[card.column_id]) < limits[card.column_id]:
            by_column[card.column_id].append(card)
    return [Window(column, by_column[column.id], totals[column.id]) for column in board]


def column_window(
    actor: Actor, column_id: uuid.UUID, filters: TaskFilter, offset: int, limit: int
) -> Window:
    """The column's matching cards from `offset` on, at most `limit` ("Show more")."""
    column = columns.get_for_member(actor, column_id)
    offset, limit = max(offset, 0), max(limit, 1)
    if filters == TaskFilter():
        query = (
            select_cards()
            .where(
                TASKS.c.column_id == column_id,
                TASKS.c.position >= offset,
                TASKS.c.position < offset + limit,
            )
            .order_by(TASKS.c.position)
        )
        return Window(column, build(read(query).all()), column.task_count, offset)
    query = filters.apply(select_cards().where(TASKS.c.column_id == column_id), utcnow()).order_by(
        TASKS.c.position, TASKS.c.id
    )
    page = _page(query, offset, limit, build)
    return Window(column, page.items, page.total, offset)


def neighbour_position(task: Card, filters: TaskFilter, *, above: bool) -> int | None:
    """The position of the matching card just above (or below) `task` in its column: the
    card a "Move up" on a filtered board passes. None at the column's end. `task` was
    read for the actor, so the membership is checked."""
    nearest = TASKS.c.position.desc() if above else TASKS.c.position
    side = TASKS.c.position < task.position if above else TASKS.c.position > task.position
    query = filters.apply(
        select(TASKS.c.position).where(TASKS.c.column_id == task.column_id, side), utcnow()
    )
    return read(query.order_by(nearest).limit(1)).scalar()


def changes_since(project_id: uuid.UUID, since: int, current: int) -> set[uuid.UUID] | None:
    """The cards changed between board versions `since` and `current`; None when that
    cannot be told card by card (a layout change, or history no longer kept)."""
    if since >= current:
        return set()
    rows = read(
        select(BOARD_CHANGES.c.task_id, BOARD_CHANGES.c.version).where(
            BOARD_CHANGES.c.project_id == project_id,
            BOARD_CHANGES.c.version > since,
            BOARD_CHANGES.c.version <= current,
        )
    ).all()
    if len({version for _, version in rows}) != current - since:
        return None  # a version without its record: pruned, or from before the history
    if any(task_id is None for task_id, _ in rows):
        return None
    return {_uuid(task_id) for task_id, _ in rows}


@dataclass(frozen=True)
class Placed:
    """A card as a column shows it: its rank among the column's matching cards, and the
    matching card after it (None at the column's end)."""

    card: Card
    rank: int
    successor: uuid.UUID | None


def placed(
    project_id: uuid.UUID, task_ids: set[uuid.UUID], filters: TaskFilter
) -> dict[uuid.UUID, Placed]:
    """Those of the cards that exist on the board and match the filters, placed. Rank and
    successor cost an index seek each; filtered, the rank counts the matching cards above
    (the caller has checked the actor's membership)."""
    if not task_ids:
        return {}
    now = utcnow()
    query = filters.apply(
        select_cards().where(TASKS.c.project_id == project_id, TASKS.c.id.in_(list(task_ids))),
        now,
    )
    found: dict[uuid.UUID, Placed] = {}
    for card in build(read(query).all()):
        same = TASKS.c.column_id == card.column_id
        after = (
            filters.apply(select(TASKS.c.id).where(same, TASKS.c.position > card.position), now)
            .order_by(TASKS.c.position)
            .limit(1)
        )
        successor = read(after).scalar()
        if filters == TaskFilter():
            rank = card.position
        else:
            above = filters.apply(
                select(func.count())
                .select_from(TASKS)
                .where(same, TASKS.c.position < card.position),
                now,
            )
            rank = read(above).scalar() or 0
        found[card.id] = Placed(card, rank, _uuid(successor) if successor else None)
    return found


def matching_counts(project_id: uuid.UUID, filters: TaskFilter) -> dict[uuid.UUID, int]:
    """How many cards of each column match the filters (columns with none left out)."""
    query = filters.apply(
        select(TASKS.c.column_id, func.count())
        .where(TASKS.c.project_id == project_id)
        .group_by(TASKS.c.column_id),
        utcnow(),
    )
    return {_uuid(column_id): count for column_id, count in read(query).all()}


@dataclass(frozen=True)
class BoardState:
    """What a board's rendering depends on besides the filters: its version, and the next
    moments the clock alone changes it (a card turning overdue, one turning due soon)."""

    version: int
    next_overdue: Any
    next_due_soon: Any


def _next_due(after: Any) -> Any:
    """The soonest due date after `after` of a card not done: one seek on
    (project_id, due_date)."""
    return (
        select(func.min(TASKS.c.due_date))
        .where(
            TASKS.c.project_id == PROJECTS.c.id,
            TASKS.c.due_date > after,
            TASKS.c.status != "done",
        )
        .scalar_subquery()
    )


# Every open board asks for its state every few seconds: a row and two index seeks,
# whatever the board's size.
_BOARD_STATE_QUERY = Prepared(
    select(
        PROJECTS.c.board_version,
        _next_due(bindparam("now")).label("next_overdue"),
        _next_due(bindparam("soon_until")).label("next_due_soon"),
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


_SHOWN_COMMENT_COUNTS_QUERY = Prepared(
    select(COMMENTS.c.task_id, func.count().label("comments"))
    .where(COMMENTS.c.task_id.in_(bindparam("task_ids", expanding=True)))
    .group_by(COMMENTS.c.task_id)
)


def board_state(actor: Actor, project_id: uuid.UUID) -> BoardState:
    """The board's version and the next due moments in one query; NotFound for a
    non-member. Cards turn due soon and overdue with time, not with a write, so the next
    moment either happens is part of the state."""
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
    return BoardState(row.board_version, row.next_overdue, row.next_due_soon)


def comment_counts(
    actor: Actor, project_id: uuid.UUID, cards: Iterable[Card] | None = None
) -> dict[uuid.UUID, int]:
    """How many comments each card of the board has (cards without any are left out);
    only the given cards' when given (what a page shows of a large board)."""
    projects.check_member(actor, project_id)
    if cards is None:
        rows = read(_COMMENT_COUNTS_QUERY, {"project_id": project_id})
        return {task_id: count for task_id, count in rows}
    ids = [card.id for card in cards]
    if not ids:
        return {}
    rows = read(_SHOWN_COMMENT_COUNTS_QUERY, {"task_ids": ids})
    return {_uuid(task_id): count for task_id, count in rows}


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

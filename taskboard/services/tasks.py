"""Tasks (cards): create, edit, move, assign, delete — and the history of each change.

Positions are 0..n-1 inside each (project, status) column; every write that changes a
column first locks the project row, so concurrent moves cannot interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, Select, and_, bindparam, delete, func, not_, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import joinedload, selectinload

from ..database import Prepared, read
from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import (
    STATUSES,
    Activity,
    Comment,
    Membership,
    Project,
    Task,
    TaskAssignee,
    User,
    utcnow,
)
from . import projects
from .cards import (
    ASSIGNEES,
    TASKS,
    Card,
    build,
    fetch,
    fetch_one,
    overdue_clause,
    select_assignees,
    select_card_with_assignees,
    select_cards,
)
from .common import (
    COMMENT_MAX,
    Actor,
    Page,
    check_description,
    check_moment,
    check_title,
    check_version,
    clean_text,
    like_pattern,
    lock_project,
)
from .notifications import Outbox

MEMBERSHIPS = Membership.__table__
PROJECTS = Project.__table__
COMMENTS = Comment.__table__
T = TypeVar("T")
TASK_NOT_FOUND = "No such task."
UNSET: Any = object()


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


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise Invalid(f"Status must be one of: {', '.join(STATUSES)}.", field="status")
    return status


def check_due_date(due_date: datetime | None) -> datetime | None:
    if due_date is None:
        return None
    return check_moment(due_date, "due_date", "Due date")


def _record(task_id: uuid.UUID, actor: Actor, verb: str, now: datetime, **detail: Any) -> None:
    db.session.add(
        Activity(task_id=task_id, actor_id=actor.id, verb=verb, detail=detail, created_at=now)
    )


def _lock_board(project_id: uuid.UUID) -> None:
    lock_project(project_id)


def _reload(task: Task) -> None:
    """Re-read what other writers may have changed before the lock; NotFound if deleted."""
    try:
        db.session.refresh(task, ["status", "position", "version"])
    except InvalidRequestError as exc:  # the row is gone
        raise NotFound(TASK_NOT_FOUND) from exc


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


def _column_size(project_id: uuid.UUID, status: str) -> int:
    last = db.session.scalar(select(_last_position(project_id, status)))
    return 0 if last is None else last + 1


def _shift(project_id: uuid.UUID, status: str, lower: int, upper: int | None, by: int) -> None:
    """Add `by` to the position of the cards at lower ≤ position (< upper) in one column."""
    query = sql_update(Task).where(
        Task.project_id == project_id, Task.status == status, Task.position >= lower
    )
    if upper is not None:
        query = query.where(Task.position < upper)
    db.session.execute(
        query.values(position=Task.position + by, version=Task.version + 1).execution_options(
            synchronize_session=False
        )
    )


def _members(project_id: uuid.UUID, user_ids: Iterable[uuid.UUID]) -> list[User]:
    """The users for these ids, all of whom must be members of the project."""
    wanted = list(dict.fromkeys(user_ids))
    if not wanted:
        return []
    found = {
        user.id: user
        for user in db.session.scalars(
            select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == project_id, User.id.in_(wanted))
        )
    }
    missing = [str(uid) for uid in wanted if uid not in found]
    if missing:
        raise Invalid(
            "Assignees must be members of the project; not members: " + ", ".join(missing) + ".",
            field="assignee_ids",
        )
    return [found[uid] for uid in wanted]


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


def _load(actor: Actor, task_id: uuid.UUID) -> Task:
    """The task to change, if the actor is a member of its project; NotFound otherwise."""
    # The assignees, for reassigning and for notifying them; what a read shows is a Card.
    query = _visible(actor).where(Task.id == task_id).options(selectinload(Task.assignees))
    task = db.session.scalar(query)
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


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


# Every open board asks for its state every few seconds.
_BOARD_STATE_QUERY = Prepared(
    select(
        PROJECTS.c.board_version,
        select(func.count())
        .select_from(TASKS)
        .where(TASKS.c.project_id == PROJECTS.c.id, overdue_clause(bindparam("now")))
        .scalar_subquery()
        .label("overdue"),
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

    Cards turn overdue with time, not with a write, so the count is part of the state.
    """
    params = {"project_id": project_id, "user_id": actor.id, "now": utcnow()}
    row = read(_BOARD_STATE_QUERY, params).first()
    if row is None:
        raise NotFound(projects.PROJECT_NOT_FOUND)
    return BoardState(version=row.board_version, overdue=row.overdue)


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


def create(
    actor: Actor,
    project_id: uuid.UUID,
    *,
    title: str,
    description: str | None = None,
    status: str = "todo",
    assignee_ids: Iterable[uuid.UUID] = (),
    due_date: datetime | None = None,
) -> Card:
    """Create a card at the end of its column."""
    projects.get_for_member(actor, project_id, load=False)
    title = check_title(title)
    description = check_description(description)
    status = check_status(status)
    due_date = check_due_date(due_date)
    assignees = _members(project_id, assignee_ids)
    _lock_board(project_id)
    now = utcnow()
    task = Task(
        project_id=project_id,
        title=title,
        description=description,
        status=status,
        position=_column_size(project_id, status),
        due_date=due_date,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    task.assignees = assignees
    db.session.add(task)
    db.session.flush()
    _record(task.id, actor, "created", now, title=title, status=status)
    for user in assignees:
        _record(task.id, actor, "assignee_added", now, user_id=str(user.id), name=user.name)
    outbox = Outbox()
    outbox.assigned(task, assignees, actor)
    db.session.commit()
    outbox.dispatch()
    return get_for_member(actor, task.id)


def _move(task: Task, status: str, position: int | None) -> bool:
    """Put the card at `position` (None: the end) of column `status`; close up the old column."""
    old_status, old_position = task.status, task.position
    if status == old_status:
        size = _column_size(task.project_id, status)
        target = size - 1 if position is None else min(position, size - 1)
        if target == old_position:
            return False
        if target > old_position:
            _shift(task.project_id, status, old_position + 1, target + 1, -1)
        else:
            _shift(task.project_id, status, target, old_position, +1)
    else:
        size = _column_size(task.project_id, status)
        target = size if position is None else min(position, size)
        _shift(task.project_id, old_status, old_position + 1, None, -1)
        _shift(task.project_id, status, target, None, +1)
    task.status, task.position = status, target
    return True


def update(
    actor: Actor,
    task_id: uuid.UUID,
    *,
    title: str | None = UNSET,
    description: str | None = UNSET,
    status: str | None = UNSET,
    position: int | None = UNSET,
    assignee_ids: Iterable[uuid.UUID] | None = UNSET,
    due_date: datetime | None = UNSET,
    expected_version: int | None = None,
) -> Card:
    """Change any of a card's fields; only the given ones change. `due_date=None` clears it.

    With `expected_version`, a card changed meanwhile is refused (PreconditionFailed).
    """
    task = _load(actor, task_id)
    # Writers of one board go one at a time, and lock before they write anything.
    _lock_board(task.project_id)
    _reload(task)
    check_version(task.version, expected_version)
    now = utcnow()
    changed = False
    outbox = Outbox()
    if title is not UNSET:
        new_title = check_title(title)
        if new_title != task.title:
            _record(task.id, actor, "title_changed", now, **{"from": task.title, "to": new_title})
            task.title, changed = new_title, True
    if description is not UNSET:
        new_description = check_description(description)
        if new_description != task.description:
            _record(task.id, actor, "description_changed", now)
            task.description, changed = new_description, True
    if due_date is not UNSET:
        new_due = check_due_date(due_date)
        if new_due != task.due_date:
            _record(
                task.id,
                actor,
                "due_date_changed",
                now,
                **{"from": _iso(task.due_date), "to": _iso(new_due)},
            )
            task.due_date, changed = new_due, True
    if assignee_ids is not UNSET:
        added = _reassign(task, actor, _members(task.project_id, assignee_ids or ()), now)
        if added is not None:
            changed = True
            outbox.assigned(task, added, actor)
    if status is not UNSET or position is not UNSET:
        new_status = check_status(status) if status not in (UNSET, None) else task.status
        if position is not UNSET and position is not None and position < 0:
            raise Invalid("Position must be 0 or more.", field="position")
        new_position = None if position is UNSET else position
        if new_status != task.status or new_position is not None:
            old_status = task.status
            if _move(task, new_status, new_position):
                changed = True
                if new_status != old_status:
                    _record(
                        task.id,
                        actor,
                        "status_changed",
                        now,
                        **{"from": old_status, "to": new_status},
                    )
                    if new_status == "done":
                        outbox.moved_to_done(task, actor)
    if changed:
        task.updated_at = now
        task.version += 1
    db.session.commit()
    outbox.dispatch()
    return get_for_member(actor, task.id)


def _reassign(task: Task, actor: Actor, assignees: list[User], now: datetime) -> list[User] | None:
    """Set the assignees, recording each change; the newly added users (None: no change)."""
    current = {user.id: user for user in task.assignees}
    wanted = {user.id: user for user in assignees}
    for user_id, user in current.items():
        if user_id not in wanted:
            _record(task.id, actor, "assignee_removed", now, user_id=str(user_id), name=user.name)
    for user_id, user in wanted.items():
        if user_id not in current:
            _record(task.id, actor, "assignee_added", now, user_id=str(user_id), name=user.name)
    if current.keys() == wanted.keys():
        return None
    task.assignees = assignees
    return [user for user_id, user in wanted.items() if user_id not in current]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delete_task(actor: Actor, task_id: uuid.UUID, *, expected_version: int | None = None) -> None:
    task = _load(actor, task_id)
    _lock_board(task.project_id)
    _reload(task)
    check_version(task.version, expected_version)
    for model in (TaskAssignee, Activity, Comment):
        db.session.execute(delete(model).where(model.task_id == task.id))
    db.session.execute(delete(Task).where(Task.id == task.id))
    _shift(task.project_id, task.status, task.position + 1, None, -1)
    db.session.commit()


# Comments and history ---------------------------------------------------------------


def list_comments(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Comment]:
    """Comments oldest first, as a conversation reads."""
    _check_visible(actor, task_id)
    query = select(Comment).where(Comment.task_id == task_id)
    query = query.order_by(Comment.created_at, Comment.id).options(joinedload(Comment.author))
    return _page(query, offset, limit, _entities, orm=True)


def add_comment(actor: Actor, task_id: uuid.UUID, body: str) -> Comment:
    task = _load(actor, task_id)
    body = clean_text(body, "body", "Comment", min_len=1, max_len=COMMENT_MAX)
    _lock_board(task.project_id)
    _reload(task)  # not deleted meanwhile
    now = utcnow()
    comment = Comment(task_id=task.id, author_id=actor.id, body=body, created_at=now)
    db.session.add(comment)
    db.session.flush()
    _record(task.id, actor, "commented", now, comment_id=str(comment.id))
    outbox = Outbox()
    outbox.commented(task, comment, actor)
    db.session.commit()
    outbox.dispatch()
    return comment


def list_activity(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Activity]:
    """The task's history, newest first."""
    _check_visible(actor, task_id)
    query = select(Activity).where(Activity.task_id == task_id).order_by(Activity.id.desc())
    query = query.options(joinedload(Activity.actor))
    return _page(query, offset, limit, _entities, orm=True)

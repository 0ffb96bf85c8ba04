"""Tasks (cards): create, edit, move, assign, delete, comment — and the history of each
change. The reads are in `task_reads`; they are offered here too, so callers find every
task use case under `tasks`.

Positions are 0..n-1 inside each (project, status) column; every write that changes a
column first locks the project row, so concurrent moves cannot interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import InvalidRequestError
from sqlalchemy.orm import selectinload

from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import STATUSES, Activity, Comment, Membership, Task, TaskAssignee, User, utcnow
from . import projects
from .cards import Card
from .common import (
    COMMENT_MAX,
    Actor,
    check_description,
    check_moment,
    check_title,
    check_version,
    clean_text,
    lock_project,
)
from .notifications import Outbox
from .task_reads import (
    TASK_NOT_FOUND,
    BoardState,
    TaskFilter,
    _last_position,
    _visible,
    board_state,
    comment_counts,
    get_for_member,
    list_activity,
    list_comments,
    list_for_project,
    list_for_user,
)

__all__ = [
    "UNSET",
    "BoardState",
    "TaskFilter",
    "add_comment",
    "board_state",
    "check_due_date",
    "check_status",
    "comment_counts",
    "create",
    "delete_comment",
    "delete_task",
    "edit_comment",
    "get_comment",
    "get_for_member",
    "list_activity",
    "list_comments",
    "list_for_project",
    "list_for_user",
    "update",
]

UNSET: Any = object()


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


def _load(actor: Actor, task_id: uuid.UUID) -> Task:
    """The task to change, if the actor is a member of its project; NotFound otherwise."""
    # The assignees, for reassigning and for notifying them; what a read shows is a Card.
    query = _visible(actor).where(Task.id == task_id).options(selectinload(Task.assignees))
    task = db.session.scalar(query)
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


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
    change = _Change(task, actor, utcnow())
    if title is not UNSET:
        change.title(title)
    if description is not UNSET:
        change.description(description)
    if due_date is not UNSET:
        change.due_date(due_date)
    if assignee_ids is not UNSET:
        change.assignees(assignee_ids or ())
    if status is not UNSET or position is not UNSET:
        change.place(status, position)
    if change.changed:
        task.updated_at = change.now
        task.version += 1
    db.session.commit()
    change.outbox.dispatch()
    return get_for_member(actor, task.id)


class _Change:
    """One edit of a card, step by step: each step checks its value, changes the card if
    it differs, records the history entry, and raises the notifications it causes."""

    def __init__(self, task: Task, actor: Actor, now: datetime) -> None:
        self.task, self.actor, self.now = task, actor, now
        self.changed = False
        self.outbox = Outbox()

    def _record(self, verb: str, **detail: Any) -> None:
        _record(self.task.id, self.actor, verb, self.now, **detail)
        self.changed = True

    def title(self, title: str | None) -> None:
        new = check_title(title)
        if new != self.task.title:
            self._record("title_changed", **{"from": self.task.title, "to": new})
            self.task.title = new

    def description(self, description: str | None) -> None:
        new = check_description(description)
        if new != self.task.description:
            self._record("description_changed")
            self.task.description = new

    def due_date(self, due_date: datetime | None) -> None:
        new = check_due_date(due_date)
        if new != self.task.due_date:
            self._record("due_date_changed", **{"from": _iso(self.task.due_date), "to": _iso(new)})
            self.task.due_date = new

    def assignees(self, assignee_ids: Iterable[uuid.UUID]) -> None:
        task = self.task
        added = _reassign(task, self.actor, _members(task.project_id, assignee_ids), self.now)
        if added is not None:
            self.changed = True
            self.outbox.assigned(task, added, self.actor)

    def place(self, status: str | None, position: int | None) -> None:
        """Move within or across columns; a status alone goes to the end of its column."""
        task = self.task
        new_status = check_status(status) if status not in (UNSET, None) else task.status
        if position is not UNSET and position is not None and position < 0:
            raise Invalid("Position must be 0 or more.", field="position")
        new_position = None if position is UNSET else position
        if new_status == task.status and new_position is None:
            return
        old_status = task.status
        if not _move(task, new_status, new_position):
            return
        self.changed = True
        if new_status != old_status:
            self._record("status_changed", **{"from": old_status, "to": new_status})
            if new_status == "done":
                self.outbox.moved_to_done(task, self.actor)


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


COMMENT_NOT_FOUND = "No such comment."


def _load_comment(actor: Actor, comment_id: uuid.UUID) -> tuple[Comment, Task]:
    """The comment and its task, if the actor is a member of its project; else NotFound."""
    row = db.session.execute(
        select(Comment, Task)
        .join(Task, Task.id == Comment.task_id)
        .join(Membership, Membership.project_id == Task.project_id)
        .where(Comment.id == comment_id, Membership.user_id == actor.id)
    ).first()
    if row is None:
        raise NotFound(COMMENT_NOT_FOUND)
    return row[0], row[1]


def get_comment(actor: Actor, comment_id: uuid.UUID) -> Comment:
    """The comment, if the actor is a member of its project; NotFound otherwise."""
    return _load_comment(actor, comment_id)[0]


def edit_comment(actor: Actor, comment_id: uuid.UUID, body: str) -> Comment:
    """Change a comment's text: its author only. Recorded in the history; the comment is
    marked edited (the earlier text is not kept)."""
    comment, task = _load_comment(actor, comment_id)
    if comment.author_id != actor.id:
        raise Forbidden("Only its author can edit a comment.")
    body = clean_text(body, "body", "Comment", min_len=1, max_len=COMMENT_MAX)
    _lock_board(task.project_id)
    db.session.refresh(comment)
    if body != comment.body:
        now = utcnow()
        comment.body, comment.edited_at = body, now
        _record(task.id, actor, "comment_edited", now, comment_id=str(comment.id))
    db.session.commit()
    return comment


def delete_comment(actor: Actor, comment_id: uuid.UUID) -> None:
    """Delete a comment: its author, or the project's owner. Recorded in the history."""
    comment, task = _load_comment(actor, comment_id)
    if comment.author_id != actor.id and not projects.is_owner(actor.id, task.project_id):
        raise Forbidden("Only its author or the project's owner can delete a comment.")
    _lock_board(task.project_id)
    _record(
        task.id, actor, "comment_deleted", utcnow(), comment_id=str(comment.id),
        author=comment.author.name,
    )
    db.session.delete(comment)
    db.session.commit()

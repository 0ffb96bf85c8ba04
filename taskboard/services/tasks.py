"""Tasks (cards): create, edit, move, assign, delete, comment — and the history of each
change. The reads are in `task_reads`; they are offered here too, so callers find every
task use case under `tasks`.

Positions are 0..n-1 inside each column; a card's `status` is its column's category.
Every write that changes a column first locks the project row, so concurrent moves cannot
interleave.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import selectinload

from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import (
    STATUSES,
    Activity,
    BoardColumn,
    Comment,
    Label,
    Membership,
    Task,
    TaskLabel,
    User,
    utcnow,
)
from . import cards, columns, labels, projects, trash, webhooks
from .cards import TASKS, Card
from .common import (
    COMMENT_MAX,
    UNSET,
    Actor,
    check_description,
    check_moment,
    check_title,
    check_version,
    clean_text,
    execute_write,
    lock_project,
    lock_project_of_card,
)
from .notifications import Outbox
from .task_reads import (
    TASK_NOT_FOUND,
    BoardState,
    Placed,
    TaskFilter,
    Window,
    board_state,
    board_windows,
    changes_since,
    column_window,
    comment_counts,
    get_for_member,
    list_activity,
    list_comments,
    list_for_project,
    list_for_user,
    matching_counts,
    neighbour_position,
    placed,
    visible_to,
)

__all__ = [
    "UNSET",
    "BoardState",
    "Placed",
    "TaskFilter",
    "Window",
    "add_comment",
    "board_state",
    "board_windows",
    "changes_since",
    "check_due_date",
    "check_status",
    "column_window",
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
    "matching_counts",
    "neighbour_position",
    "placed",
    "update",
]


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise Invalid(f"Status must be one of: {', '.join(STATUSES)}.", field="status")
    return status


def check_due_date(due_date: datetime | None) -> datetime | None:
    if due_date is None:
        return None
    return check_moment(due_date, "due_date", "Due date")


def record(task_id: uuid.UUID, actor: Actor, verb: str, now: datetime, **detail: Any) -> None:
    db.session.add(
        Activity(task_id=task_id, actor_id=actor.id, verb=verb, detail=detail, created_at=now)
    )


def _lock_board(project_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """The board's write lock, for a change of one card (its polls show just that card)."""
    lock_project(project_id, task_id)


def shift(column_id: uuid.UUID, lower: int, upper: int | None, by: int) -> None:
    """Add `by` to the position of the cards at lower ≤ position (< upper) in one column."""
    params = {"in_column": column_id, "lower": lower, "by": by}
    if upper is None:
        execute_write(_SHIFT_TO_END, params)
    else:
        execute_write(_SHIFT_BETWEEN, {**params, "upper": upper})


# A card's change runs these on every move: built once, as building a statement and its
# cache key costs about what sending it does.
# On the table, run on the session's connection (`execute_write`): the cards shifted are
# not the one moving, whose own row the session writes.
_SHIFT_TO_END = (
    sql_update(TASKS)
    .where(TASKS.c.column_id == bindparam("in_column"), TASKS.c.position >= bindparam("lower"))
    .values(position=TASKS.c.position + bindparam("by"), version=TASKS.c.version + 1)
)
_SHIFT_BETWEEN = _SHIFT_TO_END.where(TASKS.c.position < bindparam("upper"))
# The assignees, for reassigning and for notifying them; what a read shows is a Card.
# The card, then its assignees. Not joined in one statement: SQLite plans that join
# (with the assignees' order) as a scan, 10 ms at 10,000 cards where the two take 0.1 ms.
_FIND = (
    visible_to(bindparam("user_id"))
    .where(Task.id == bindparam("task_id"))
    .options(selectinload(Task.assignees))
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


def _find(actor: Actor, task_id: uuid.UUID) -> Task | None:
    """The task to change, if the actor is a member of its project."""
    return db.session.scalar(_FIND, {"user_id": actor.id, "task_id": task_id})


def _load_locked(actor: Actor, task_id: uuid.UUID) -> Task:
    """The task to change, read after taking its board's write lock (so as it is now);
    NotFound, and nothing changed, if there is none the actor may see."""
    task = _find(actor, task_id) if lock_project_of_card(task_id) else None
    if task is None:
        db.session.rollback()  # not the board's lock and changed mark of a card not shown
        raise NotFound(TASK_NOT_FOUND)
    return task


def create(
    actor: Actor,
    project_id: uuid.UUID,
    *,
    title: str,
    description: str | None = None,
    status: str | None = None,
    column_id: uuid.UUID | None = None,
    assignee_ids: Iterable[uuid.UUID] = (),
    label_ids: Iterable[uuid.UUID] = (),
    due_date: datetime | None = None,
    at_top: bool = False,
) -> Card:
    """Create a card at the end of its column (`at_top`: at its top): `column_id`, else
    the first column of `status`'s category (To Do's without either)."""
    projects.check_member(actor, project_id)
    title = check_title(title)
    description = check_description(description)
    if status is not None:
        status = check_status(status)
    due_date = check_due_date(due_date)
    assignees = _members(project_id, assignee_ids)
    chosen_labels = labels.of_project(project_id, label_ids)
    task_id = uuid.uuid4()
    outbox = Outbox()
    outbox.read_hooks(project_id)
    _lock_board(project_id, task_id)
    column, size = columns.for_task(project_id, column_id, status)
    status = column.category
    if at_top:
        shift(column.id, 0, None, +1)
    now = utcnow()
    task = Task(
        id=task_id,
        project_id=project_id,
        title=title,
        description=description,
        column_id=column.id,
        status=status,
        position=0 if at_top else size,
        due_date=due_date,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    task.assignees = assignees
    db.session.add(task)
    db.session.flush()
    record(task.id, actor, "created", now, title=title, status=status, column=column.name)
    for user in assignees:
        record(task.id, actor, "assignee_added", now, user_id=str(user.id), name=user.name)
    for label in chosen_labels:
        db.session.add(TaskLabel(task_id=task.id, label_id=label.id))
        record(task.id, actor, "label_added", now, label_id=str(label.id), name=label.name)
    outbox.assigned(task, assignees, actor)
    outbox.event(project_id, "task.created", actor, task=webhooks.task_data(task))
    card = cards.written(task, actor, assignees, chosen_labels)
    db.session.commit()
    outbox.dispatch()
    # By the id at hand: reading `task.id` after the commit would load the task again.
    return card if card is not None else get_for_member(actor, task_id)


def _move(
    task: Task, column: BoardColumn, position: int | None, sizes: dict[uuid.UUID, int]
) -> bool:
    """Put the card at `position` (None: the end) of `column`; close up the old column.
    `sizes`: the card count of each column concerned, read under the board's lock."""
    old_column, old_position = task.column_id, task.position
    size = sizes[column.id]
    if column.id == old_column:
        target = size - 1 if position is None else min(position, size - 1)
        if target == old_position:
            return False
        if target > old_position:
            shift(column.id, old_position + 1, target + 1, -1)
        else:
            shift(column.id, target, old_position, +1)
    else:
        target = size if position is None else min(position, size)
        # Positions are 0..n-1: nothing follows the last card, nothing is at the end.
        if old_position + 1 < sizes[old_column]:
            shift(old_column, old_position + 1, None, -1)
        if target < size:
            shift(column.id, target, None, +1)
    task.column_id, task.status, task.position = column.id, column.category, target
    return True


def move_column_cards(actor: Actor, column: BoardColumn, target: BoardColumn) -> Outbox:
    """Every card of `column` to the end of `target`, in their order (a column being
    deleted). Each card's history says where it went; cards reaching Done are notified."""
    now = utcnow()
    offset = columns.column_size(target.id)
    moved = list(
        db.session.scalars(
            select(Task)
            .where(Task.column_id == column.id)
            .order_by(Task.position)
            .options(selectinload(Task.assignees))
        )
    )
    outbox = Outbox()
    for task in moved:
        _record_move(task, actor, now, column, target, outbox)
    db.session.execute(
        sql_update(Task)
        .where(Task.column_id == column.id)
        .values(
            column_id=target.id,
            status=target.category,
            position=Task.position + offset,
            version=Task.version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    for task in moved:
        db.session.expire(task)
    return outbox


def _record_move(
    task: Task,
    actor: Actor,
    now: datetime,
    source: BoardColumn,
    target: BoardColumn,
    outbox: Outbox,
) -> None:
    """The history entry of a card moved between columns, and the mail it causes."""
    names = {"from_column": source.name, "to_column": target.name}
    if source.category != target.category:
        detail = {"from": source.category, "to": target.category, **names}
        record(task.id, actor, "status_changed", now, **detail)
        if target.category == "done":
            outbox.moved_to_done(task, actor)
    else:
        record(task.id, actor, "column_changed", now, **{"from": source.name, "to": target.name})


def update(
    actor: Actor,
    task_id: uuid.UUID,
    *,
    title: str | None = UNSET,
    description: str | None = UNSET,
    status: str | None = UNSET,
    column_id: uuid.UUID | None = UNSET,
    position: int | None = UNSET,
    assignee_ids: Iterable[uuid.UUID] | None = UNSET,
    label_ids: Iterable[uuid.UUID] | None = UNSET,
    due_date: datetime | None = UNSET,
    expected_version: int | None = None,
) -> Card:
    """Change any of a card's fields; only the given ones change. `due_date=None` clears it.

    With `expected_version`, a card changed meanwhile is refused (PreconditionFailed).
    """
    outbox = Outbox()
    outbox.read_card_hooks(task_id)
    # Writers of one board go one at a time, and lock before they read what they change.
    task = _load_locked(actor, task_id)
    check_version(task.version, expected_version)
    change = _Change(task, actor, utcnow(), outbox)
    if title is not UNSET:
        change.title(title)
    if description is not UNSET:
        change.description(description)
    if due_date is not UNSET:
        change.due_date(due_date)
    if assignee_ids is not UNSET:
        change.assignees(assignee_ids or ())
    if label_ids is not UNSET:
        change.labels(label_ids or ())
    if status is not UNSET or position is not UNSET or column_id is not UNSET:
        change.place(status, column_id, position)
    if change.changed:
        task.updated_at = change.now
        task.version += 1
        change.events()
    db.session.commit()
    change.outbox.dispatch()
    return get_for_member(actor, task_id)  # not `task.id`: expired by the commit


class _Change:
    """One edit of a card, step by step: each step checks its value, changes the card if
    it differs, records the history entry, and raises the notifications it causes."""

    def __init__(self, task: Task, actor: Actor, now: datetime, outbox: Outbox) -> None:
        self.task, self.actor, self.now = task, actor, now
        self.changed = False
        self.edited = False  # a field other than the card's place
        # (from, to) of a new place. Both held here: the session keeps loaded rows only
        # while something refers to them.
        self.moved: tuple[BoardColumn, BoardColumn] | None = None
        self.assigned: list[User] = []  # newly assigned: told by the assigned kind
        self.outbox = outbox

    def record(self, verb: str, **detail: Any) -> None:
        record(self.task.id, self.actor, verb, self.now, **detail)
        self.changed = True
        self.edited = True

    def events(self) -> None:
        """The webhook events of the change: task.moved for a new place, task.updated for
        anything else (both when both changed)."""
        task = self.task
        db.session.flush()
        data = webhooks.task_data(task)
        if self.moved is not None:
            source, target = self.moved
            moved = {
                "task": data,
                "from": {"id": str(source.id), "name": source.name},
                "to": {"id": str(target.id), "name": target.name},
            }
            self.outbox.event(task.project_id, "task.moved", self.actor, **moved)
        if self.edited:
            self.outbox.event(task.project_id, "task.updated", self.actor, task=data)
        self._tell_watchers()

    def _tell_watchers(self) -> None:
        """One `watching` notification for the change, to those no other kind told."""
        task = self.task
        skip = {user.id for user in self.assigned}
        if self.moved is not None and self.moved[0].id != self.moved[1].id:
            source, moved_to = self.moved
            if moved_to.category == "done" and source.category != "done":
                skip |= {user.id for user in task.assignees}  # told by moved_to_done
            change, detail = "moved", f" to {moved_to.name}"
            if self.edited:
                change, detail = "moved", f" to {moved_to.name} and edited it"
        elif self.edited:
            change, detail = "edited", ""
        else:
            return
        self.outbox.watching(task, self.actor, change, detail, skip=skip)

    def title(self, title: str | None) -> None:
        new = check_title(title)
        if new != self.task.title:
            self.record("title_changed", **{"from": self.task.title, "to": new})
            self.task.title = new

    def description(self, description: str | None) -> None:
        new = check_description(description)
        if new != self.task.description:
            self.record("description_changed")
            self.task.description = new

    def due_date(self, due_date: datetime | None) -> None:
        new = check_due_date(due_date)
        if new != self.task.due_date:
            self.record("due_date_changed", **{"from": _iso(self.task.due_date), "to": _iso(new)})
            self.task.due_date = new

    def assignees(self, assignee_ids: Iterable[uuid.UUID]) -> None:
        task = self.task
        added = _reassign(task, self.actor, _members(task.project_id, assignee_ids), self.now)
        if added is not None:
            self.changed = True
            self.edited = True
            self.assigned.extend(added)
            self.outbox.assigned(task, added, self.actor)

    def labels(self, label_ids: Iterable[uuid.UUID]) -> None:
        task = self.task
        wanted = {label.id: label for label in labels.of_project(task.project_id, label_ids)}
        current = {
            label.id: label
            for label in db.session.scalars(
                select(Label)
                .join(TaskLabel, TaskLabel.label_id == Label.id)
                .where(TaskLabel.task_id == task.id)
            )
        }
        for label_id, label in current.items():
            if label_id not in wanted:
                db.session.execute(
                    delete(TaskLabel).where(
                        TaskLabel.task_id == task.id, TaskLabel.label_id == label_id
                    )
                )
                self.record("label_removed", label_id=str(label_id), name=label.name)
        for label_id, label in wanted.items():
            if label_id not in current:
                db.session.add(TaskLabel(task_id=task.id, label_id=label_id))
                self.record("label_added", label_id=str(label_id), name=label.name)

    def place(self, status: str | None, column_id: uuid.UUID | None, position: int | None) -> None:
        """Move within or across columns. A column, or a status other than the card's
        (which goes to the first column of that category), ends at `position` or the end;
        a position alone moves the card inside its column."""
        task = self.task
        status = check_status(status) if status not in (UNSET, None) else None
        if position is not UNSET and position is not None and position < 0:
            raise Invalid("Position must be 0 or more.", field="position")
        new_position = None if position is UNSET else position
        named = None if column_id is UNSET else column_id
        route = columns.route(task.column_id, task.project_id, named, status)
        source, target = route.source, route.target
        if target.id == source.id and new_position is None:
            return
        if not _move(task, target, new_position, route.sizes):
            return
        self.changed = True
        self.moved = (source, target)
        if target.id != source.id:
            _record_move(task, self.actor, self.now, source, target, self.outbox)


def _reassign(task: Task, actor: Actor, assignees: list[User], now: datetime) -> list[User] | None:
    """Set the assignees, recording each change; the newly added users (None: no change)."""
    current = {user.id: user for user in task.assignees}
    wanted = {user.id: user for user in assignees}
    for user_id, user in current.items():
        if user_id not in wanted:
            record(task.id, actor, "assignee_removed", now, user_id=str(user_id), name=user.name)
    for user_id, user in wanted.items():
        if user_id not in current:
            record(task.id, actor, "assignee_added", now, user_id=str(user_id), name=user.name)
    if current.keys() == wanted.keys():
        return None
    task.assignees = assignees
    return [user for user_id, user in wanted.items() if user_id not in current]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def delete_task(actor: Actor, task_id: uuid.UUID, *, expected_version: int | None = None) -> None:
    task = _load_locked(actor, task_id)
    check_version(task.version, expected_version)
    outbox = Outbox()
    outbox.event(
        task.project_id,
        "task.deleted",
        actor,
        task={"id": str(task.id), "project_id": str(task.project_id), "title": task.title},
    )
    trash.put_task(actor, task)
    shift(task.column_id, task.position + 1, None, -1)
    db.session.commit()
    outbox.dispatch()


def add_comment(actor: Actor, task_id: uuid.UUID, body: str) -> Comment:
    body = clean_text(body, "body", "Comment", min_len=1, max_len=COMMENT_MAX)
    task = _load_locked(actor, task_id)
    now = utcnow()
    comment = Comment(task_id=task.id, author_id=actor.id, body=body, created_at=now)
    db.session.add(comment)
    db.session.flush()
    record(task.id, actor, "commented", now, comment_id=str(comment.id))
    outbox = Outbox()
    outbox.commented(task, comment, actor)
    outbox.event(
        task.project_id,
        "comment.created",
        actor,
        comment=webhooks.comment_data(comment),
        task=webhooks.task_data(task),
    )
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
    _lock_board(task.project_id, task.id)
    db.session.refresh(comment)
    if body != comment.body:
        now = utcnow()
        comment.body, comment.edited_at = body, now
        record(task.id, actor, "comment_edited", now, comment_id=str(comment.id))
    db.session.commit()
    return comment


def delete_comment(actor: Actor, comment_id: uuid.UUID) -> None:
    """Delete a comment: its author, or the project's owner. Recorded in the history."""
    comment, task = _load_comment(actor, comment_id)
    if comment.author_id != actor.id and not projects.is_owner(actor.id, task.project_id):
        raise Forbidden("Only its author or the project's owner can delete a comment.")
    _lock_board(task.project_id, task.id)
    record(
        task.id,
        actor,
        "comment_deleted",
        utcnow(),
        comment_id=str(comment.id),
        author=comment.author.name,
    )
    db.session.delete(comment)
    db.session.commit()

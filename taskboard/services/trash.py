"""The trash: a deleted task or project is kept for `TRASH_DAYS`, then purged.

Deleting writes the item's rows as they were into one `TrashItem` and removes them, so
a trashed card is gone from every list, filter, count, export, feed and notification
without a condition in any of their queries. Restoring puts the same rows back, with the
same ids: comments, history, checklist, labels, assignees and attachments included. The
attachments' files stay in the storage until the item is purged.

A task can be restored by any member of its project, a project by its owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.orm import Mapped, defer, joinedload

from ..errors import NotFound
from ..extensions import db
from ..models import (
    Activity,
    Attachment,
    BlobRemoval,
    BoardColumn,
    ChecklistItem,
    Comment,
    Invitation,
    Label,
    Membership,
    Notification,
    Project,
    ProjectFollow,
    Task,
    TaskAssignee,
    TaskLabel,
    TaskWatch,
    TrashItem,
    UTCDateTime,
    Webhook,
    WebhookDelivery,
    utcnow,
)
from .common import Actor, Page, lock_project

# A task's own rows besides its card, in the order they are put back.
TASK_PARTS: tuple[type, ...] = (
    TaskLabel,
    TaskAssignee,
    ChecklistItem,
    Comment,
    Activity,
    Attachment,
    TaskWatch,
)
# A project's rows besides its tasks, in the order they are put back.
PROJECT_PARTS: tuple[type, ...] = (
    Membership,
    BoardColumn,
    Label,
    Invitation,
    Webhook,
    ProjectFollow,
)
NOT_IN_TRASH = "Nothing with this id is in the trash."


def days() -> int:
    return int(current_app.config["TRASH_DAYS"])


# Rows to JSON and back -----------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _dump(model: type, where: Any) -> list[dict[str, Any]]:
    table = model.__table__
    return [
        {key: _plain(value) for key, value in row.items()}
        for row in db.session.execute(select(table).where(where)).mappings()
    ]


def _typed(model: type, row: dict[str, Any]) -> dict[str, Any]:
    """A dumped row with its uuids and moments as the columns' types want them; columns
    the row does not name (added by a later migration) get their defaults."""
    out: dict[str, Any] = {}
    for column in model.__table__.columns:
        if column.key not in row:
            continue
        value = row[column.key]
        if value is not None and isinstance(column.type, db.Uuid):
            value = uuid.UUID(value)
        elif value is not None and isinstance(column.type, UTCDateTime):
            value = datetime.fromisoformat(value)
        out[column.key] = value
    return out


def _put_back(model: type, rows: list[dict[str, Any]]) -> None:
    if rows:
        db.session.execute(insert(model.__table__), [_typed(model, row) for row in rows])


def _task_rows(task_ids: Any) -> dict[str, list[dict[str, Any]]]:
    return {model.__tablename__: _dump(model, model.task_id.in_(task_ids)) for model in TASK_PARTS}


def _silence(where: Any, reason: str) -> None:
    """Mail not yet sent about what goes to the trash is not sent (`reason` is kept,
    as the worker keeps its own when it skips a mail)."""
    db.session.execute(
        update(Notification)
        .where(where, Notification.status.in_(("pending", "digest")))
        .values(status="skipped", last_error=reason)
        .execution_options(synchronize_session=False)
    )


def hidden_notifications() -> Any:
    """A condition true of a notification about something in the trash (the inbox)."""
    return exists(
        select(TrashItem.id).where(
            or_(
                and_(TrashItem.task_id.is_not(None), TrashItem.task_id == Notification.task_id),
                and_(TrashItem.kind == "project", TrashItem.project_id == Notification.project_id),
            )
        )
    )


# Putting in ----------------------------------------------------------------------------


def put_task(actor: Actor, task: Task) -> None:
    """In the transaction deleting `task`: keep its rows and remove them (the card's
    column is closed up by the caller)."""
    put_tasks(actor, [(task.id, task.project_id, task.title)])


def put_tasks(actor: Actor, tasks: list[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """`put_task` for many cards (id, project id, title) at once: one statement per
    table, whatever their number (an import's archived cards)."""
    if not tasks:
        return
    now = utcnow()
    for start in range(0, len(tasks), 500):
        batch = tasks[start : start + 500]
        ids = [task_id for task_id, _, _ in batch]
        rows: dict[str, dict[str, list[dict[str, Any]]]] = {str(i): {} for i in ids}
        for model in (Task, *TASK_PARTS):
            column = Task.id if model is Task else model.task_id
            for row in _dump(model, column.in_(ids)):
                key = row["id"] if model is Task else row["task_id"]
                rows[key].setdefault(model.__tablename__, []).append(row)
        db.session.execute(
            insert(TrashItem),
            [
                {
                    "id": uuid.uuid4(),
                    "kind": "task",
                    "project_id": project_id,
                    "task_id": task_id,
                    "title": title,
                    "deleted_by_id": actor.id,
                    "deleted_at": now,
                    "data": rows[str(task_id)],
                    "file_keys": [
                        row["storage_key"]
                        for row in rows[str(task_id)].get(Attachment.__tablename__, [])
                    ],
                }
                for task_id, project_id, title in batch
            ],
        )
        _silence(Notification.task_id.in_(ids), "the task was deleted")
        for model in TASK_PARTS:
            db.session.execute(delete(model).where(model.task_id.in_(ids)))
        db.session.execute(delete(Task).where(Task.id.in_(ids)))


def put_project(actor: Actor, project: Project) -> TrashItem:
    """In the transaction deleting `project`: keep all its rows and remove them."""
    task_ids = select(Task.id).where(Task.project_id == project.id)
    hooks = select(Webhook.id).where(Webhook.project_id == project.id)
    data: dict[str, list[dict[str, Any]]] = {"projects": _dump(Project, Project.id == project.id)}
    for model in PROJECT_PARTS:
        data[model.__tablename__] = _dump(model, model.project_id == project.id)
    data[WebhookDelivery.__tablename__] = _dump(
        WebhookDelivery, WebhookDelivery.webhook_id.in_(hooks)
    )
    data["tasks"] = _dump(Task, Task.project_id == project.id)
    data.update(_task_rows(task_ids))
    item = TrashItem(
        kind="project",
        project_id=project.id,
        owner_id=project.owner_id,
        title=project.title,
        deleted_by_id=actor.id,
        deleted_at=utcnow(),
        data=data,
        file_keys=[row["storage_key"] for row in data[Attachment.__tablename__]],
    )
    db.session.add(item)
    _silence(Notification.project_id == project.id, "the project was deleted")
    # Explicit deletes, children first, so SQLite behaves like PostgreSQL whatever cascades.
    for model in TASK_PARTS:
        db.session.execute(delete(model).where(model.task_id.in_(task_ids)))
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(hooks)))
    db.session.execute(delete(Task).where(Task.project_id == project.id))
    for model in reversed(PROJECT_PARTS):
        db.session.execute(delete(model).where(model.project_id == project.id))
    db.session.execute(delete(Project).where(Project.id == project.id))
    return item


# Reading -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Trashed:
    """A trash entry as the pages and the API show it."""

    id: uuid.UUID
    kind: str
    title: str
    project_id: uuid.UUID
    task_id: uuid.UUID | None
    project_title: str | None
    deleted_at: datetime
    deleted_by: Any
    purge_at: datetime


def _shown(rows: list[tuple[TrashItem, str | None]]) -> list[Trashed]:
    keep = timedelta(days=days())
    return [
        Trashed(
            item.id,
            item.kind,
            item.title,
            item.project_id,
            item.task_id,
            project_title if item.kind == "task" else item.title,
            item.deleted_at,
            item.deleted_by,
            item.deleted_at + keep,
        )
        for item, project_title in rows
    ]


def _page(where: Any, offset: int, limit: int | None) -> Page[Trashed]:
    total = db.session.scalar(select(func.count()).select_from(TrashItem).where(where)) or 0
    query = (
        select(TrashItem, Project.title)
        .outerjoin(Project, Project.id == TrashItem.project_id)
        # The rows it keeps can be megabytes (a project): not read for a list.
        .options(
            joinedload(TrashItem.deleted_by), defer(TrashItem.data), defer(TrashItem.file_keys)
        )
        .where(where)
        .order_by(TrashItem.deleted_at.desc(), TrashItem.id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return Page(_shown([(row[0], row[1]) for row in db.session.execute(query)]), total)


def for_project(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Trashed]:
    """The project's trashed tasks, newest first (members only)."""
    from . import projects

    projects.check_member(actor, project_id)
    where = (TrashItem.kind == "task") & (TrashItem.project_id == project_id)
    return _page(where, offset, limit)


def for_user(actor: Actor, *, offset: int = 0, limit: int | None = None) -> Page[Trashed]:
    """What the actor can restore: the projects they own and the tasks of their projects."""
    mine = select(Membership.project_id).where(Membership.user_id == actor.id)
    where = ((TrashItem.kind == "project") & (TrashItem.owner_id == actor.id)) | (
        (TrashItem.kind == "task") & TrashItem.project_id.in_(mine)
    )
    return _page(where, offset, limit)


def count_for_project(project_id: uuid.UUID) -> int:
    where = (TrashItem.kind == "task") & (TrashItem.project_id == project_id)
    return db.session.scalar(select(func.count()).select_from(TrashItem).where(where)) or 0


# Restoring -----------------------------------------------------------------------------


def _item(where: Any) -> TrashItem:
    item = db.session.scalar(select(TrashItem).where(where))
    if item is None:
        raise NotFound(NOT_IN_TRASH)
    return item


def _take(item_id: uuid.UUID) -> bool:
    """Delete the entry being restored; False (rolled back) when it is already gone."""
    taken = db.session.execute(
        delete(TrashItem)
        .where(TrashItem.id == item_id)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        db.session.rollback()
        return False
    return True


def _column_for(project_id: uuid.UUID, row: dict[str, Any]) -> BoardColumn:
    """The card's column if it still exists, else the first of its category, else the
    first column."""
    column = db.session.get(BoardColumn, uuid.UUID(row["column_id"]))
    if column is not None and column.project_id == project_id:
        return column
    order = (BoardColumn.position, BoardColumn.created_at)
    status = row.get("status")
    if status:
        column = db.session.scalar(
            select(BoardColumn)
            .where(BoardColumn.project_id == project_id, BoardColumn.category == status)
            .order_by(*order)
            .limit(1)
        )
    if column is None:
        column = db.session.scalar(
            select(BoardColumn).where(BoardColumn.project_id == project_id).order_by(*order)
        )
    return column


def _ids(model: type, column: Mapped[Any], where: Any) -> set[str]:
    return {str(value) for value in db.session.scalars(select(column).where(where))}


def restore_task(actor: Actor, task_id: uuid.UUID) -> uuid.UUID:
    """Put a trashed task back where it was (its column, or the first of its category
    if that column is gone), with everything it had; any member of its project."""
    from . import columns, projects
    from .notifications import Outbox
    from .tasks import record, shift

    item = _item((TrashItem.kind == "task") & (TrashItem.task_id == task_id))
    projects.check_member(actor, item.project_id)
    lock_project(item.project_id, task_id)
    # Taken first: a concurrent restore, purge or "delete for good" finds it gone (the
    # DELETE locks its row on PostgreSQL), so its files are never removed under the card.
    if not _take(item.id):
        raise NotFound(NOT_IN_TRASH)
    rows = dict(item.data)
    card = dict(rows["tasks"][0])
    column = _column_for(item.project_id, card)
    position = min(int(card.get("position", 0)), columns.column_size(column.id))
    shift(column.id, position, None, +1)
    now = utcnow()
    card.update(
        column_id=str(column.id),
        status=column.category,
        position=position,
        version=int(card.get("version", 1)) + 1,
        updated_at=now.isoformat(),
    )
    _put_back(Task, [card])
    members = _ids(Membership, Membership.user_id, Membership.project_id == item.project_id)
    labels = _ids(Label, Label.id, Label.project_id == item.project_id)
    keep = {
        TaskLabel: lambda row: row["label_id"] in labels,
        TaskAssignee: lambda row: row["user_id"] in members,
        TaskWatch: lambda row: row["user_id"] in members,
    }
    for model in TASK_PARTS:
        wanted = keep.get(model, lambda row: True)
        _put_back(model, [row for row in rows.get(model.__tablename__, []) if wanted(row)])
    record(task_id, actor, "restored", now, column=column.name)
    outbox = Outbox()
    task = db.session.get(Task, task_id)
    from . import webhooks

    outbox.event(item.project_id, "task.created", actor, task=webhooks.task_data(task))
    db.session.commit()
    outbox.dispatch()
    return task_id


def restore_project(actor: Actor, project_id: uuid.UUID) -> uuid.UUID:
    """Put a trashed project back with all its rows; its owner only."""
    item = _item((TrashItem.kind == "project") & (TrashItem.project_id == project_id))
    if item.owner_id != actor.id:
        raise NotFound(NOT_IN_TRASH)  # to anyone else it is not there, like the project
    if not _take(item.id):  # restored or purged by a concurrent request
        raise NotFound(NOT_IN_TRASH)
    rows = item.data
    project = dict(rows["projects"][0])
    project["version"] = int(project.get("version", 1)) + 1
    project["board_version"] = int(project.get("board_version", 0)) + 1
    project["updated_at"] = utcnow().isoformat()
    _put_back(Project, [project])
    for model in (*PROJECT_PARTS, WebhookDelivery, Task, *TASK_PARTS):
        _put_back(model, rows.get(model.__tablename__, []))
    db.session.commit()
    return project_id


# Purging -------------------------------------------------------------------------------


def _purge(where: Any) -> tuple[int, int]:
    """Delete these entries and write a removal for each file they kept: (entries,
    files). Only the rows this statement deletes count: an entry restored (or purged)
    meanwhile by another request keeps its files."""
    gone = db.session.execute(
        delete(TrashItem)
        .where(where)
        .returning(TrashItem.file_keys)
        .execution_options(synchronize_session=False)
    ).all()
    keys = [key for (file_keys,) in gone for key in file_keys or ()]
    if keys:
        now = utcnow()
        db.session.execute(
            insert(BlobRemoval),
            [
                {
                    "id": uuid.uuid4(),
                    "storage_key": key,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for key in keys
            ],
        )
    return len(gone), len(keys)


def purge(now: datetime | None = None, *, batch: int = 200) -> int:
    """Remove what has been in the trash longer than `TRASH_DAYS`, with the tasks trashed
    from a purged project and every file they had; the number of entries purged."""
    cutoff = (now or utcnow()) - timedelta(days=days())
    purged = files = 0
    while True:
        # Ids only: an entry's kept rows can be megabytes.
        old = db.session.execute(
            select(TrashItem.id, TrashItem.kind, TrashItem.project_id)
            .where(TrashItem.deleted_at < cutoff)
            .limit(batch)
        ).all()
        if not old:
            break
        ids = [row.id for row in old]
        projects = [row.project_id for row in old if row.kind == "project"]
        where = TrashItem.id.in_(ids)
        if projects:
            where = where | ((TrashItem.kind == "task") & TrashItem.project_id.in_(projects))
        entries, removed = _purge(where)
        purged, files = purged + entries, files + removed
        db.session.commit()
    if files:
        from .attachments import queue_removals

        queue_removals()
    return purged


def forget(actor: Actor, item_id: uuid.UUID) -> None:
    """Delete one trash entry for good (who may restore it may do this); a project's
    takes the tasks trashed from it along."""
    found = db.session.execute(
        select(TrashItem.kind, TrashItem.project_id, TrashItem.owner_id).where(
            TrashItem.id == item_id
        )
    ).first()
    if found is None:
        raise NotFound(NOT_IN_TRASH)
    where = TrashItem.id == item_id
    if found.kind == "project":
        if found.owner_id != actor.id:
            raise NotFound(NOT_IN_TRASH)
        where = where | ((TrashItem.kind == "task") & (TrashItem.project_id == found.project_id))
    else:
        from . import projects

        projects.check_member(actor, found.project_id)
    _, files = _purge(where)
    db.session.commit()
    if files:
        from .attachments import queue_removals

        queue_removals()

"""A card's checklist: items with text, done or not, in order (positions 0..n-1).

Every change is a history entry of the card and keeps the card's counts (`done/total`,
shown on its front) and version current, under the project's write lock.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.exc import InvalidRequestError

from ..errors import Invalid, NotFound
from ..extensions import db
from ..models import Activity, ChecklistItem, Membership, Task, utcnow
from .common import CHECKLIST_TEXT_MAX, UNSET, Actor, Page, clean_text, lock_project
from .task_reads import TASK_NOT_FOUND, _visible

ITEM_NOT_FOUND = "No such checklist item."


def check_text(text: str | None) -> str:
    return clean_text(text, "text", "Item text", min_len=1, max_len=CHECKLIST_TEXT_MAX)


def _task(actor: Actor, task_id: uuid.UUID) -> Task:
    task = db.session.scalar(_visible(actor).where(Task.id == task_id))
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


def _items(task_id: uuid.UUID) -> list[ChecklistItem]:
    query = (
        select(ChecklistItem)
        .where(ChecklistItem.task_id == task_id)
        .order_by(ChecklistItem.position, ChecklistItem.id)
    )
    return list(db.session.scalars(query))


def list_items(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[ChecklistItem]:
    _task(actor, task_id)
    items = _items(task_id)
    end = None if limit is None else offset + limit
    return Page(items[offset:end], len(items))


def _locked_task(task: Task) -> None:
    lock_project(task.project_id, task.id)
    try:
        db.session.refresh(task)
    except InvalidRequestError as exc:  # deleted meanwhile
        raise NotFound(TASK_NOT_FOUND) from exc


def _changed(task: Task, actor: Actor, verb: str, **detail: Any) -> None:
    """Record the change, recount the card's items, move its version."""
    now = utcnow()
    db.session.add(
        Activity(task_id=task.id, actor_id=actor.id, verb=verb, detail=detail, created_at=now)
    )
    db.session.flush()
    total, done = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(cast(ChecklistItem.done, Integer)), 0),
        ).where(ChecklistItem.task_id == task.id)
    ).one()
    task.checklist_total, task.checklist_done = total, done
    task.version += 1
    task.updated_at = now


def add_item(
    actor: Actor, task_id: uuid.UUID, *, text: str, position: int | None = None
) -> ChecklistItem:
    """A new item at `position` (None or past the end: the end)."""
    task = _task(actor, task_id)
    text = check_text(text)
    if position is not None and position < 0:
        raise Invalid("Position must be 0 or more.", field="position")
    _locked_task(task)
    items = _items(task.id)
    target = len(items) if position is None else min(position, len(items))
    for item in items[target:]:
        item.position += 1
    item = ChecklistItem(task_id=task.id, text=text, done=False, position=target,
                         created_at=utcnow())
    db.session.add(item)
    db.session.flush()
    _changed(task, actor, "checklist_item_added", item_id=str(item.id), text=text)
    db.session.commit()
    return item


def _load(actor: Actor, item_id: uuid.UUID) -> tuple[ChecklistItem, Task]:
    row = db.session.execute(
        select(ChecklistItem, Task)
        .join(Task, Task.id == ChecklistItem.task_id)
        .join(Membership, Membership.project_id == Task.project_id)
        .where(ChecklistItem.id == item_id, Membership.user_id == actor.id)
    ).first()
    if row is None:
        raise NotFound(ITEM_NOT_FOUND)
    return row[0], row[1]


def get_item(actor: Actor, item_id: uuid.UUID) -> ChecklistItem:
    return _load(actor, item_id)[0]


def update_item(
    actor: Actor,
    item_id: uuid.UUID,
    *,
    text: str = UNSET,
    done: bool = UNSET,
    position: int = UNSET,
) -> ChecklistItem:
    """Change an item's text, tick it, or move it; each change a history entry."""
    item, task = _load(actor, item_id)
    if text is not UNSET:
        text = check_text(text)
    if done is not UNSET and not isinstance(done, bool):
        raise Invalid("Done must be true or false.", field="done")
    if position is not UNSET and (position is None or position < 0):
        raise Invalid("Position must be 0 or more.", field="position")
    _locked_task(task)
    try:
        db.session.refresh(item)
    except InvalidRequestError as exc:
        raise NotFound(ITEM_NOT_FOUND) from exc
    if text is not UNSET and text != item.text:
        old, item.text = item.text, text
        _changed(task, actor, "checklist_item_edited", item_id=str(item.id),
                 **{"from": old, "to": text})
    if done is not UNSET and done != item.done:
        item.done = done
        _changed(task, actor, "checklist_item_checked" if done else "checklist_item_unchecked",
                 item_id=str(item.id), text=item.text)
    if position is not UNSET and position != item.position:
        others = [each for each in _items(task.id) if each.id != item.id]
        others.insert(min(position, len(others)), item)
        for index, each in enumerate(others):
            each.position = index
        task.version += 1
    db.session.commit()
    return item


def delete_item(actor: Actor, item_id: uuid.UUID) -> None:
    item, task = _load(actor, item_id)
    _locked_task(task)
    try:
        db.session.refresh(item)
    except InvalidRequestError as exc:
        raise NotFound(ITEM_NOT_FOUND) from exc
    text = item.text
    db.session.delete(item)
    db.session.flush()
    for index, each in enumerate(_items(task.id)):
        each.position = index
    _changed(task, actor, "checklist_item_removed", item_id=str(item_id), text=text)
    db.session.commit()

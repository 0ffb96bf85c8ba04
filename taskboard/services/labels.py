"""A project's labels: named, from a fixed palette, put on its cards. Members manage them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete as sql_delete
from sqlalchemy import select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import InvalidRequestError

from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models import LABEL_COLORS, Label, Membership, Task, TaskLabel, utcnow
from . import projects
from .common import LABEL_NAME_MAX, UNSET, Actor, Page, clean_text, lock_project

LABEL_NOT_FOUND = "No such label."


def check_name(name: str | None) -> str:
    return clean_text(name, "name", "Label name", min_len=1, max_len=LABEL_NAME_MAX)


def check_color(color: str | None) -> str:
    if color not in LABEL_COLORS:
        raise Invalid(f"Color must be one of: {', '.join(LABEL_COLORS)}.", field="color")
    return color


def list_for_project(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Label]:
    """The project's labels by name."""
    projects.check_member(actor, project_id)
    labels = list(
        db.session.scalars(
            select(Label)
            .where(Label.project_id == project_id)
            .order_by(Label.name_key, Label.id)
        )
    )
    end = None if limit is None else offset + limit
    return Page(labels[offset:end], len(labels))


def _load(actor: Actor, label_id: uuid.UUID) -> Label:
    label = db.session.scalar(
        select(Label)
        .join(Membership, Membership.project_id == Label.project_id)
        .where(Label.id == label_id, Membership.user_id == actor.id)
    )
    if label is None:
        raise NotFound(LABEL_NOT_FOUND)
    return label


def get_for_member(actor: Actor, label_id: uuid.UUID) -> Label:
    return _load(actor, label_id)


def _check_unique(project_id: uuid.UUID, name: str, skip: uuid.UUID | None = None) -> None:
    query = select(Label.id).where(
        Label.project_id == project_id, Label.name_key == name.casefold()
    )
    if skip is not None:
        query = query.where(Label.id != skip)
    if db.session.scalar(query) is not None:
        raise Conflict("A label of this project already has this name.", field="name")


def _cards_changed(label_id: uuid.UUID) -> None:
    """The cards showing a label changed with it: their version (the API's ETag) moves."""
    db.session.execute(
        sql_update(Task)
        .where(Task.id.in_(select(TaskLabel.task_id).where(TaskLabel.label_id == label_id)))
        .values(version=Task.version + 1)
        .execution_options(synchronize_session=False)
    )


def create(actor: Actor, project_id: uuid.UUID, *, name: str, color: str = "gray") -> Label:
    projects.check_member(actor, project_id)
    name, color = check_name(name), check_color(color)
    lock_project(project_id)
    _check_unique(project_id, name)
    label = Label(
        project_id=project_id, name=name, name_key=name.casefold(), color=color,
        created_at=utcnow(),
    )
    db.session.add(label)
    db.session.commit()
    return label


def update(actor: Actor, label_id: uuid.UUID, *, name: str = UNSET, color: str = UNSET) -> Label:
    label = _load(actor, label_id)
    lock_project(label.project_id)
    try:
        db.session.refresh(label)
    except InvalidRequestError as exc:
        raise NotFound(LABEL_NOT_FOUND) from exc
    if name is not UNSET:
        name = check_name(name)
        _check_unique(label.project_id, name, skip=label.id)
        label.name, label.name_key = name, name.casefold()
    if color is not UNSET:
        label.color = check_color(color)
    _cards_changed(label.id)
    db.session.commit()
    return label


def delete(actor: Actor, label_id: uuid.UUID) -> None:
    label = _load(actor, label_id)
    lock_project(label.project_id)
    _cards_changed(label.id)
    db.session.execute(sql_delete(TaskLabel).where(TaskLabel.label_id == label.id))
    db.session.execute(sql_delete(Label).where(Label.id == label.id))
    db.session.commit()


def of_project(project_id: uuid.UUID, label_ids: Iterable[uuid.UUID]) -> list[Label]:
    """The labels for these ids, all of which must be the project's (Invalid otherwise)."""
    wanted = list(dict.fromkeys(label_ids))
    if not wanted:
        return []
    found = {
        label.id: label
        for label in db.session.scalars(
            select(Label).where(Label.project_id == project_id, Label.id.in_(wanted))
        )
    }
    missing = [str(each) for each in wanted if each not in found]
    if missing:
        raise Invalid(
            "Labels must be this project's; not its labels: " + ", ".join(missing) + ".",
            field="label_ids",
        )
    return [found[each] for each in wanted]

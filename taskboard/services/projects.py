"""Projects and their members. To a non-member a project does not exist."""

from __future__ import annotations

import uuid

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm import joinedload, selectinload

from ..connection import read_memo
from ..database import Prepared, read
from ..errors import Conflict, Forbidden, Invalid, NotFound
from ..extensions import db
from ..models import (
    Activity,
    Membership,
    Project,
    Task,
    TaskAssignee,
    User,
    utcnow,
)
from . import accounts, trash
from .common import Actor, Page, check_description, check_title, check_version, lock_project
from .notifications import Outbox

PROJECT_NOT_FOUND = "No such project."


def _loaded() -> tuple:
    return (joinedload(Project.owner), selectinload(Project.members))


def is_member(user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    return db.session.get(Membership, (project_id, user_id)) is not None


def is_owner(user_id: uuid.UUID, project_id: uuid.UUID) -> bool:
    project = db.session.get(Project, project_id)
    return project is not None and project.owner_id == user_id


def get_for_member(actor: Actor, project_id: uuid.UUID, *, load: bool = True) -> Project:
    """The project if the actor is a member; NotFound otherwise. A page that only reads
    checks once, however many of its reads ask (`load=False`: the check alone)."""
    memo = read_memo()
    key = ("member", actor.id, project_id)
    if memo is not None and not load and memo.get(key) is not None:
        return memo[key]
    query = (
        select(Project)
        .join(Membership, Membership.project_id == Project.id)
        .where(Project.id == project_id, Membership.user_id == actor.id)
    )
    if load:
        query = query.options(*_loaded())
    project = db.session.scalar(query)
    if project is None:
        raise NotFound(PROJECT_NOT_FOUND)
    if memo is not None:
        memo[key] = project
    return project


# A membership row exists only while its project does (it is deleted with it).
MEMBERSHIPS = Membership.__table__
_MEMBERSHIP = Prepared(
    select(MEMBERSHIPS.c.user_id).where(
        MEMBERSHIPS.c.project_id == bindparam("project_id"),
        MEMBERSHIPS.c.user_id == bindparam("user_id"),
    )
)


def check_member(actor: Actor, project_id: uuid.UUID) -> None:
    """NotFound unless the actor is a member of the project: `get_for_member` for a
    caller that needs the check alone, in one prepared read (once a safe request)."""
    memo = read_memo()
    key = ("member", actor.id, project_id)
    if memo is not None and key in memo:
        return
    if not read(_MEMBERSHIP, {"project_id": project_id, "user_id": actor.id}):
        raise NotFound(PROJECT_NOT_FOUND)
    if memo is not None:
        memo[key] = None


def get_for_owner(actor: Actor, project_id: uuid.UUID) -> Project:
    """The project if the actor owns it; Forbidden for other members, NotFound for the rest."""
    project = get_for_member(actor, project_id)
    if project.owner_id != actor.id:
        raise Forbidden("Only the project owner can do this.")
    return project


def list_for_member(actor: Actor, *, offset: int = 0, limit: int | None = None) -> Page[Project]:
    base = (
        select(Project)
        .join(Membership, Membership.project_id == Project.id)
        .where(Membership.user_id == actor.id)
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.options(*_loaded()).order_by(Project.created_at, Project.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


def create(actor: Actor, title: str, description: str | None = None) -> Project:
    now = utcnow()
    project = Project(
        title=check_title(title),
        description=check_description(description),
        owner_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(project)
    db.session.flush()
    db.session.add(Membership(project_id=project.id, user_id=actor.id, created_at=now))
    from . import columns  # columns reads projects for its membership checks

    columns.add_defaults(project.id, now)
    db.session.commit()
    return get_for_member(actor, project.id)


def update(
    actor: Actor,
    project_id: uuid.UUID,
    *,
    title: str | None = None,
    description: str | None = None,
    expected_version: int | None = None,
) -> Project:
    """Rename or describe a project (owner only); a stale `expected_version` is refused."""
    project = locked(get_for_owner(actor, project_id), expected_version)
    changed = False
    if title is not None:
        project.title = check_title(title)
        changed = True
    if description is not None:
        project.description = check_description(description)
        changed = True
    if changed:
        project.updated_at = utcnow()
        project.version = Project.version + 1
    db.session.commit()
    return project


def locked(project: Project, expected_version: int | None = None) -> Project:
    """The project, its row locked for this transaction and its version checked."""
    lock_project(project.id)
    try:
        db.session.refresh(project, ["version"])
    except InvalidRequestError as exc:  # the row is gone
        raise NotFound("No such project.") from exc
    check_version(project.version, expected_version, "project")
    return project


def delete_project(
    actor: Actor, project_id: uuid.UUID, *, expected_version: int | None = None
) -> None:
    """Move the project, with its tasks, comments and history, to the trash."""
    project = locked(get_for_owner(actor, project_id), expected_version)
    trash.put_project(actor, project)
    db.session.commit()


def list_members(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[User]:
    check_member(actor, project_id)
    base = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id)
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.order_by(Membership.created_at, User.email).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


def add_member(actor: Actor, project_id: uuid.UUID, email: str) -> User:
    project = locked(get_for_owner(actor, project_id), None)
    user = accounts.find_by_email(email)
    if user is None or not user.is_active:
        raise Invalid("No user with this email.", field="email")
    if is_member(user.id, project.id):
        raise Conflict("This user is already a member.", field="email")
    db.session.add(Membership(project_id=project.id, user_id=user.id))
    project.version = Project.version + 1
    outbox = Outbox()
    outbox.added_to_project(project, user, actor)
    outbox.event(project.id, "member.added", actor, member={"id": str(user.id), "name": user.name})
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise Conflict("This user is already a member.", field="email") from exc
    outbox.dispatch()
    return user


def remove_member(actor: Actor, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """Remove a member and unassign them from the project's tasks (recorded per task)."""
    project = locked(get_for_owner(actor, project_id), None)
    membership = db.session.get(Membership, (project.id, user_id))
    if membership is None:
        raise NotFound("This user is not a member of the project.")
    if user_id == project.owner_id:
        raise Conflict("The project owner cannot be removed.")
    member = db.session.get(User, user_id)
    assigned = list(
        db.session.scalars(
            select(TaskAssignee.task_id)
            .join(Task, Task.id == TaskAssignee.task_id)
            .where(Task.project_id == project.id, TaskAssignee.user_id == user_id)
        )
    )
    now = utcnow()
    for task_id in assigned:
        db.session.add(
            Activity(
                task_id=task_id,
                actor_id=actor.id,
                verb="assignee_removed",
                detail={"user_id": str(user_id), "name": member.name if member else ""},
                created_at=now,
            )
        )
    if assigned:
        db.session.execute(
            delete(TaskAssignee).where(
                TaskAssignee.user_id == user_id, TaskAssignee.task_id.in_(assigned)
            )
        )
        db.session.execute(
            sql_update(Task)
            .where(Task.id.in_(assigned))
            .values(version=Task.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    project.version = Project.version + 1
    db.session.delete(membership)
    outbox = Outbox()
    outbox.event(
        project.id,
        "member.removed",
        actor,
        member={"id": str(user_id), "name": member.name if member else ""},
    )
    db.session.commit()
    outbox.dispatch()

"""Read-only links: `/share/<token>` shows a project's board and cards to whoever has it.

The token is the project's id and link number signed with the app's SECRET_KEY (never
stored). Turning the link off clears the number, so the link answers 404 at once;
turning it on again takes the next number, so an old link stays dead.

The reads go through the same services as a member's, on behalf of the project's owner
(always a member), and every card read is checked to belong to the shared project.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..errors import NotFound
from ..extensions import db
from ..models import Project, User
from . import projects
from .cards import Card
from .common import Actor

SALT = "taskboard.share"
NOT_SHARED = "This project has no read-only link."
NOT_FOUND = "No such shared board."


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def token_of(project: Project) -> str:
    return str(_serializer().dumps({"p": str(project.id), "v": project.share_version}))


def url_of(project: Project) -> str:
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/share/{token_of(project)}"


def get_url(actor: Actor, project_id: uuid.UUID) -> str:
    project = projects.get_for_owner(actor, project_id)
    if project.share_version is None:
        raise NotFound(NOT_SHARED)
    return url_of(project)


def turn_on(actor: Actor, project_id: uuid.UUID) -> str:
    """The link, made now unless it is on already (then the same one)."""
    project = projects.get_for_owner(actor, project_id)
    if project.share_version is None:
        project.share_seq = (project.share_seq or 0) + 1
        project.share_version = project.share_seq
        db.session.commit()
    return url_of(project)


def turn_off(actor: Actor, project_id: uuid.UUID) -> None:
    project = projects.get_for_owner(actor, project_id)
    if project.share_version is None:
        raise NotFound(NOT_SHARED)
    project.share_version = None
    db.session.commit()


@dataclass(frozen=True)
class Shared:
    """A shared project as its link opens it: the project, and whom the reads go as."""

    project: Project
    reader: User


def open_link(token: str) -> Shared:
    try:
        data = _serializer().loads(token)
        project_id, version = uuid.UUID(data["p"]), int(data["v"])
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound(NOT_FOUND) from exc
    project = db.session.get(Project, project_id)
    if project is None or project.share_version != version:
        raise NotFound(NOT_FOUND)
    owner = db.session.get(User, project.owner_id)
    assert owner is not None
    return Shared(project, owner)


def card(shared: Shared, task_id: uuid.UUID) -> Card:
    """A card of the shared project; NotFound for any other."""
    from . import tasks

    try:
        found = tasks.get_for_member(shared.reader, task_id)
    except NotFound as exc:
        raise NotFound("No such card on this board.") from exc
    if found.project_id != shared.project.id:
        raise NotFound("No such card on this board.")
    return found

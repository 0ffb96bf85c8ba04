"""Projects and members: /projects/…"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..models import Project, User
from ..services import projects
from . import schemas as s
from .base import ETAG, Blueprint, current_actor, expected_version, paged, tagged

blp = Blueprint("projects", __name__, url_prefix="/api/v1", description="Projects and members")


@blp.route("/projects")
class Projects(MethodView):
    @blp.auth()
    @blp.response(200, s.ProjectSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Project]:
        """The projects the caller is a member of"""
        return paged(pagination_parameters, projects.list_for_member, current_actor())

    @blp.auth()
    @blp.arguments(s.ProjectCreateSchema)
    @blp.response(201, s.ProjectSchema, headers=ETAG)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a project owned by the caller"""
        project = projects.create(current_actor(), body["title"], body.get("description"))
        return tagged(project, 201)


@blp.route("/projects/<uuid:project_id>")
class ProjectItem(MethodView):
    @blp.auth()
    @blp.response(200, s.ProjectSchema, headers=ETAG)
    @blp.errors(404)
    def get(self, project_id: uuid.UUID) -> Any:
        """One project"""
        return tagged(projects.get_for_member(current_actor(), project_id))

    @blp.auth()
    @blp.arguments(s.ProjectPatchSchema)
    @blp.response(200, s.ProjectSchema, headers=ETAG)
    @blp.errors(404)
    @blp.if_match()
    def patch(self, body: dict[str, Any], project_id: uuid.UUID) -> Any:
        """Rename or describe a project (owner only)"""
        if "description" in body and body["description"] is None:
            body["description"] = ""
        version = expected_version(project_id)
        return tagged(
            projects.update(current_actor(), project_id, expected_version=version, **body)
        )

    @blp.auth()
    @blp.response(204)
    @blp.errors(404)
    @blp.if_match()
    def delete(self, project_id: uuid.UUID) -> None:
        """Delete a project and its tasks (owner only)"""
        version = expected_version(project_id)
        projects.delete_project(current_actor(), project_id, expected_version=version)


@blp.route("/projects/<uuid:project_id>/members")
class Members(MethodView):
    @blp.auth()
    @blp.response(200, s.UserSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[User]:
        """The project's members"""
        return paged(pagination_parameters, projects.list_members, current_actor(), project_id)

    @blp.auth()
    @blp.arguments(s.MemberAddSchema)
    @blp.response(201, s.UserSchema)
    @blp.errors(404, 409)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> User:
        """Add a member by email (owner only)"""
        return projects.add_member(current_actor(), project_id, body["email"])


@blp.route("/projects/<uuid:project_id>/members/<uuid:user_id>")
class Member(MethodView):
    @blp.auth()
    @blp.response(204)
    @blp.errors(404, 409)
    def delete(self, project_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Remove a member and unassign them from the project's tasks (owner only)"""
        projects.remove_member(current_actor(), project_id, user_id)

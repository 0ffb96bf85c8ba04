"""Projects and members: /projects/…"""

from __future__ import annotations

import uuid
from typing import Any

from flask import jsonify
from flask.views import MethodView

from ..models import Invitation, Project, User
from ..services import invitations, projects
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


INVITED = {
    "201": {
        "description": "The Invitation, mailed; or, for an address that has an account, "
        "the User, added at once",
        "content": {
            "application/json": {
                "schema": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Invitation"},
                        {"$ref": "#/components/schemas/User"},
                    ]
                }
            }
        },
    }
}


@blp.route("/projects/<uuid:project_id>/invitations")
class Invitations(MethodView):
    @blp.auth()
    @blp.response(200, s.InvitationSchema(many=True))
    @blp.paginate()
    @blp.errors(403, 404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[Invitation]:
        """The invitations not yet used or revoked, expired ones included (owner only)"""
        return paged(pagination_parameters, invitations.list_open, current_actor(), project_id)

    @blp.auth()
    @blp.arguments(s.MemberAddSchema)
    @blp.response(201, s.InvitationSchema)
    @blp.doc(responses=INVITED)
    @blp.errors(403, 404, 409, 429)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> Any:
        """Invite an address by mail, with a link valid 7 days (owner only); an address
        that has an account is added as a member at once and the answer is its User"""
        added = invitations.invite(current_actor(), project_id, body["email"])
        if isinstance(added, User):  # a Response, so the Invitation schema leaves it be
            answer = jsonify(s.UserSchema().dump(added))
            answer.status_code = 201
            return answer
        return added


@blp.route("/invitations/<uuid:invitation_id>")
class InvitationItem(MethodView):
    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404, 409)
    def delete(self, invitation_id: uuid.UUID) -> None:
        """Revoke an invitation: its link stops working (owner only)"""
        invitations.revoke(current_actor(), invitation_id)


@blp.route("/invitations/<uuid:invitation_id>/resend")
class InvitationResend(MethodView):
    @blp.auth()
    @blp.response(200, s.InvitationSchema)
    @blp.errors(403, 404, 409, 429)
    def post(self, invitation_id: uuid.UUID) -> Invitation:
        """Mail the invitation again; the link works for 7 days from now (owner only)"""
        return invitations.resend(current_actor(), invitation_id)

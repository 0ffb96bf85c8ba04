"""Projects: the list, creating one, and the owner's settings (rename, members, delete)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import DomainError, Forbidden, NotFound
from ..models import User, utcnow
from ..services import invitations, projects, webhooks
from . import integrations
from .forms import MemberForm, ProjectForm, show_error
from .htmx import confirm_page, see_other

bp = Blueprint("web_projects", __name__)


@bp.route("/projects", methods=["GET", "POST"])
@login_required
def index() -> Any:
    form = ProjectForm()
    status = 200
    if form.validate_on_submit():
        try:
            project = projects.create(current_user, form.title.data or "", form.description.data)
        except DomainError as error:
            show_error(form, error)
        else:
            flash(f"Project “{project.title}” created.", "success")
            return see_other(f"/projects/{project.id}")
    if request.method == "POST":
        status = 422
    page = projects.list_for_member(current_user)
    return make_response(
        render_template("projects/index.html", projects=page.items, form=form), status
    )


def settings_page(
    project_id: uuid.UUID,
    *,
    form: ProjectForm | None = None,
    member_form: MemberForm | None = None,
    webhook_values: dict[str, Any] | None = None,
    webhook_error: DomainError | None = None,
    status: int = 200,
) -> Response:
    project = projects.get_for_owner(current_user, project_id)
    if form is None:
        form = ProjectForm(formdata=None, obj=project)
    return make_response(
        render_template(
            "projects/settings.html",
            project=project,
            form=form,
            member_form=member_form or MemberForm(formdata=None),
            invitations=invitations.list_open(current_user, project_id).items,
            now_utc=utcnow(),
            share_url=integrations.share_url(project_id),
            webhooks=webhooks.list_for_project(current_user, project_id).items,
            webhook_events=webhooks.EVENTS,
            webhook_values=webhook_values or {"url": "", "events": [], "secret": ""},
            webhook_error=webhook_error,
        ),
        status,
    )


@bp.get("/projects/<uuid:project_id>/settings")
@login_required
def settings(project_id: uuid.UUID) -> Response:
    return settings_page(project_id)


@bp.post("/projects/<uuid:project_id>/settings")
@login_required
def rename(project_id: uuid.UUID) -> Response:
    form = ProjectForm()
    if form.validate_on_submit():
        try:
            projects.update(
                current_user,
                project_id,
                title=form.title.data or "",
                description=form.description.data or "",
            )
        except DomainError as error:
            if error.field is None:
                raise
            show_error(form, error)
        else:
            flash("Project saved.", "success")
            return see_other(f"/projects/{project_id}/settings")
    return settings_page(project_id, form=form, status=422)


@bp.post("/projects/<uuid:project_id>/members")
@login_required
def add_member(project_id: uuid.UUID) -> Response:
    """Add the account with this address, or invite the address if it has none."""
    member_form = MemberForm()
    if member_form.validate_on_submit():
        try:
            added = invitations.invite(current_user, project_id, member_form.email.data or "")
        except (NotFound, Forbidden):
            raise
        except DomainError as error:
            show_error(member_form, error)
        else:
            if isinstance(added, User):
                flash(f"{added.name} is now a member.", "success")
            else:
                flash(
                    f"Invitation sent to {added.email}. The link in it works for 7 days.",
                    "success",
                )
            return see_other(f"/projects/{project_id}/settings")
    return settings_page(project_id, member_form=member_form, status=422)


@bp.post("/projects/<uuid:project_id>/invitations/<uuid:invitation_id>/resend")
@login_required
def resend_invitation(project_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
    try:
        invitation = invitations.resend(current_user, invitation_id)
    except (NotFound, Forbidden):
        raise
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(f"Invitation sent to {invitation.email} again.", "success")
    return see_other(f"/projects/{project_id}/settings")


@bp.post("/projects/<uuid:project_id>/invitations/<uuid:invitation_id>/revoke")
@login_required
def revoke_invitation(project_id: uuid.UUID, invitation_id: uuid.UUID) -> Response:
    project = projects.get_for_owner(current_user, project_id)
    invitation = next(
        (i for i in invitations.list_open(current_user, project_id).items if i.id == invitation_id),
        None,
    )
    if invitation is None:
        raise NotFound(invitations.NOT_FOUND)
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Withdraw the invitation of {invitation.email}?",
            consequence="The link in their mail stops working. You can invite them again later.",
            action=f"/projects/{project.id}/invitations/{invitation.id}/revoke",
            button="Revoke invitation",
            cancel=f"/projects/{project.id}/settings",
        )
    invitations.revoke(current_user, invitation_id)
    flash(f"Invitation of {invitation.email} revoked.", "success")
    return see_other(f"/projects/{project_id}/settings")


@bp.post("/projects/<uuid:project_id>/members/<uuid:user_id>/remove")
@login_required
def remove_member(project_id: uuid.UUID, user_id: uuid.UUID) -> Response:
    project = projects.get_for_owner(current_user, project_id)
    member = next((m for m in project.members if m.id == user_id), None)
    if request.form.get("confirm") != "yes" and member and member.id != project.owner_id:
        return confirm_page(
            question=f"Remove {member.name} from “{project.title}”?",
            consequence="They no longer see the project and are unassigned from its tasks.",
            action=f"/projects/{project.id}/members/{user_id}/remove",
            button="Remove member",
            cancel=f"/projects/{project.id}/settings",
        )
    projects.remove_member(current_user, project_id, user_id)
    flash("Member removed.", "success")
    return see_other(f"/projects/{project_id}/settings")


@bp.post("/projects/<uuid:project_id>/delete")
@login_required
def delete(project_id: uuid.UUID) -> Response:
    project = projects.get_for_owner(current_user, project_id)
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Delete “{project.title}”?",
            consequence="Its tasks, comments and history go with it, for every member. "
            "It stays in your trash for a while, where you can restore it.",
            action=f"/projects/{project.id}/delete",
            button="Delete project",
            cancel=f"/projects/{project.id}/settings",
        )
    title = project.title
    projects.delete_project(current_user, project_id)
    flash(
        {"text": f"Project “{title}” deleted.", "undo": f"/projects/{project_id}/restore"}, "undo"
    )
    return see_other("/projects")

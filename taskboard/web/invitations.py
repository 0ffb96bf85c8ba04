"""The page an invitation link opens: sign up, log in or (logged in) join, right there."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, make_response, render_template
from flask_login import current_user, login_required

from ..errors import DomainError, Gone, NotFound
from ..http import no_store
from ..limits import auth_limited
from ..models import Invitation, User
from ..services import accounts, invitations
from .auth import log_in_with, start_session
from .forms import LoginForm, RegisterForm, show_error
from .htmx import see_other

bp = Blueprint("web_invitations", __name__)


def _private(response: Response) -> Response:
    """The URL holds the invitation's secret: kept out of caches and Referer headers."""
    no_store()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _gone(error: NotFound | Gone) -> Response:
    page = render_template("invitations/gone.html", message=error.message)
    return _private(make_response(page, error.status))


def _page(
    token: str,
    invitation: Invitation,
    *,
    signup: RegisterForm | None = None,
    login: LoginForm | None = None,
    status: int = 200,
) -> Response:
    if signup is None:
        signup = RegisterForm(formdata=None, email=invitation.email)
    page = render_template(
        "invitations/invitation.html",
        token=token,
        invitation=invitation,
        signup=signup,
        login=login or LoginForm(formdata=None),
        posted=signup.errors or (login is not None),
    )
    return _private(make_response(page, status))


def _joined(token: str, user: User, *, welcome: str = "") -> Response:
    """Accept the invitation for the user now logged in and open the board."""
    try:
        project, joined = invitations.accept(token, user)
    except (NotFound, Gone) as error:
        flash(f"{welcome}{error.message}".strip(), "error")
        return see_other("/projects")
    if joined:
        flash(f"{welcome}You joined the project “{project.title}”.".strip(), "success")
    else:
        flash(f"You are a member of “{project.title}” already.", "success")
    return see_other(f"/projects/{project.id}")


@bp.get("/invitations/<invite_token>")
def show(invite_token: str) -> Response:
    try:
        invitation = invitations.check_token(invite_token)
    except (NotFound, Gone) as error:
        return _gone(error)
    return _page(invite_token, invitation)


@bp.post("/invitations/<invite_token>")
@login_required
def join(invite_token: str) -> Response:
    return _joined(invite_token, current_user)


@bp.post("/invitations/<invite_token>/register")
@auth_limited
def register(invite_token: str) -> Any:
    try:
        invitation = invitations.check_token(invite_token)
    except (NotFound, Gone) as error:
        return _gone(error)
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(
                form.email.data or "", form.name.data or "", form.password.data or ""
            )
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            return _joined(invite_token, user, welcome=f"Welcome to Taskboard, {user.name}! ")
    return _page(invite_token, invitation, signup=form, status=422)


@bp.post("/invitations/<invite_token>/login")
@auth_limited(per_account=False)  # per account: the password budget (limits.PasswordGuard)
def login(invite_token: str) -> Any:
    try:
        invitation = invitations.check_token(invite_token)
    except (NotFound, Gone) as error:
        return _gone(error)
    form = LoginForm()
    user, status = log_in_with(form)
    if user is not None:
        return _joined(invite_token, user)
    return _page(invite_token, invitation, login=form, status=status)

"""Accounts in the browser: sign up, log in, log out."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from flask_login import current_user, login_user, logout_user

from ..errors import DomainError, TooManyRequests, Unauthorized
from ..limits import auth_limited
from ..models import User
from ..services import accounts
from .forms import LoginForm, RegisterForm, show_error
from .htmx import safe_next, see_other

bp = Blueprint("web_auth", __name__)


def start_session(user: User) -> None:
    """Log in on a fresh session, so a session id planted before login is worth nothing.

    The cookie names a new login session on the server, which logging out ends."""
    session.clear()
    accounts.start_login_session(user)
    login_user(user)
    session.permanent = True


def log_in_with(form: LoginForm) -> tuple[User | None, int]:
    """Check a submitted login form and start the session: the user, or None and the
    status of the page that shows the form again (its error added to the form)."""
    if not form.validate_on_submit():
        return None, 422
    try:
        user = accounts.authenticate(form.email.data or "", form.password.data or "")
    except (Unauthorized, TooManyRequests) as error:
        form.form_errors.append(error.message)
        return None, error.status
    start_session(user)
    return user, 200


def _after_login() -> str:
    return safe_next(request.args.get("next"), "/projects")


@bp.get("/")
def index() -> Response:
    return redirect("/projects" if current_user.is_authenticated else "/login")


@bp.route("/register", methods=["GET", "POST"])
@auth_limited
def register() -> Any:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_after_login())
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.register(
                form.email.data or "", form.name.data or "", form.password.data or ""
            )
        except DomainError as error:
            show_error(form, error)
        else:
            start_session(user)
            flash(f"Welcome to Taskboard, {user.name}!", "success")
            return see_other(_after_login())
    if request.method == "POST":
        status = 422
    return make_response(render_template("auth/register.html", form=form), status)


@bp.route("/login", methods=["GET", "POST"])
@auth_limited(per_account=False)  # per account: the password budget (limits.PasswordGuard)
def login() -> Any:
    if current_user.is_authenticated and request.method == "GET":
        return redirect(_after_login())
    form = LoginForm()
    status = 200
    if request.method == "POST":
        user, status = log_in_with(form)
        if user is not None:
            return see_other(_after_login())
    return make_response(render_template("auth/login.html", form=form), status)


@bp.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        accounts.end_login_session(current_user.login_session_id)
    logout_user()
    session.clear()
    flash("You are logged out.", "success")
    return see_other("/login")

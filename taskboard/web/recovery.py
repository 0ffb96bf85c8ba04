"""Pages reached from mailed links, without a login: forgotten password, reset, email confirm."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, flash, make_response, render_template, request
from flask_login import current_user

from ..errors import Conflict, DomainError, Invalid
from ..http import no_store
from ..limits import auth_limits
from ..services import account_links
from .forms import ForgotPasswordForm, ResetPasswordForm, show_error
from .htmx import see_other

bp = Blueprint("web_recovery", __name__)


def _private(response: Response) -> Response:
    """A page whose URL holds a secret: kept out of caches and of Referer headers."""
    no_store()
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _rate_limited(view: Callable) -> Callable:
    """The password reset's limits, counted together with the API's."""
    for decorator in auth_limits(every_attempt=True, scope="password-reset"):
        view = decorator(view)
    return view


@bp.route("/forgot-password", methods=["GET", "POST"])
@_rate_limited
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            account_links.request_password_reset(form.email.data or "")
        except DomainError as error:
            show_error(form, error)
        else:
            flash(account_links.RESET_ACCEPTED, "success")
            return see_other("/forgot-password")
    if request.method == "POST":
        status = 422
    return make_response(render_template("auth/forgot_password.html", form=form), status)


RESET_AGAIN = ("/forgot-password", "Get a new reset link")
CONFIRM_AGAIN = ("/account#email", "Ask for a new confirmation link")


def _bad_link(message: str, again: tuple[str, str], status: int = 200) -> Response:
    """The link is no good: say so and offer a new one (a page, not an error, when opened)."""
    page = render_template("auth/bad_link.html", message=message, again=again)
    return _private(make_response(page, status))


@bp.route("/reset-password/<reset_token>", methods=["GET", "POST"])
def reset_password(reset_token: str) -> Any:
    token = reset_token
    try:
        user = account_links.check_reset_token(token)
    except Invalid as error:
        return _bad_link(error.message, RESET_AGAIN, 200 if request.method == "GET" else 422)
    form = ResetPasswordForm()
    status = 200
    if form.validate_on_submit():
        try:
            account_links.reset_password(token, form.password.data or "")
        except Invalid as error:
            if error.field == "token":
                return _bad_link(error.message, RESET_AGAIN, 422)
            show_error(form, error)
        else:
            flash(
                "Your password is set. Log in with it. Every session and API token of the "
                "account has ended, personal tokens for scripts included: make new ones on "
                "your account page.",
                "success",
            )
            return see_other("/login")
    if request.method == "POST":
        status = 422
    page = render_template("auth/reset_password.html", form=form, user=user)
    return _private(make_response(page, status))


@bp.route("/confirm-email/<email_token>", methods=["GET", "POST"])
def confirm_email(email_token: str) -> Any:
    token = email_token
    # A GET only shows the button: mail scanners open links, and must not confirm anything.
    try:
        user, new_email = account_links.check_email_token(token)
    except Invalid as error:
        return _bad_link(error.message, CONFIRM_AGAIN, 200 if request.method == "GET" else 422)
    error_message = None
    status = 200
    if request.method == "POST":
        try:
            account_links.confirm_email(token)
        except Conflict as error:
            error_message, status = error.message, 409
        except Invalid as error:
            return _bad_link(error.message, CONFIRM_AGAIN, 422)
        else:
            flash(f"Your email address is now {new_email}.", "success")
            mine = current_user.is_authenticated and current_user.id == user.id
            return see_other("/account" if mine else "/login")
    page = render_template(
        "auth/confirm_email.html", user=user, new_email=new_email, error=error_message
    )
    return _private(make_response(page, status))

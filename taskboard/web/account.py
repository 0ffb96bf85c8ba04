"""The account page: profile (name, notifications) and password.

Each part is a section of templates/account/account.html with a form posting to its own
URL, so more parts (email, API tokens) slot in beside them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, flash, make_response, render_template
from flask_login import current_user, login_required

from ..errors import DomainError, Forbidden
from ..services import accounts
from .auth import start_session
from .forms import PasswordForm, ProfileForm, show_error
from .htmx import see_other

bp = Blueprint("web_account", __name__)


def account_page(status: int = 200, **forms: Any) -> Response:
    """The page with every section; a section that failed passes its form with the errors."""
    forms.setdefault(
        "profile_form",
        ProfileForm(
            formdata=None, name=current_user.name, notifications=current_user.notifications
        ),
    )
    forms.setdefault("password_form", PasswordForm(formdata=None))
    return make_response(render_template("account/account.html", **forms), status)


@bp.get("/account")
@login_required
def show() -> Response:
    return account_page()


@bp.post("/account/profile")
@login_required
def profile() -> Response:
    form = ProfileForm()
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user, name=form.name.data or "", notifications=bool(form.notifications.data)
            )
        except DomainError as error:
            show_error(form, error)
        else:
            flash("Profile saved.", "success")
            return see_other("/account")
    return account_page(422, profile_form=form)


@bp.post("/account/password")
@login_required
def password() -> Response:
    form = PasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.update_profile(
                user,
                password=form.password.data or "",
                current_password=form.current_password.data or "",
            )
        except Forbidden as error:
            show_error(form, error, {"": "current_password"})
            form.current_password.errors = [error.message]
        except DomainError as error:
            show_error(form, error)
        else:
            # The new password ended every session, this one too: start a fresh one.
            start_session(user)
            flash("Password changed. Your other sessions have been logged out.", "success")
            return see_other("/account")
    return account_page(422, password_form=form)

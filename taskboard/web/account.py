"""The account page: profile (name, notifications), password, email and API tokens.

Each part is a section of templates/account/account.html with a form posting to its own
URL, so more parts (email, API tokens) slot in beside them.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import DomainError, Forbidden, Invalid, TooManyRequests
from ..http import no_store
from ..services import account_links, accounts, preferences, tokens
from .auth import start_session
from .forms import EmailChangeForm, PasswordForm, ProfileForm, TokenForm, show_error
from .htmx import confirm_page, is_htmx, see_other, vary
from .integrations import calendar_url
from .notify import KIND_LABELS, zones

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
    forms.setdefault("email_form", EmailChangeForm(formdata=None))
    forms.setdefault("token_form", TokenForm(formdata=None, scope="read"))
    forms.setdefault("personal_tokens", tokens.list_personal(current_user))
    forms.setdefault("new_token", None)
    forms.setdefault("calendar_url", calendar_url())
    forms.setdefault("notify", preferences.get_settings(current_user))
    forms.setdefault("notify_error", None)
    forms.setdefault("kind_labels", KIND_LABELS)
    forms.setdefault("zones", zones())
    response = make_response(render_template("account/account.html", **forms), status)
    if forms["new_token"] is not None:
        no_store()
    return response


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
    status = 422
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            accounts.update_profile(
                user,
                password=form.password.data or "",
                current_password=form.current_password.data or "",
            )
        except (Forbidden, TooManyRequests) as error:
            form.current_password.errors = [error.message]
            status = 429 if isinstance(error, TooManyRequests) else 422
        except DomainError as error:
            show_error(form, error)
        else:
            # The new password ended every session, this one too: start a fresh one.
            start_session(user)
            flash("Password changed. Your other sessions have been logged out.", "success")
            return see_other("/account")
    no_store()  # the page keeps the new password typed: no cache keeps the page
    return account_page(status, password_form=form)


@bp.post("/account/email")
@login_required
def email() -> Response:
    form = EmailChangeForm()
    status = 422
    if form.validate_on_submit():
        try:
            address = account_links.request_email_change(
                current_user, form.email.data or "", form.current_password.data or ""
            )
        except (Forbidden, TooManyRequests) as error:
            form.current_password.errors = [error.message]
            status = 429 if isinstance(error, TooManyRequests) else 422
        except DomainError as error:
            show_error(form, error)
        else:
            flash(
                f"We sent a confirmation link to {address}. Your email changes when you open it.",
                "success",
            )
            return see_other("/account")
    return account_page(status, email_form=form)


def _tokens_answer(status: int = 200, **context: Any) -> Response:
    """The API tokens section for htmx, the whole page otherwise."""
    if not is_htmx():
        return account_page(status, **context)
    context.setdefault("token_form", TokenForm(formdata=None, scope="read"))
    context.setdefault("personal_tokens", tokens.list_personal(current_user))
    context.setdefault("new_token", None)
    response = make_response(render_template("account/_tokens.html", **context), status)
    no_store()
    return vary(response)


def _days(text: str | None) -> int | None:
    """The optional expiry field: empty for none, else a whole number of days."""
    text = (text or "").strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise Invalid(
            "Expiry must be a whole number of days (1 to 365), or empty.", field="expires_in_days"
        )
    return int(text)


@bp.post("/account/tokens")
@login_required
def create_token() -> Response:
    form = TokenForm()
    if form.validate_on_submit():
        try:
            token, secret = tokens.create_personal(
                current_user,
                form.name.data or "",
                form.scope.data or "",
                _days(form.expires_in_days.data),
            )
        except DomainError as error:
            show_error(form, error)
        else:
            return _tokens_answer(200, new_token={"token": token, "secret": secret})
    return _tokens_answer(422, token_form=form)


@bp.post("/account/tokens/<uuid:token_id>/revoke")
@login_required
def revoke_token(token_id: uuid.UUID) -> Response:
    token = next((t for t in tokens.list_personal(current_user) if t.id == token_id), None)
    if request.form.get("confirm") != "yes" and token is not None:
        return confirm_page(
            question=f"Revoke the token “{token.name}”?",
            consequence="Scripts that use it stop working at once. This cannot be undone.",
            action=f"/account/tokens/{token_id}/revoke",
            button="Revoke token",
            cancel="/account#tokens",
        )
    try:
        tokens.revoke_personal(current_user, token_id)
    except DomainError as error:
        message = error.message
    else:
        message = "Token revoked: it no longer works."
    if is_htmx():
        return _tokens_answer(message=message)
    flash(message, "success")
    return see_other("/account#tokens")

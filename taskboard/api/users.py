"""Accounts and tokens: /auth/…, /users/me, /users/me/tokens."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..http import no_store
from ..limits import auth_limits
from ..models import PersonalToken, User
from ..services import account_links, accounts, tokens
from . import schemas as s
from .base import Blueprint, current_actor, current_principal, current_user

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Accounts and tokens")


@blp.route("/auth/register")
class Register(MethodView):
    decorators = auth_limits()

    @blp.arguments(s.RegisterSchema)
    @blp.response(201, s.UserSchema)
    @blp.errors(409)
    def post(self, body: dict[str, Any]) -> User:
        """Create an account"""
        return accounts.register(body["email"], body["name"], body["password"])


@blp.route("/auth/tokens")
class Tokens(MethodView):
    # Per client here; per account, every password check shares one budget (limits.py).
    decorators = auth_limits(per_account=False)

    @blp.arguments(s.CredentialsSchema)
    @blp.response(201, s.TokenPairSchema)
    @blp.errors(401, 429)
    def post(self, body: dict[str, Any]) -> tokens.TokenPair:
        """Log in: trade email and password for an access and a refresh token"""
        no_store()
        user = accounts.authenticate(body["email"], body["password"])
        return tokens.issue_pair(user)

    @blp.auth(personal=False)
    @blp.response(204)
    def delete(self) -> None:
        """Log out: revoke this access token and its refresh token"""
        tokens.revoke_grant(current_principal().grant_id)


@blp.route("/auth/tokens/refresh")
class Refresh(MethodView):
    decorators = auth_limits(per_account=False)

    @blp.arguments(s.RefreshSchema)
    @blp.response(201, s.TokenPairSchema)
    @blp.errors(401, 429)
    def post(self, body: dict[str, Any]) -> tokens.TokenPair:
        """Trade a refresh token for a new pair; the old refresh token stops working"""
        no_store()
        return tokens.refresh_pair(body["refresh_token"])


@blp.route("/auth/password-reset")
class PasswordReset(MethodView):
    decorators = auth_limits(every_attempt=True, scope="password-reset")

    @blp.arguments(s.PasswordResetRequestSchema)
    @blp.response(202, s.AcceptedSchema)
    @blp.errors(429)
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Mail a link to set a new password; the same answer whether or not the address
        has an account"""
        account_links.request_password_reset(body["email"])
        return {"message": account_links.RESET_ACCEPTED}


@blp.route("/auth/password-reset/confirm")
class PasswordResetConfirm(MethodView):
    decorators = auth_limits(per_account=False)

    @blp.arguments(s.PasswordResetSchema)
    @blp.response(204)
    @blp.errors(429)
    def post(self, body: dict[str, Any]) -> None:
        """Set a new password with the token of a reset link; every session and token of
        the account ends"""
        account_links.reset_password(body["token"], body["password"])


@blp.route("/auth/email/confirm")
class EmailConfirm(MethodView):
    decorators = auth_limits(per_account=False)

    @blp.arguments(s.EmailConfirmSchema)
    @blp.response(200, s.UserSchema)
    @blp.errors(409, 429)
    def post(self, body: dict[str, Any]) -> User:
        """Switch an account to its new email with the token of a confirmation link (no
        login needed: the token is the proof)"""
        return account_links.confirm_email(body["token"])


@blp.route("/users/me/email")
class MyEmail(MethodView):
    @blp.auth(personal=False)
    @blp.arguments(s.EmailChangeSchema)
    @blp.response(202, s.AcceptedSchema)
    @blp.errors(429)
    def post(self, body: dict[str, Any]) -> dict[str, str]:
        """Change email: a confirmation link goes to the new address, a notice to the
        current one; nothing changes until the link is opened. An address that has an
        account gets the same answer, and a mail saying it is in use"""
        address = account_links.request_email_change(
            current_user(), body["email"], body["current_password"]
        )
        return {"message": f"A confirmation link is on its way to {address}."}


@blp.route("/users/me")
class Me(MethodView):
    @blp.auth()
    @blp.response(200, s.MeSchema)
    def get(self) -> tokens.TokenUser:
        """The caller's account"""
        return current_actor()

    @blp.auth(personal=False)
    @blp.arguments(s.MePatchSchema)
    @blp.response(200, s.MeSchema)
    @blp.errors(429)
    def patch(self, body: dict[str, Any]) -> User:
        """Change name, notification preference or password (with the current one)"""
        principal = current_principal()
        return accounts.update_profile(principal.user, keep_grant=principal.grant_id, **body)


@blp.route("/users/me/tokens")
class PersonalTokens(MethodView):
    @blp.auth(personal=False)
    @blp.response(200, s.PersonalTokenSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[PersonalToken]:
        """The caller's personal tokens, newest first (never the secret)"""
        items = tokens.list_personal(current_actor())
        pagination_parameters.item_count = len(items)
        first = pagination_parameters.first_item
        return items[first : first + pagination_parameters.page_size]

    @blp.auth(personal=False)
    @blp.arguments(s.PersonalTokenCreateSchema)
    @blp.response(201, s.PersonalTokenCreatedSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a personal token for scripts; the secret is shown this once"""
        no_store()
        token, secret = tokens.create_personal(current_actor(), **body)
        shown = {name: getattr(token, name) for name in s.PersonalTokenSchema().fields}
        return {**shown, "token": secret}


@blp.route("/users/me/tokens/<uuid:token_id>")
class PersonalTokenItem(MethodView):
    @blp.auth(personal=False)
    @blp.response(204)
    @blp.errors(404)
    def delete(self, token_id: uuid.UUID) -> None:
        """Revoke a personal token"""
        tokens.revoke_personal(current_actor(), token_id)

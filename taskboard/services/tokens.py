"""Bearer tokens: access/refresh pairs and personal tokens. Opaque, random, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, select, update

from ..errors import Invalid, NotFound, Unauthorized
from ..extensions import db
from ..models import SCOPES, AuthToken, PersonalToken, User, utcnow
from .common import check_plain

ACCESS_PREFIX = "tba_"
REFRESH_PREFIX = "tbr_"
PERSONAL_PREFIX = "tbp_"
LAST_USED_GRANULARITY = timedelta(minutes=1)
INVALID_TOKEN = "The token is invalid, expired or revoked."


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for, and with which powers."""

    user: User
    grant_id: uuid.UUID | None = None  # the AuthToken row, for an access token
    personal: PersonalToken | None = None

    @property
    def can_write(self) -> bool:
        return self.personal is None or self.personal.scope == "write"


def _issue(user: User) -> tuple[AuthToken, TokenPair]:
    config = current_app.config
    now = utcnow()
    access, refresh = _new_secret(ACCESS_PREFIX), _new_secret(REFRESH_PREFIX)
    grant = AuthToken(
        user_id=user.id,
        access_hash=digest(access),
        refresh_hash=digest(refresh),
        access_expires_at=now + timedelta(seconds=config["ACCESS_TOKEN_TTL"]),
        refresh_expires_at=now + timedelta(seconds=config["REFRESH_TOKEN_TTL"]),
        created_at=now,
    )
    db.session.add(grant)
    return grant, TokenPair(access, refresh, config["ACCESS_TOKEN_TTL"])


def issue_pair(user: User) -> TokenPair:
    _, pair = _issue(user)
    db.session.commit()
    return pair


def refresh_pair(refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working."""
    now = utcnow()
    grant = db.session.scalar(
        select(AuthToken).where(AuthToken.refresh_hash == digest(refresh_token))
    )
    if (
        grant is None
        or grant.revoked_at is not None
        or grant.refreshed_at is not None
        or grant.refresh_expires_at <= now
        or not grant.user.is_active
    ):
        raise Unauthorized(INVALID_TOKEN)
    # Conditional update, so two concurrent refreshes with one token cannot both win.
    used = db.session.execute(
        update(AuthToken)
        .where(AuthToken.id == grant.id, AuthToken.refreshed_at.is_(None))
        .values(refreshed_at=now)
    )
    if used.rowcount != 1:
        db.session.rollback()
        raise Unauthorized(INVALID_TOKEN)
    _, pair = _issue(grant.user)
    db.session.commit()
    return pair


def revoke_grant(grant_id: uuid.UUID) -> None:
    """End an access token and its refresh token."""
    db.session.execute(
        update(AuthToken)
        .where(AuthToken.id == grant_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    db.session.commit()


def revoke_all(user: User, *, keep_grant: uuid.UUID | None = None, personal: bool = True) -> int:
    """Revoke every token of a user (optionally sparing one grant); the caller commits."""
    query = update(AuthToken).where(AuthToken.user_id == user.id, AuthToken.revoked_at.is_(None))
    if keep_grant is not None:
        query = query.where(AuthToken.id != keep_grant)
    count = db.session.execute(query.values(revoked_at=utcnow())).rowcount
    if personal:
        for token in db.session.scalars(
            select(PersonalToken).where(PersonalToken.user_id == user.id)
        ):
            db.session.delete(token)
            count += 1
    return count


# Built once: every API request runs it, and building a statement costs more than running it.
_ACCESS_QUERY = (
    select(AuthToken.id, AuthToken.access_expires_at, AuthToken.revoked_at, User)
    .join(User, User.id == AuthToken.user_id)
    .where(AuthToken.access_hash == bindparam("access_hash"))
)


def authenticate_bearer(token: str) -> Principal:
    """The principal behind a bearer token, or Unauthorized."""
    now = utcnow()
    if token.startswith(ACCESS_PREFIX):
        row = db.session.execute(_ACCESS_QUERY, {"access_hash": digest(token)}).first()
        if row is None or row.revoked_at is not None or row.access_expires_at <= now:
            raise Unauthorized(INVALID_TOKEN)
        if not row.User.is_active:
            raise Unauthorized(INVALID_TOKEN)
        return Principal(user=row.User, grant_id=row.id)
    if token.startswith(PERSONAL_PREFIX):
        row = db.session.execute(
            select(PersonalToken, User)
            .join(User, User.id == PersonalToken.user_id)
            .where(PersonalToken.token_hash == digest(token))
        ).first()
        if row is None or not row.User.is_active:
            raise Unauthorized(INVALID_TOKEN)
        personal: PersonalToken = row.PersonalToken
        if personal.expires_at is not None and personal.expires_at <= now:
            raise Unauthorized(INVALID_TOKEN)
        _touch(personal, now)
        return Principal(user=row.User, personal=personal)
    raise Unauthorized(INVALID_TOKEN)


def _touch(personal: PersonalToken, now: datetime) -> None:
    """Record the last use at most once a minute: no write on most requests."""
    last = personal.last_used_at
    if last is not None and now - last < LAST_USED_GRANULARITY:
        return
    db.session.execute(
        update(PersonalToken).where(PersonalToken.id == personal.id).values(last_used_at=now)
    )
    db.session.commit()
    personal.last_used_at = now


# Personal tokens ---------------------------------------------------------------


def list_personal(actor: User) -> list[PersonalToken]:
    return list(
        db.session.scalars(
            select(PersonalToken)
            .where(PersonalToken.user_id == actor.id)
            .order_by(PersonalToken.created_at.desc(), PersonalToken.id)
        )
    )


def create_personal(
    actor: User, name: str, scope: str, expires_in_days: int | None = None
) -> tuple[PersonalToken, str]:
    """A new personal token and its secret, which is never shown again."""
    name = check_plain(name, "name", "Token name").strip()
    if not 1 <= len(name) <= 100:
        raise Invalid("Token name must be between 1 and 100 characters.", field="name")
    if scope not in SCOPES:
        raise Invalid("Scope must be 'read' or 'write'.", field="scope")
    if expires_in_days is not None and not 1 <= expires_in_days <= 365:
        raise Invalid("Expiry must be between 1 and 365 days.", field="expires_in_days")
    secret = _new_secret(PERSONAL_PREFIX)
    now = utcnow()
    token = PersonalToken(
        user_id=actor.id,
        name=name,
        scope=scope,
        token_hash=digest(secret),
        created_at=now,
        expires_at=now + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.commit()
    return token, secret


def revoke_personal(actor: User, token_id: uuid.UUID) -> None:
    token = db.session.get(PersonalToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("No such token.")
    db.session.delete(token)
    db.session.commit()

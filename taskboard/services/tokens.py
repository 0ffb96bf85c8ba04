"""Bearer tokens: access/refresh pairs and personal tokens. Opaque, random, stored hashed."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import bindparam, select, update

from ..database import Prepared, read
from ..errors import Invalid, NotFound, Unauthorized
from ..extensions import db
from ..models import SCOPES, AuthToken, PersonalToken, User, utcnow
from .common import TOKEN_NAME_MAX, Actor, check_plain, looks_empty

ACCESS_PREFIX = "tba_"
REFRESH_PREFIX = "tbr_"
PERSONAL_PREFIX = "tbp_"
LAST_USED_GRANULARITY = timedelta(minutes=1)
INVALID_TOKEN = "The token is invalid, expired or revoked."
USERS = User.__table__


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


@dataclass(frozen=True, slots=True)
class TokenUser:
    """The user a bearer token speaks for, read with the token as plain columns.

    Every API request starts by finding its user; building an ORM `User` for that cost
    more than the lookup itself, and a request that reads or changes tasks and projects
    needs no more of the user than this. `Principal.user` loads the entity for the few
    requests that change the account itself.
    """

    id: uuid.UUID
    email: str
    name: str
    notifications: bool


@dataclass(frozen=True)
class Principal:
    """Who a bearer token speaks for, and with which powers."""

    actor: TokenUser
    grant_id: uuid.UUID | None = None  # the AuthToken row, for an access token
    personal_scope: str | None = None  # the scope of a personal token; None for the others

    @property
    def personal(self) -> bool:
        return self.personal_scope is not None

    @property
    def can_write(self) -> bool:
        return self.personal_scope in (None, "write")

    @property
    def user(self) -> User:
        """The ORM user, for changes to the account (one query, then the identity map's)."""
        user = db.session.get(User, self.actor.id)
        if user is None:  # deleted since the token was checked, within this request
            raise Unauthorized(INVALID_TOKEN)
        return user


def _issue(user: User, family_id: uuid.UUID | None = None) -> tuple[AuthToken, TokenPair]:
    """A new pair: of a new login's family, or of `family_id` when refreshing."""
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
        family_id=family_id or uuid.uuid4(),
    )
    db.session.add(grant)
    return grant, TokenPair(access, refresh, config["ACCESS_TOKEN_TTL"])


def issue_pair(user: User) -> TokenPair:
    _, pair = _issue(user)
    db.session.commit()
    return pair


def refresh_pair(refresh_token: str) -> TokenPair:
    """Trade a refresh token for a new pair; the old refresh token stops working.

    A refresh token used a second time was copied: whoever holds it, every token of its
    login (its family) is revoked, so the thief's pair stops working too."""
    now = utcnow()
    grant = db.session.scalar(
        select(AuthToken).where(AuthToken.refresh_hash == digest(refresh_token))
    )
    if grant is not None and grant.refreshed_at is not None:
        _revoke_family(grant.family_id)
        db.session.commit()
        raise Unauthorized(INVALID_TOKEN)
    if (
        grant is None
        or grant.revoked_at is not None
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
    if used.rowcount != 1:  # refreshed at the same moment by someone else: reuse
        db.session.rollback()
        _revoke_family(grant.family_id)
        db.session.commit()
        raise Unauthorized(INVALID_TOKEN)
    _, pair = _issue(grant.user, grant.family_id)
    db.session.commit()
    return pair


def revoke_grant(grant_id: uuid.UUID) -> None:
    """Log out: end this access token, its refresh token and every other token of the
    same login (the earlier access tokens of its family, still within their 30 minutes)."""
    family = select(AuthToken.family_id).where(AuthToken.id == grant_id).scalar_subquery()
    _revoke_family(family)
    db.session.commit()


def _revoke_family(family_id: Any) -> None:
    db.session.execute(
        update(AuthToken)
        .where(AuthToken.family_id == family_id, AuthToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


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


_ACTOR_COLUMNS = (USERS.c.id, USERS.c.email, USERS.c.name, USERS.c.notifications)
_GRANTS = AuthToken.__table__
_PERSONAL = PersonalToken.__table__


def _lookup(table: Any, hash_column: Any, *columns: Any) -> Prepared:
    """A token's `columns` with its user's, found by the token's hash."""
    return Prepared(
        select(*columns, USERS.c.is_active, *_ACTOR_COLUMNS)
        .join(USERS, USERS.c.id == table.c.user_id)
        .where(hash_column == bindparam("token_hash"))
    )


# Built once: every API request runs one of them, and building a statement costs more than
# running it. Table columns, not ORM attributes: an ORM statement, even of columns only,
# goes through the ORM's row loading.
_ACCESS_QUERY = _lookup(
    _GRANTS,
    _GRANTS.c.access_hash,
    _GRANTS.c.id.label("grant_id"),
    _GRANTS.c.access_expires_at,
    _GRANTS.c.revoked_at,
)
_PERSONAL_QUERY = _lookup(
    _PERSONAL,
    _PERSONAL.c.token_hash,
    _PERSONAL.c.id.label("personal_id"),
    _PERSONAL.c.scope,
    _PERSONAL.c.expires_at,
    _PERSONAL.c.last_used_at,
)


def _actor(row: Any) -> TokenUser:
    return TokenUser(id=row.id, email=row.email, name=row.name, notifications=row.notifications)


def authenticate_bearer(token: str) -> Principal:
    """The principal behind a bearer token, or Unauthorized."""
    now = utcnow()
    if token.startswith(ACCESS_PREFIX):
        row = read(_ACCESS_QUERY, {"token_hash": digest(token)}).first()
        if row is None or row.revoked_at is not None or row.access_expires_at <= now:
            raise Unauthorized(INVALID_TOKEN)
        if not row.is_active:
            raise Unauthorized(INVALID_TOKEN)
        return Principal(actor=_actor(row), grant_id=row.grant_id)
    if token.startswith(PERSONAL_PREFIX):
        row = read(_PERSONAL_QUERY, {"token_hash": digest(token)}).first()
        if row is None or not row.is_active:
            raise Unauthorized(INVALID_TOKEN)
        if row.expires_at is not None and row.expires_at <= now:
            raise Unauthorized(INVALID_TOKEN)
        _touch(row.personal_id, row.last_used_at, now)
        return Principal(actor=_actor(row), personal_scope=row.scope)
    raise Unauthorized(INVALID_TOKEN)


def _touch(personal_id: uuid.UUID, last: datetime | None, now: datetime) -> None:
    """Record the last use at most once a minute: no write on most requests."""
    if last is not None and now - last < LAST_USED_GRANULARITY:
        return
    db.session.execute(
        update(PersonalToken).where(PersonalToken.id == personal_id).values(last_used_at=now)
    )
    db.session.commit()


# Personal tokens ---------------------------------------------------------------


def list_personal(actor: Actor) -> list[PersonalToken]:
    return list(
        db.session.scalars(
            select(PersonalToken)
            .where(PersonalToken.user_id == actor.id)
            .order_by(PersonalToken.created_at.desc(), PersonalToken.id)
        )
    )


def create_personal(
    actor: Actor, name: str, scope: str, expires_in_days: int | None = None
) -> tuple[PersonalToken, str]:
    """A new personal token and its secret, which is never shown again."""
    name = check_plain(name, "name", "Token name").strip()
    if looks_empty(name) or len(name) > TOKEN_NAME_MAX:
        raise Invalid(
            f"Token name must be between 1 and {TOKEN_NAME_MAX} characters.", field="name"
        )
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


def revoke_personal(actor: Actor, token_id: uuid.UUID) -> None:
    token = db.session.get(PersonalToken, token_id)
    if token is None or token.user_id != actor.id:
        raise NotFound("No such token.")
    db.session.delete(token)
    db.session.commit()

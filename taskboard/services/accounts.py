"""Accounts: registration, credentials, profile."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from ..extensions import db
from ..limits import PasswordGuard
from ..models import LoginSession, Membership, PersonalToken, User, utcnow
from . import tokens
from .common import (
    EMAIL_MAX,
    NAME_MAX,
    PASSWORD_MAX,
    PASSWORD_MIN,
    check_plain,
    is_plain,
    looks_empty,
)

BAD_CREDENTIALS = "Invalid email or password."

_dummy_hash: str | None = None


_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> str:
    """The address normalised to lower case, or Invalid with a clear message."""
    email = normalise_email(check_plain(email, field, "Email"))
    if not email:
        raise Invalid("Email must not be empty.", field=field)
    if len(email) > EMAIL_MAX:
        raise Invalid(f"Email must be at most {EMAIL_MAX} characters.", field=field)
    if not _EMAIL_RE.match(email):
        raise Invalid("Not a valid email address.", field=field)
    return email


def check_password_rules(password: str, field: str = "password") -> None:
    check_plain(password, field, "Password")
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise Invalid(
            f"Password must be between {PASSWORD_MIN} and {PASSWORD_MAX} characters.",
            field=field,
        )


def check_name(name: str, field: str = "name") -> str:
    name = check_plain(name, field, "Name").strip()
    if looks_empty(name) or len(name) > NAME_MAX:
        raise Invalid(f"Name must be between 1 and {NAME_MAX} characters.", field=field)
    return name


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def password_matches(password_hash: str, password: str) -> bool:
    """Whether the password fits the hash; text no password can contain never does."""
    return is_plain(password) and check_password_hash(password_hash, password)


def _verify_against_dummy(password: str) -> None:
    """Spend the same time on an unknown email as on a wrong password."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password("not-a-real-password")
    password_matches(_dummy_hash, password)


def find_by_email(email: str) -> User | None:
    if not is_plain(email):
        return None
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get_user(user_id: uuid.UUID) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("No such user.")
    return user


def email_taken(email: str, *, except_user: uuid.UUID | None = None) -> bool:
    query = select(func.count()).select_from(User).where(User.email == normalise_email(email))
    if except_user is not None:
        query = query.where(User.id != except_user)
    return bool(db.session.scalar(query))


def register(
    email: str, name: str, password: str, *, is_admin: bool = False, commit: bool = True
) -> User:
    """Create an account; the email must not be in use, whatever its case."""
    email = check_email(email)
    name = check_name(name)
    check_password_rules(password)
    if email_taken(email):
        raise Conflict("An account with this email already exists.", field="email")
    user = User(email=email, name=name, password_hash=hash_password(password), is_admin=is_admin)
    db.session.add(user)
    if commit:
        try:
            db.session.commit()
        except IntegrityError as exc:
            db.session.rollback()
            raise Conflict("An account with this email already exists.", field="email") from exc
    return user


def authenticate(email: str, password: str) -> User:
    """The user with these credentials, or Unauthorized with one message for every failure.

    Each guess counts against the account's budget (`limits.PasswordGuard`), known or not,
    so the answer tells nothing about which addresses have accounts."""
    guard = PasswordGuard(email if is_plain(email) else "")
    guard.check()
    user = find_by_email(email)
    if user is None:
        _verify_against_dummy(password)
        guard.failed()
        raise Unauthorized(BAD_CREDENTIALS)
    if not password_matches(user.password_hash, password):
        guard.failed()
        raise Unauthorized(BAD_CREDENTIALS)
    if not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    guard.succeeded()
    return user


WRONG_CURRENT_PASSWORD = "The current password is wrong."


def check_current_password(user: User, password: str) -> None:
    """Forbidden unless `password` is the user's; wrong guesses spend the same budget as
    the login's, so these checks are no way around it."""
    guard = PasswordGuard(user.email)
    guard.check()
    if not password_matches(user.password_hash, password):
        guard.failed()
        raise Forbidden(WRONG_CURRENT_PASSWORD)


def update_profile(
    actor: User,
    *,
    name: str | None = None,
    notifications: bool | None = None,
    password: str | None = None,
    current_password: str | None = None,
    keep_grant: uuid.UUID | None = None,
) -> User:
    """Change name, notification preference and/or password (the latter needs the current one).

    A new password ends every other session and access token of the user.
    """
    if password is not None:
        if not current_password:
            raise Invalid("Give your current password to set a new one.", field="current_password")
        check_password_rules(password)
        check_current_password(actor, current_password)
    elif current_password is not None:
        raise Invalid("current_password is only needed to set a new password.", field="password")
    if name is not None:
        actor.name = check_name(name)
    if notifications is not None and notifications != actor.notifications:
        from . import preferences

        preferences.set_mail(actor, notifications)
    if password is not None:
        actor.password_hash = hash_password(password)
        actor.session_version += 1
        tokens.revoke_all(actor, keep_grant=keep_grant, personal=False)
    db.session.commit()
    return actor


SEEN_GRANULARITY = timedelta(hours=1)  # a session's last use is written at most this often


def start_login_session(user: User) -> uuid.UUID:
    """A new login session for the user (committed); its id goes into the cookie."""
    now = utcnow()
    login = LoginSession(id=uuid.uuid4(), user_id=user.id, created_at=now, last_seen_at=now)
    db.session.add(login)
    db.session.commit()
    user.login_session_id = login.id
    return login.id


def end_login_session(session_id: uuid.UUID | None) -> None:
    """Log out: the session's cookie, or any copy of it, no longer works."""
    if session_id is None:
        return
    db.session.execute(
        update(LoginSession)
        .where(LoginSession.id == session_id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def _session_alive(login: LoginSession, now: datetime) -> bool:
    config = current_app.config
    if login.ended_at is not None:
        return False
    if now - login.created_at > timedelta(days=config["SESSION_MAX_DAYS"]):
        return False
    return now - login.last_seen_at <= timedelta(days=config["SESSION_IDLE_DAYS"])


def load_session_user(session_id: str) -> User | None:
    """The user behind a session cookie's id (`<user>:<session_version>:<login session>`),
    if the account is active, no password change ended it, and the login session is open
    and within its idle and absolute timeouts."""
    user_id, version, login_id = [*session_id.split(":"), "", ""][:3]
    try:
        uid, lid = uuid.UUID(user_id), uuid.UUID(login_id)
    except ValueError:
        return None
    row = db.session.execute(
        select(User, LoginSession)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == uid, LoginSession.id == lid)
    ).first()
    if row is None:
        return None
    user, login = row
    now = utcnow()
    if not user.is_active or str(user.session_version) != version:
        return None
    if not _session_alive(login, now):
        return None
    if now - login.last_seen_at > SEEN_GRANULARITY:
        login.last_seen_at = now
        db.session.commit()
    user.login_session_id = login.id
    return user


def purge_login_sessions() -> int:
    """Delete login sessions that ended, or are past their absolute timeout."""
    config = current_app.config
    cutoff = utcnow() - timedelta(days=config["SESSION_MAX_DAYS"])
    deleted = db.session.execute(
        delete(LoginSession)
        .where(or_(LoginSession.ended_at.is_not(None), LoginSession.created_at < cutoff))
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted


# Administration (the `flask users …` and `flask tokens …` commands) ---------------------


def get_by_email(email: str) -> User:
    """The user with this email (any case), or NotFound naming the address."""
    user = find_by_email(email)
    if user is None:
        raise NotFound(f"No user with email {normalise_email(email)}.")
    return user


def list_users_with_project_counts() -> list[tuple[User, int]]:
    """Every user with the number of projects they are a member of, oldest first; one query."""
    projects = (
        select(func.count())
        .select_from(Membership)
        .where(Membership.user_id == User.id)
        .correlate(User)
        .scalar_subquery()
    )
    rows = db.session.execute(select(User, projects).order_by(User.created_at, User.email))
    return [(user, count) for user, count in rows]


def set_password(user: User, password: str) -> None:
    """Set a new password; every session and access/refresh token of the user ends."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.session_version += 1
    tokens.revoke_all(user, personal=False)
    db.session.commit()


def set_active(user: User, active: bool) -> bool:
    """Activate or deactivate an account; whether anything changed.

    Deactivation ends every session and revokes every token, personal ones included, so
    reactivating the account later does not bring old credentials back.
    """
    if user.is_active == active:
        return False
    user.is_active = active
    if not active:
        user.session_version += 1
        tokens.revoke_all(user)
    db.session.commit()
    return True


def has_password(user: User, password: str) -> bool:
    return check_password_hash(user.password_hash, password)


def check_new_email(email: str) -> str:
    """The normalised address if it is valid and not in use; Invalid or Conflict otherwise."""
    email = check_email(email)
    if email_taken(email):
        raise Conflict("An account with this email already exists.", field="email")
    return email


def revoke_tokens(user: User) -> tuple[int, int]:
    """Revoke every token of the user: (access/refresh pairs revoked, personal tokens revoked)."""
    personal = (
        db.session.scalar(
            select(func.count()).select_from(PersonalToken).where(PersonalToken.user_id == user.id)
        )
        or 0
    )
    total = tokens.revoke_all(user)
    db.session.commit()
    return total - personal, personal

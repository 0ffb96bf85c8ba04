"""Signed account links: password reset and email change, mailed through the outbox.

A link carries an itsdangerous token signed with the app's SECRET_KEY (one salt per
purpose): the user's id, when it was asked for, and a fingerprint of the account's
password hash and email. Using a link changes one of those, so every link made before
dies with it: single use, and a password change or reset kills pending links too. The
token is made when the mail is sent, never stored; the outbox row holds only the address.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import Conflict, Invalid
from ..extensions import db
from ..models import Notification, User, utcnow
from . import accounts, tokens
from .notifications import Outbox, register_kind

log = logging.getLogger("taskboard.account_links")

RESET_SALT = "taskboard.password-reset"
EMAIL_SALT = "taskboard.email-change"
RESET_LIFETIME = timedelta(hours=1)
EMAIL_LIFETIME = timedelta(hours=24)
BAD_RESET_LINK = "This password reset link has expired or was already used."
BAD_EMAIL_LINK = "This confirmation link has expired or was already used."
RESET_ACCEPTED = (
    "If an account uses this address, a link to set a new password is on its way. "
    "It works for one hour."
)


def fingerprint(user: User) -> str:
    """Changes whenever the password or the email does: what makes a link single-use."""
    state = f"{user.password_hash}\0{user.email}".encode()
    return hashlib.sha256(state).hexdigest()[:24]


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make_token(salt: str, user: User, issued_at: datetime, **extra: str) -> str:
    """A signed token for this user as the account is now, dated `issued_at`."""
    data = {"u": str(user.id), "f": fingerprint(user), "t": int(issued_at.timestamp()), **extra}
    return str(_serializer(salt).dumps(data))


def _read_token(salt: str, token: str, lifetime: timedelta, message: str) -> tuple[User, dict]:
    """The active user a token names if it is genuine, fresh and still fits the account."""
    try:
        data = _serializer(salt).loads(token)
        user_id = uuid.UUID(data["u"])
        issued = datetime.fromtimestamp(int(data["t"]), tz=UTC)
        state = str(data["f"])
    except (BadSignature, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise Invalid(message, field="token") from exc
    if not utcnow() - lifetime <= issued <= utcnow() + timedelta(minutes=1):
        raise Invalid(message, field="token")
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or fingerprint(user) != state:
        raise Invalid(message, field="token")
    return user, data


def _base_url() -> str:
    return str(current_app.config["BASE_URL"]).rstrip("/")


def _too_old(note: Notification, lifetime: timedelta) -> bool:
    return note.created_at < utcnow() - lifetime


# Password reset ---------------------------------------------------------------------


def _reset_account(note: Notification) -> User | None:
    user = accounts.find_by_email(note.email or "")
    return user if user is not None and user.is_active else None


def _reset_skip(note: Notification) -> str | None:
    if _too_old(note, RESET_LIFETIME):
        return "the reset link would have expired already"
    if _reset_account(note) is None:
        return "no active account uses this address"
    return None


def _reset_context(note: Notification) -> dict[str, Any]:
    user = _reset_account(note)
    assert user is not None, "skipped unless the account exists"
    token = make_token(RESET_SALT, user, note.created_at)
    return {"recipient": user, "reset_url": f"{_base_url()}/reset-password/{token}"}


PASSWORD_RESET = register_kind(
    "password_reset",
    "Set a new password",
    account=True,
    context=_reset_context,
    skip=_reset_skip,
)


def request_password_reset(email: str) -> None:
    """Queue a reset link for the account using this address, if there is one.

    Known and unknown addresses take the same path (one outbox row with the address,
    queued after the commit); which one it was is decided when the mail is sent, so the
    answer says nothing about which addresses have accounts, not even by its timing.
    """
    address = accounts.check_email(email)
    if _reset_mails_capped(address):
        log.info("password reset for an address at its cap: no mail this time")
        return
    outbox = Outbox()
    outbox.add(PASSWORD_RESET, None, email=address)
    db.session.commit()
    outbox.dispatch()


RESET_MAILS_PER_HOUR = 5
RESET_LINKS_OPEN = 3


def _reset_mails_capped(address: str) -> bool:
    """Whether the address had its share of reset mail: RESET_MAILS_PER_HOUR requests in
    the last hour, or RESET_LINKS_OPEN links that still work. However many clients ask, a
    mailbox gets no more than that (the per-client limits cannot see rotating clients).
    Known and unknown addresses are counted alike, so the cap tells nothing either."""
    now = utcnow()
    recent = and_(
        Notification.kind == PASSWORD_RESET.name,
        Notification.email == address,
        Notification.created_at > now - timedelta(hours=1),
    )
    requested = db.session.scalar(select(func.count()).select_from(Notification).where(recent))
    open_links = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.kind == PASSWORD_RESET.name,
            Notification.email == address,
            Notification.created_at > now - RESET_LIFETIME,
            Notification.status.in_(("pending", "sending", "sent")),
        )
    )
    return (requested or 0) >= RESET_MAILS_PER_HOUR or (open_links or 0) >= RESET_LINKS_OPEN


def check_reset_token(token: str) -> User:
    """The user a reset link is for, or Invalid if it is forged, expired or used."""
    user, _ = _read_token(RESET_SALT, token, RESET_LIFETIME, BAD_RESET_LINK)
    return user


def reset_password(token: str, password: str) -> User:
    """Set a new password through a reset link; every session and token of the user ends."""
    user = check_reset_token(token)
    accounts.check_password_rules(password)
    old_hash = user.password_hash
    # Conditional, so two uses of one link at the same moment cannot both succeed.
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == old_hash)
        .values(
            password_hash=accounts.hash_password(password),
            session_version=User.session_version + 1,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise Invalid(BAD_RESET_LINK, field="token")
    tokens.revoke_all(user)
    db.session.commit()
    db.session.refresh(user)
    return user


# Email change -----------------------------------------------------------------------


def _email_user(note: Notification) -> User:
    assert note.user is not None, "email change mail always names its user"
    return note.user


def _confirm_skip(note: Notification) -> str | None:
    if _too_old(note, EMAIL_LIFETIME):
        return "the confirmation link would have expired already"
    if fingerprint(_email_user(note)) != note.payload.get("state"):
        return "the account's email or password changed since the request"
    return None


def _confirm_context(note: Notification) -> dict[str, Any]:
    user = _email_user(note)
    token = make_token(EMAIL_SALT, user, note.created_at, e=note.payload["new_email"])
    return {"confirm_url": f"{_base_url()}/confirm-email/{token}"}


EMAIL_CONFIRM = register_kind(
    "email_confirm",
    "Confirm your new email address",
    account=True,
    context=_confirm_context,
    skip=_confirm_skip,
)
EMAIL_CHANGE_NOTICE = register_kind(
    "email_change_notice", "Your email address is being changed", account=True
)
EMAIL_IN_USE = register_kind(
    "email_in_use", "This address already has a Taskboard account", account=True
)


def request_email_change(actor: User, email: str, current_password: str) -> str:
    """Mail a confirmation link to the new address and a notice to the current one.

    Nothing changes until the link is opened. The normalised new address.
    """
    address = accounts.check_email(email)
    accounts.check_current_password(actor, current_password)
    if address == actor.email:
        raise Invalid("This is already your email address.", field="email")
    payload = {"new_email": address, "old_email": actor.email, "state": fingerprint(actor)}
    outbox = Outbox()
    if accounts.email_taken(address):
        # The same answer as for a free address, so the answer tells no one which
        # addresses have accounts; the mail to that address says why nothing happens.
        outbox.add(EMAIL_IN_USE, actor, email=address, payload=payload)
    else:
        outbox.add(EMAIL_CONFIRM, actor, email=address, payload=payload)
        # To the address as it is now: the notice must reach it even if the change goes
        # through before the mail is sent.
        outbox.add(EMAIL_CHANGE_NOTICE, actor, email=actor.email, payload=payload)
    db.session.commit()
    outbox.dispatch()
    return address


def check_email_token(token: str) -> tuple[User, str]:
    """The user and new address of a confirmation link, or Invalid."""
    user, data = _read_token(EMAIL_SALT, token, EMAIL_LIFETIME, BAD_EMAIL_LINK)
    new_email = data.get("e")
    if not isinstance(new_email, str):
        raise Invalid(BAD_EMAIL_LINK, field="token")
    return user, new_email


def confirm_email(token: str) -> User:
    """Switch the account to the address a confirmation link names; Conflict if taken since."""
    user, new_email = check_email_token(token)
    if accounts.email_taken(new_email, except_user=user.id):
        raise Conflict("Another account uses this email address now.", field="email")
    changed = db.session.execute(
        update(User)
        .where(User.id == user.id, User.email == user.email)
        .values(email=new_email)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        db.session.rollback()
        raise Invalid(BAD_EMAIL_LINK, field="token")
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        if accounts.email_taken(new_email, except_user=user.id):
            raise Conflict("Another account uses this email address now.", field="email") from exc
        raise
    db.session.refresh(user)
    return user

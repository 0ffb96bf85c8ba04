"""Invitations: the owner asks any address into a project; the mailed link joins it.

An address that has an account is added at once (`projects.add_member`). Any other gets
an `Invitation` row and a mail through the outbox with a link to `/invitations/<token>`:
the token is the invitation's id signed with the app's SECRET_KEY, made when the mail is
sent and never stored. The link works once, for whoever holds it, for `LIFETIME`; the
row stays after it is used, revoked or expired, so an old link can say which it was.

Mail to strangers is capped: an address gets at most `MAILS_PER_ADDRESS_PER_DAY`
invitation mails a day whoever sends them, and an owner makes at most
`INVITES_PER_OWNER_PER_HOUR` invitations an hour.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import func, select, update

from ..errors import Conflict, Gone, Invalid, NotFound, TooManyRequests
from ..extensions import db
from ..models import Invitation, Membership, Notification, Project, User, utcnow
from . import accounts, projects
from .common import Actor, Page
from .notifications import Outbox, register_kind

SALT = "taskboard.invitation"
LIFETIME = timedelta(days=7)
MAILS_PER_ADDRESS_PER_DAY = 3
INVITES_PER_OWNER_PER_HOUR = 50

NOT_FOUND = "No such invitation."
BAD_LINK = "This invitation link is not valid. Check that it was copied whole."
GONE = {
    "accepted": "This invitation was already used. Log in to open the project.",
    "revoked": "This invitation was withdrawn by the project owner.",
    "expired": "This invitation has expired. Ask the project owner to send a new one.",
}


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(invitation: Invitation) -> str:
    return str(_serializer().dumps(str(invitation.id)))


def link(invitation: Invitation) -> str:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return f"{base}/invitations/{make_token(invitation)}"


# The mail -----------------------------------------------------------------------------


def _mailed(note: Notification) -> Invitation | None:
    try:
        invitation_id = uuid.UUID(str(note.payload.get("invitation_id")))
    except ValueError:
        return None
    return db.session.get(Invitation, invitation_id)


def _skip(note: Notification) -> str | None:
    invitation = _mailed(note)
    if invitation is None:
        return "the invitation is gone with its project"
    state = invitation.state(utcnow())
    return None if state == "pending" else f"the invitation is {state}"


def _context(note: Notification) -> dict[str, Any]:
    invitation = _mailed(note)
    assert invitation is not None, "skipped unless the invitation exists"
    return {"invite_url": link(invitation), "expires_at": invitation.expires_at}


INVITATION = register_kind(
    "invitation",
    "{actor_name} invited you to “{project_title}”",
    account=True,
    context=_context,
    skip=_skip,
)


def _mail(outbox: Outbox, invitation: Invitation, project: Project, actor: Actor) -> None:
    """Queue the invitation's mail, or refuse if the address had its share today."""
    since = utcnow() - timedelta(days=1)
    mailed = db.session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.kind == INVITATION.name,
            Notification.email == invitation.email,
            Notification.created_at > since,
        )
    )
    if (mailed or 0) >= MAILS_PER_ADDRESS_PER_DAY:
        raise TooManyRequests(
            f"This address got {MAILS_PER_ADDRESS_PER_DAY} invitation mails in the last "
            "24 hours; try again tomorrow."
        )
    payload = {
        "invitation_id": str(invitation.id),
        "project_title": project.title,
        "actor_name": actor.name,
    }
    outbox.add(INVITATION, None, email=invitation.email, project_id=project.id, payload=payload)


# The owner's side ---------------------------------------------------------------------


def invite(actor: Actor, project_id: uuid.UUID, email: str) -> User | Invitation:
    """Add the address's account at once, or invite the address: the User or the Invitation."""
    address = accounts.check_email(email)
    project = projects.get_for_owner(actor, project_id)
    user = accounts.find_by_email(address)
    if user is not None:
        if not user.is_active:
            raise Invalid(
                "The account with this address is deactivated; an administrator can reactivate it.",
                field="email",
            )
        return projects.add_member(actor, project_id, address)
    projects.locked(project)
    now = utcnow()
    pending = db.session.scalar(
        select(Invitation.id).where(
            Invitation.project_id == project.id,
            Invitation.email == address,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if pending is not None:
        raise Conflict(
            "This address is invited already; resend the invitation from the list.",
            field="email",
        )
    made = db.session.scalar(
        select(func.count())
        .select_from(Invitation)
        .where(
            Invitation.invited_by_id == actor.id, Invitation.created_at > now - timedelta(hours=1)
        )
    )
    if (made or 0) >= INVITES_PER_OWNER_PER_HOUR:
        raise TooManyRequests(
            f"You sent {INVITES_PER_OWNER_PER_HOUR} invitations in the last hour; "
            "wait a while before sending more."
        )
    invitation = Invitation(
        id=uuid.uuid4(),
        project_id=project.id,
        email=address,
        invited_by_id=actor.id,
        created_at=now,
        expires_at=now + LIFETIME,
    )
    db.session.add(invitation)
    outbox = Outbox()
    _mail(outbox, invitation, project, actor)
    db.session.commit()
    outbox.dispatch()
    return invitation


def list_open(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Invitation]:
    """The invitations not yet used or revoked (expired ones too: they can be resent)."""
    projects.get_for_owner(actor, project_id)
    base = select(Invitation).where(
        Invitation.project_id == project_id,
        Invitation.accepted_at.is_(None),
        Invitation.revoked_at.is_(None),
    )
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.order_by(Invitation.created_at, Invitation.email).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


def _owned(actor: Actor, invitation_id: uuid.UUID) -> tuple[Invitation, Project]:
    """An open invitation of a project the actor owns (Forbidden for its other members)."""
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(NOT_FOUND)
    try:
        project = projects.get_for_owner(actor, invitation.project_id)
    except NotFound as exc:
        raise NotFound(NOT_FOUND) from exc
    projects.locked(project)
    db.session.refresh(invitation)
    if invitation.revoked_at is not None:
        raise NotFound(NOT_FOUND)
    if invitation.accepted_at is not None:
        raise Conflict("This invitation was accepted already; the person is a member.")
    return invitation, project


def resend(actor: Actor, invitation_id: uuid.UUID) -> Invitation:
    """Mail the invitation again; its link works for another `LIFETIME` from now."""
    invitation, project = _owned(actor, invitation_id)
    outbox = Outbox()
    _mail(outbox, invitation, project, actor)
    invitation.expires_at = utcnow() + LIFETIME
    db.session.commit()
    outbox.dispatch()
    return invitation


def revoke(actor: Actor, invitation_id: uuid.UUID) -> Invitation:
    """Withdraw an open invitation: its link says so from now on."""
    invitation, _ = _owned(actor, invitation_id)
    invitation.revoked_at = utcnow()
    db.session.commit()
    return invitation


# The invitee's side -------------------------------------------------------------------


def check_token(token: str) -> Invitation:
    """The pending invitation a link names: NotFound if forged, Gone if used, revoked or
    expired (with which it was)."""
    try:
        invitation_id = uuid.UUID(str(_serializer().loads(token)))
    except (BadSignature, ValueError) as exc:
        raise NotFound(BAD_LINK) from exc
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(BAD_LINK)
    state = invitation.state(utcnow())
    if state != "pending":
        raise Gone(GONE[state])
    return invitation


def accept(token: str, user: User) -> tuple[Project, bool]:
    """Join the project of the invitation: the project, and whether the user joined now
    (False if they were a member already; the link then stays unused)."""
    invitation = check_token(token)
    project = db.session.get(Project, invitation.project_id)
    assert project is not None, "invitations go with their project"
    if db.session.get(Membership, (project.id, user.id)) is not None:
        return project, False
    projects.locked(project)
    now = utcnow()
    # Conditional, so one link used twice at the same moment joins one account.
    used = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(accepted_at=now, accepted_by_id=user.id)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        db.session.rollback()
        db.session.refresh(invitation)
        raise Gone(GONE.get(invitation.state(now), GONE["accepted"]))
    db.session.add(Membership(project_id=project.id, user_id=user.id, created_at=now))
    project.version = Project.version + 1
    outbox = Outbox()
    outbox.event(project.id, "member.added", user, member={"id": str(user.id), "name": user.name})
    db.session.commit()
    outbox.dispatch()
    return project, True

"""The domain as SQLAlchemy 2 typed models."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .extensions import db

STATUSES: tuple[str, ...] = ("todo", "in_progress", "done")
STATUS_LABELS: dict[str, str] = {"todo": "To Do", "in_progress": "In Progress", "done": "Done"}
SCOPES: tuple[str, ...] = ("read", "write")
# The kinds of change a card's history records (`Activity.verb`).
VERBS: tuple[str, ...] = (
    "created",
    "title_changed",
    "description_changed",
    "status_changed",
    "assignee_added",
    "assignee_removed",
    "due_date_changed",
    "commented",
    "comment_edited",
    "comment_deleted",
    "column_changed",
    "label_added",
    "label_removed",
    "checklist_item_added",
    "checklist_item_edited",
    "checklist_item_checked",
    "checklist_item_unchecked",
    "checklist_item_removed",
    "attachment_added",
    "attachment_removed",
    "restored",
    "imported",
)
# The palette labels are drawn from; each is rendered with AA contrast (static/css/app.css).
LABEL_COLORS: tuple[str, ...] = (
    "gray",
    "red",
    "orange",
    "yellow",
    "green",
    "teal",
    "blue",
    "indigo",
    "purple",
    "pink",
)


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware datetime stored as UTC; SQLite gets it back aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], datetime | None]:
        """Aware UTC datetimes from what the driver returns, in one call per value.

        SQLite keeps text: parsed with its offset in one step (attaching the zone afterwards
        with `replace` cost more than the parse); anything else through the impl's own
        conversion. Every card read carries three of these, so `TypeDecorator`'s usual
        chain of calls per value showed in every profile of a page.
        """
        convert = self.impl_instance.result_processor(dialect, coltype)
        parse = datetime.fromisoformat

        def process(value: Any) -> datetime | None:
            if value is None:
                return None
            if type(value) is str:
                try:
                    return parse(value + "+00:00")
                except ValueError:  # not the stored form (written by hand): the impl's way
                    pass
            if convert is not None:
                value = convert(value)
            if value.tzinfo is None:
                return value.replace(tzinfo=UTC)
            return value if value.tzinfo is UTC else value.astimezone(UTC)

        return process


class StatusType(TypeDecorator[str]):
    """A task status stored as its column index, so `ORDER BY status, position` is board order."""

    impl = SmallInteger
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return STATUSES.index(value)

    def result_processor(self, dialect: Any, coltype: Any) -> Callable[[Any], str | None]:
        """The column index to its status, in one call per value (see `UTCDateTime`)."""
        convert = self.impl_instance.result_processor(dialect, coltype)

        def process(value: Any) -> str | None:
            if value is None:
                return None
            return STATUSES[value if convert is None else convert(value)]

        return process


def uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(Uuid, primary_key=True, default=uuid.uuid4)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = uuid_pk()
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Mail on or off (the first wave's switch): kept equal to `notify_mode != "off"`.
    notifications: Mapped[bool] = mapped_column(default=True)
    # How notification mail goes out: "instant" (coalesced), "digest" (daily, at
    # `digest_hour` in `time_zone`) or "off"; per kind on/off (a kind not named is on).
    notify_mode: Mapped[str] = mapped_column(String(8), default="instant", server_default="instant")
    notify_kinds: Mapped[dict[str, bool]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    digest_hour: Mapped[int] = mapped_column(default=8, server_default="8")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    # When the next digest is due (UTC); None unless the mode is "digest".
    digest_next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped whenever every session of the user must end (password reset, deactivation).
    session_version: Mapped[int] = mapped_column(default=0)
    # The calendar feed's link is signed with this number; None: no feed. A new feed
    # takes the next number, so every earlier link stops working.
    calendar_version: Mapped[int | None] = mapped_column()
    calendar_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    # The login session a request was made in (not a column): set at login and when a
    # session cookie is read, so flask-login keeps it in the cookie.
    login_session_id = None  # a uuid.UUID once set; not annotated, so not mapped

    def get_id(self) -> str:
        base = f"{self.id}:{self.session_version}"
        return f"{base}:{self.login_session_id}" if self.login_session_id else base

    def __repr__(self) -> str:
        return f"<User {self.email}>"


class Membership(db.Model):
    __tablename__ = "memberships"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[uuid.UUID] = uuid_pk()
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped on every change of the representation: the API's ETag, the edit form's version.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # Bumped in the transaction of every change to the board's cards or comments: the
    # board page's ETag, so polling an unchanged board costs one small query.
    board_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The read-only link is signed with `share_version`; None: no link. Turned on again,
    # it takes the next number (`share_seq`), so a link turned off stays dead.
    share_version: Mapped[int | None] = mapped_column()
    share_seq: Mapped[int] = mapped_column(default=0, server_default="0")

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    members: Mapped[list[User]] = relationship(
        secondary="memberships",
        order_by=lambda: (Membership.created_at, User.email),
        viewonly=True,
    )

    def __repr__(self) -> str:
        return f"<Project {self.title!r}>"


class BoardChange(db.Model):
    """What a board version changed: a card (`task_id`), or its layout (NULL: columns,
    labels, members … anything a card-by-card update cannot show). The board's polls
    answer only the cards changed since the version the page has; a short history per
    project is kept."""

    __tablename__ = "board_changes"
    __table_args__ = (Index("ix_board_changes_project_version", "project_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)


class BoardColumn(db.Model):
    """A named column of a project's board; its category is the `status` of its cards."""

    __tablename__ = "board_columns"
    __table_args__ = (
        UniqueConstraint("project_id", "name_key", name="uq_board_columns_name"),
        Index("ix_board_columns_project_position", "project_id", "position"),
        CheckConstraint("category BETWEEN 0 AND 2", name="category_known"),
        CheckConstraint("wip_limit IS NULL OR wip_limit BETWEEN 1 AND 999", name="wip_in_range"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    # The name as compared for uniqueness: case-folded, so "Doing" and "doing" clash.
    name_key: Mapped[str] = mapped_column(String(60))
    position: Mapped[int] = mapped_column(default=0)
    category: Mapped[str] = mapped_column(StatusType, default="todo")
    wip_limit: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<BoardColumn {self.name!r} {self.category}:{self.position}>"


class Label(db.Model):
    __tablename__ = "labels"
    __table_args__ = (UniqueConstraint("project_id", "name_key", name="uq_labels_name"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(40))
    name_key: Mapped[str] = mapped_column(String(40))
    color: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskLabel(db.Model):
    __tablename__ = "task_labels"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    label_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ChecklistItem(db.Model):
    __tablename__ = "checklist_items"
    __table_args__ = (Index("ix_checklist_items_task_position", "task_id", "position"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(500))
    done: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskAssignee(db.Model):
    __tablename__ = "task_assignees"

    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Task(db.Model):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_board", "project_id", "status", "position"),
        Index("ix_tasks_column_position", "column_id", "position"),
        Index("ix_tasks_due_date", "due_date"),
        # The board's next due moments (its ETag): a seek within the project.
        Index("ix_tasks_project_due_date", "project_id", "due_date"),
        CheckConstraint("status BETWEEN 0 AND 2", name="status_known"),
        CheckConstraint("position >= 0", name="position_not_negative"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    # The column the card is in; `status` is that column's category, kept with the card
    # (changed with it) so filters, "overdue" and notifications read it from the card.
    column_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("board_columns.id"))
    status: Mapped[str] = mapped_column(StatusType, default="todo")
    position: Mapped[int] = mapped_column(default=0)
    # The checklist's counts, kept with the card by every checklist change: the card
    # front shows them, and reading them costs no query.
    checklist_total: Mapped[int] = mapped_column(default=0, server_default="0")
    checklist_done: Mapped[int] = mapped_column(default=0, server_default="0")
    # Kept with the card by every upload and deletion, like the checklist's counts.
    attachment_count: Mapped[int] = mapped_column(default=0, server_default="0")
    due_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Bumped on every change of the representation: the API's ETag, the edit form's version.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    project: Mapped[Project] = relationship()
    created_by: Mapped[User] = relationship()
    assignees: Mapped[list[User]] = relationship(
        secondary="task_assignees", order_by=lambda: User.name
    )

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    def __repr__(self) -> str:
        return f"<Task {self.title!r} {self.status}:{self.position}>"


class Comment(db.Model):
    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_task_created", "task_id", "created_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship()


class Activity(db.Model):
    __tablename__ = "activities"
    __table_args__ = (Index("ix_activities_task_id_id", "task_id", "id"),)

    # A sequence, not a UUID: entries written in one change keep the order they were made in.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    verb: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    actor: Mapped[User] = relationship()


class AuthToken(db.Model):
    """An access/refresh token pair handed out by POST /auth/tokens; only hashes are kept."""

    __tablename__ = "auth_tokens"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    access_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    refreshed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Every pair made by refreshing the pair of one login shares its family: a spent
    # refresh token used again, or a logout, ends the whole family.
    family_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)

    user: Mapped[User] = relationship()


class LoginSession(db.Model):
    """One login in a browser. The session cookie names it, so logging out ends it on the
    server; it also ends after SESSION_IDLE_DAYS unused and SESSION_MAX_DAYS after login."""

    __tablename__ = "login_sessions"

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PersonalToken(db.Model):
    """A long-lived token for scripts, with a scope; only its hash is kept."""

    __tablename__ = "personal_tokens"
    __table_args__ = (CheckConstraint("scope IN ('read', 'write')", name="scope_known"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(5))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


NOTIFICATION_STATUSES: tuple[str, ...] = ("pending", "sending", "sent", "failed", "skipped")


class TaskWatch(db.Model):
    """A member watching a task: its comments, moves and edits reach them."""

    __tablename__ = "task_watches"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProjectFollow(db.Model):
    """A member watching ("watch") every task of a project, or muting it ("mute")."""

    __tablename__ = "project_follows"
    __table_args__ = (CheckConstraint("state IN ('watch', 'mute')", name="state_known"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    state: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(db.Model):
    """A file on a card: its metadata here, its bytes in the storage under `storage_key`."""

    __tablename__ = "attachments"
    __table_args__ = (
        Index("ix_attachments_task_created", "task_id", "created_at"),
        Index("ix_attachments_project", "project_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"))
    # The project's too, so its quota is one sum and its deletion one statement.
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    storage_key: Mapped[str] = mapped_column(String(300))
    uploaded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    uploaded_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Attachment {self.filename!r} {self.size}>"


class BlobRemoval(db.Model):
    """A stored file to delete, written in the transaction that dropped its attachment
    (or its task or project); a job removes it and the row, retrying until it can."""

    __tablename__ = "blob_removals"
    __table_args__ = (Index("ix_blob_removals_due", "next_attempt_at"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    storage_key: Mapped[str] = mapped_column(String(300))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TrashItem(db.Model):
    """A deleted task or project, kept for `TRASH_DAYS`: its rows as they were (`data`),
    so restoring it brings back everything it had, with the same ids. Its attachments'
    files stay in the storage (`file_keys`) until the item is purged."""

    __tablename__ = "trash_items"
    __table_args__ = (
        Index("ix_trash_items_project_deleted", "project_id", "deleted_at"),
        Index("ix_trash_items_deleted", "deleted_at"),
        CheckConstraint("kind IN ('task', 'project')", name="kind_known"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(8))
    # The task's project, or the project itself; plain ids: both rows are gone.
    project_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    # Who may restore a project: its owner (tasks: any member of the project).
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(255))
    deleted_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_keys: Mapped[list[str]] = mapped_column(JSON, default=list)

    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])

    def __repr__(self) -> str:
        return f"<TrashItem {self.kind} {self.title!r}>"


class Webhook(db.Model):
    """A project owner's endpoint for events; its secret signs every delivery's body."""

    __tablename__ = "webhooks"
    __table_args__ = (Index("ix_webhooks_project", "project_id"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    secret: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    # Deliveries given up in a row; past WEBHOOK_DISABLE_AFTER the webhook is switched off.
    failures: Mapped[int] = mapped_column(default=0)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDelivery(db.Model):
    """One event for one webhook: its exact body, written in the change's transaction,
    sent by a worker (claimed pending → sending like the mail outbox), kept with its
    outcome; the id is the `X-Taskboard-Delivery` header, the same on every retry."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
        Index("ix_webhook_deliveries_webhook_created", "webhook_id", "created_at"),
        CheckConstraint(
            "state IN ('pending', 'sending', 'delivered', 'failed', 'cancelled')",
            name="state_known",
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    status: Mapped[int | None] = mapped_column()
    duration_ms: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invitation(db.Model):
    """An owner's invitation of an address to a project; its link is signed, never stored.

    Pending until it is accepted, revoked or past `expires_at`; the row stays afterwards,
    so an old link can say which of those happened."""

    __tablename__ = "invitations"
    __table_args__ = (Index("ix_invitations_project_email", "project_id", "email"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(254))
    invited_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])
    project: Mapped[Project] = relationship()

    def state(self, now: datetime) -> str:
        """pending, accepted, revoked or expired."""
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "pending" if self.expires_at > now else "expired"

    def __repr__(self) -> str:
        return f"<Invitation {self.email} to {self.project_id}>"


class Notification(db.Model):
    """The outbox: one mail to one recipient, written in the transaction of its cause.

    A worker claims a row (pending → sending) with a conditional UPDATE, sends it and marks
    it sent; `claimed_at` lets a row left "sending" by a killed worker be claimed again.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "next_attempt_at"),
        CheckConstraint(
            "status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'digest', 'inbox')",
            name="status_known",
        ),
        Index("ix_notifications_inbox", "user_id", "created_at"),
        Index("ix_notifications_batch", "batch_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    kind: Mapped[str] = mapped_column(String(32))
    # The recipient: a user (whose current address is used), and/or an explicit address
    # for mail that must reach one that is not (yet) the user's, like an email change.
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(254))
    # Plain ids, no foreign keys: the record outlives a deleted task or project.
    project_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    task_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Makes an event notify once, e.g. one due reminder per task, due date and user.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The inbox: when the recipient marked it read.
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Rows sent as one mail share a batch: the id of the group's first row (coalesced
    # instant mail) or of the day's digest; `digest_at` is the digest's due moment.
    batch_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    digest_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<Notification {self.kind} {self.status}>"

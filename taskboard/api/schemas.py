"""The wire format: every request and response body of /api/v1, and so the OpenAPI document.

Schemas check types and shapes, and the input limits, which they read from
`services.common` where the services declare and enforce them; the services check the
rules (membership, names taken …), so the pages and the API answer alike.
"""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from ..models import LABEL_COLORS, SCOPES, STATUSES, VERBS
from ..services import common as c
from ..services.common import YEAR_PATTERN, is_plain
from ..services.preferences import KINDS as NOTIFY_KINDS
from ..services.preferences import MODES as NOTIFY_MODES
from ..services.webhooks import EVENTS as WEBHOOK_EVENTS
from .dumping import plan_of

UUID_RE = r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$"


class StrictBoolean(fields.Boolean):
    """A JSON boolean: true or false, not "yes" or 1."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


NO_NUL = r"^[^\u0000]*$"
NOT_BLANK = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


def plain(value: str) -> None:
    """No NUL characters or lone surrogates: nothing a database would refuse to store."""
    if not is_plain(value):
        raise ma.ValidationError("Contains characters that are not allowed.")


def not_blank(value: str) -> None:
    if not value.strip():
        raise ma.ValidationError("Must not be empty or only spaces.")


def text(max_len: int, *, min_len: int = 0, blank: bool = False, **kwargs: Any) -> fields.String:
    """A string of min_len..max_len characters; unless `blank`, not only whitespace."""
    checks: list[Any] = [validate.Length(min=min_len or None, max=max_len), plain]
    metadata: dict[str, Any] = dict(kwargs.pop("metadata", {}))
    metadata["pattern"] = NO_NUL
    if min_len and not blank:
        checks.append(not_blank)
        metadata["pattern"] = NOT_BLANK
    return fields.String(validate=checks, metadata=metadata, **kwargs)


def new_password(**kwargs: Any) -> fields.String:
    """A password being set: its length rules, never dumped."""
    return text(c.PASSWORD_MAX, min_len=c.PASSWORD_MIN, blank=True, load_only=True, **kwargs)


class Schema(ma.Schema):
    """Unknown fields refused; responses dumped through the schema's plan (`dumping`).

    A subclass with dump hooks (`pre_dump`, `post_dump`) sets `dump_plan = False`."""

    dump_plan = True

    class Meta:
        unknown = ma.RAISE

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        """marshmallow's dump, through the schema's plan (see `dumping`): the same output."""
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._plan = plan_of(self) or False
        if plan is False or obj is None:
            return super().dump(obj, many=many)
        if self.many if many is None else many:
            return [plan(each) for each in obj]
        return plan(obj)


# People and tokens --------------------------------------------------------------------


class UserSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True)
    name = fields.String(dump_only=True)


class MeSchema(UserSchema):
    notifications = fields.Boolean(dump_only=True)


class RegisterSchema(Schema):
    email = fields.Email(required=True, metadata={"maxLength": c.EMAIL_MAX})
    name = text(c.NAME_MAX, min_len=1, required=True)
    password = new_password(required=True)


class CredentialsSchema(Schema):
    email = text(c.EMAIL_MAX, required=True)
    password = text(c.PASSWORD_MAX, required=True, load_only=True)


class RefreshSchema(Schema):
    refresh_token = text(200, required=True, load_only=True)


class TokenPairSchema(Schema):
    access_token = fields.String(required=True)
    refresh_token = fields.String(required=True)
    token_type = fields.String(required=True, metadata={"enum": ["Bearer"]})
    expires_in = fields.Integer(
        required=True, metadata={"description": "Seconds until the access token expires."}
    )


class MePatchSchema(Schema):
    name = text(c.NAME_MAX, min_len=1)
    notifications = StrictBoolean()
    password = new_password()
    current_password = text(c.PASSWORD_MAX, load_only=True)


class PasswordResetRequestSchema(Schema):
    email = fields.Email(required=True, metadata={"maxLength": c.EMAIL_MAX})


class PasswordResetSchema(Schema):
    token = text(1000, min_len=1, required=True, load_only=True)
    password = new_password(required=True)


class EmailChangeSchema(Schema):
    email = fields.Email(required=True, metadata={"maxLength": c.EMAIL_MAX})
    current_password = text(c.PASSWORD_MAX, required=True, load_only=True)


class EmailConfirmSchema(Schema):
    token = text(1000, min_len=1, required=True, load_only=True)


class AcceptedSchema(Schema):
    message = fields.String(required=True, metadata={"description": "What happens next."})


class PersonalTokenSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    scope = fields.String(dump_only=True, metadata={"enum": list(SCOPES)})
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    expires_at = fields.DateTime(dump_only=True, allow_none=True)


class PersonalTokenCreatedSchema(PersonalTokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The secret, shown this once."})


class PersonalTokenCreateSchema(Schema):
    name = text(c.TOKEN_NAME_MAX, min_len=1, required=True)
    scope = fields.String(required=True, validate=validate.OneOf(SCOPES))
    expires_in_days = fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=1, max=365),
        metadata={"description": "Days until the token expires; none: no expiry."},
    )


# Projects --------------------------------------------------------------------------


class ProjectSchema(Schema):
    id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    owner = fields.Nested(UserSchema, dump_only=True)
    members = fields.List(fields.Nested(UserSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class ProjectCreateSchema(Schema):
    title = text(c.TITLE_MAX, min_len=1, required=True)
    description = text(c.DESCRIPTION_MAX, allow_none=True)


class ProjectPatchSchema(Schema):
    title = text(c.TITLE_MAX, min_len=1)
    description = text(c.DESCRIPTION_MAX, allow_none=True)


class MemberAddSchema(Schema):
    email = text(c.EMAIL_MAX, required=True, metadata={"format": "email"})


class InvitationSchema(Schema):
    id = fields.UUID(dump_only=True)
    email = fields.String(dump_only=True)
    invited_by = fields.Nested(UserSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(
        dump_only=True, metadata={"description": "The link stops working then; resend renews it."}
    )


# Tasks -----------------------------------------------------------------------------


class DueDate(fields.AwareDateTime):
    """A date-time with an offset, in the years the services take (`check_moment`); the
    OpenAPI document says so with a pattern, so clients and fuzzers know the range."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": YEAR_PATTERN, **kwargs.pop("metadata", {})}
        super().__init__(metadata=metadata, **kwargs)


# Columns, labels, checklists --------------------------------------------------------

STATUS_DOC = "`todo`, `in_progress` or `done`: the category of the card's column."


def position_field(description: str) -> fields.Integer:
    return fields.Integer(
        strict=True, validate=validate.Range(min=0), metadata={"description": description}
    )


def wip_limit_field() -> fields.Integer:
    return fields.Integer(
        strict=True,
        allow_none=True,
        validate=validate.Range(min=c.WIP_MIN, max=c.WIP_MAX),
        metadata={"description": "Cards the column should hold at most; null: no limit."},
    )


class ColumnSchema(Schema):
    id = fields.UUID(dump_only=True)
    project_id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    category = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    position = fields.Integer(dump_only=True)
    wip_limit = fields.Integer(dump_only=True, allow_none=True)
    task_count = fields.Integer(dump_only=True)


class ColumnCreateSchema(Schema):
    name = text(c.COLUMN_NAME_MAX, min_len=1, required=True)
    category = fields.String(required=True, validate=validate.OneOf(STATUSES))
    wip_limit = wip_limit_field()
    position = position_field("0-based place on the board; none or past the end: the end.")


class ColumnPatchSchema(Schema):
    name = text(c.COLUMN_NAME_MAX, min_len=1)
    category = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Its cards' status follows."},
    )
    wip_limit = wip_limit_field()
    position = position_field("0-based place on the board; the other columns close up.")


class ColumnDeleteQuerySchema(Schema):
    move_to = fields.UUID(
        metadata={"description": "The column that takes the cards; required when there are any."}
    )


class LabelSchema(Schema):
    id = fields.UUID(dump_only=True)
    name = fields.String(dump_only=True)
    color = fields.String(dump_only=True, metadata={"enum": list(LABEL_COLORS)})


class LabelCreateSchema(Schema):
    name = text(c.LABEL_NAME_MAX, min_len=1, required=True)
    color = fields.String(required=True, validate=validate.OneOf(LABEL_COLORS))


class LabelPatchSchema(Schema):
    name = text(c.LABEL_NAME_MAX, min_len=1)
    color = fields.String(validate=validate.OneOf(LABEL_COLORS))


class ChecklistCountSchema(Schema):
    done = fields.Integer(dump_only=True, required=True)
    total = fields.Integer(dump_only=True, required=True)


class ChecklistItemSchema(Schema):
    id = fields.UUID(dump_only=True)
    task_id = fields.UUID(dump_only=True)
    text = fields.String(dump_only=True)
    done = fields.Boolean(dump_only=True)
    position = fields.Integer(dump_only=True)


class ChecklistItemCreateSchema(Schema):
    text = text(c.CHECKLIST_TEXT_MAX, min_len=1, required=True)
    position = position_field("0-based; none or past the end: the end.")


class ChecklistItemPatchSchema(Schema):
    text = text(c.CHECKLIST_TEXT_MAX, min_len=1)
    done = StrictBoolean()
    position = position_field("0-based; the other items close up.")


class TaskSchema(Schema):
    id = fields.UUID(dump_only=True)
    project_id = fields.UUID(dump_only=True)
    column_id = fields.UUID(dump_only=True)
    title = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    status = fields.String(
        dump_only=True, metadata={"enum": list(STATUSES), "description": STATUS_DOC}
    )
    position = fields.Integer(dump_only=True, metadata={"description": "0-based, in its column."})
    assignees = fields.List(fields.Nested(UserSchema), dump_only=True)
    labels = fields.List(fields.Nested(LabelSchema), dump_only=True)
    checklist = fields.Nested(ChecklistCountSchema, dump_only=True)
    attachment_count = fields.Integer(dump_only=True)
    due_date = fields.DateTime(dump_only=True, allow_none=True)
    created_by = fields.Nested(UserSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class TaskCreateSchema(Schema):
    title = text(c.TITLE_MAX, min_len=1, required=True)
    description = text(c.DESCRIPTION_MAX, allow_none=True)
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Without `column_id`: the first column of this category."},
    )
    column_id = fields.UUID(metadata={"description": "A column of the project."})
    assignee_ids = fields.List(fields.UUID())
    label_ids = fields.List(fields.UUID(), metadata={"description": "Labels of the project."})
    due_date = DueDate(allow_none=True, metadata={"description": "ISO 8601 with an offset."})


class TaskPatchSchema(Schema):
    title = text(c.TITLE_MAX, min_len=1)
    description = text(c.DESCRIPTION_MAX, allow_none=True)
    status = fields.String(
        validate=validate.OneOf(STATUSES),
        metadata={"description": "Alone: to the end of the first column of this category."},
    )
    column_id = fields.UUID(metadata={"description": "A column of the project."})
    position = fields.Integer(
        strict=True,
        validate=validate.Range(min=0),
        metadata={"description": "0-based; past the end of the column means the end."},
    )
    assignee_ids = fields.List(fields.UUID())
    label_ids = fields.List(fields.UUID(), metadata={"description": "Labels of the project."})
    due_date = DueDate(
        allow_none=True, metadata={"description": "ISO 8601 with an offset; null clears it."}
    )


class AssigneeFilter(fields.String):
    """`me` or a user id."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        value = super()._deserialize(value, attr, data, **kwargs)
        if value == "me":
            return value
        try:
            return uuid.UUID(value)
        except ValueError as exc:
            raise ma.ValidationError("Must be 'me' or a user id.") from exc


class TaskQuerySchema(Schema):
    class Meta:
        unknown = ma.EXCLUDE

    status = fields.String(validate=validate.OneOf(STATUSES))
    assignee = AssigneeFilter(
        metadata={"description": "`me` or a user id.", "pattern": f"^me$|{UUID_RE}"}
    )
    q = fields.String(
        validate=[validate.Length(max=c.SEARCH_MAX), plain],
        metadata={"pattern": NO_NUL, "description": "Text in the title or description."},
    )
    due_before = DueDate(metadata={"description": "Exclusive upper bound, with an offset."})
    due_after = DueDate(metadata={"description": "Exclusive lower bound, with an offset."})
    overdue = fields.Boolean(
        metadata={"description": "true: due in the past and not done; false: everything else."}
    )
    column = fields.UUID(metadata={"description": "Cards of this column."})
    label = fields.UUID(metadata={"description": "Cards with this label."})


# Comments and history --------------------------------------------------------------


class CommentSchema(Schema):
    id = fields.UUID(dump_only=True)
    task_id = fields.UUID(dump_only=True)
    author = fields.Nested(UserSchema, dump_only=True)
    body = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"description": "Last edit; null if never."}
    )


class CommentCreateSchema(Schema):
    body = text(c.COMMENT_MAX, min_len=1, required=True)


class ActivitySchema(Schema):
    id = fields.Integer(dump_only=True)
    task_id = fields.UUID(dump_only=True)
    actor = fields.Nested(UserSchema, dump_only=True)
    verb = fields.String(
        dump_only=True,
        metadata={"enum": list(VERBS)},
    )
    detail = fields.Dict(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()
    queue = fields.String()


# Attachments ------------------------------------------------------------------------


class AttachmentSchema(Schema):
    id = fields.UUID(dump_only=True)
    task_id = fields.UUID(dump_only=True)
    filename = fields.String(
        dump_only=True,
        metadata={"description": "As uploaded, less folder parts and control characters."},
    )
    content_type = fields.String(
        dump_only=True, metadata={"description": "Sniffed from the bytes, not the client's."}
    )
    size = fields.Integer(dump_only=True, metadata={"description": "In bytes."})
    uploaded_by = fields.Nested(UserSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class AttachmentUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "The file (multipart field `file`)."})


# Trash, import and export ------------------------------------------------------------


class TrashItemSchema(Schema):
    id = fields.UUID(dump_only=True, metadata={"description": "The trash entry's id."})
    kind = fields.String(dump_only=True, metadata={"enum": ["task", "project"]})
    title = fields.String(dump_only=True)
    project_id = fields.UUID(dump_only=True)
    project_title = fields.String(dump_only=True, allow_none=True)
    task_id = fields.UUID(dump_only=True, allow_none=True)
    deleted_at = fields.DateTime(dump_only=True)
    deleted_by = fields.Nested(UserSchema, dump_only=True, allow_none=True)
    purge_at = fields.DateTime(
        dump_only=True, metadata={"description": "When it is deleted for good (TRASH_DAYS)."}
    )


class ImportUploadSchema(Schema):
    file = Upload(
        required=True,
        metadata={"description": "The file (multipart field `file`), up to IMPORT_MAX_BYTES."},
    )


class CsvImportResultSchema(Schema):
    imported = fields.Integer(dump_only=True, metadata={"description": "Tasks added."})


# Integrations -----------------------------------------------------------------------


class WebhookSchema(Schema):
    id = fields.UUID(dump_only=True)
    project_id = fields.UUID(dump_only=True)
    url = fields.String(dump_only=True)
    events = fields.List(fields.String(metadata={"enum": list(WEBHOOK_EVENTS)}), dump_only=True)
    secret = fields.String(
        dump_only=True,
        metadata={"description": "Signs each body: X-Taskboard-Signature: sha256=<hex HMAC>."},
    )
    active = fields.Boolean(dump_only=True)
    disabled_reason = fields.String(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class WebhookCreateSchema(Schema):
    url = text(2000, required=True, metadata={"format": "uri"})
    events = fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_EVENTS)),
        required=True,
        validate=validate.Length(min=1),
    )
    secret = text(200, metadata={"description": "16 to 200 characters; made for you if left out."})


class WebhookPatchSchema(Schema):
    url = text(2000, metadata={"format": "uri"})
    events = fields.List(
        fields.String(validate=validate.OneOf(WEBHOOK_EVENTS)), validate=validate.Length(min=1)
    )
    secret = text(200)
    active = fields.Boolean(metadata={"description": "Switch it off, or on again."})


class WebhookDeliverySchema(Schema):
    id = fields.UUID(dump_only=True, metadata={"description": "X-Taskboard-Delivery."})
    event = fields.String(dump_only=True)
    state = fields.String(
        dump_only=True,
        metadata={"enum": ["pending", "sending", "delivered", "failed", "cancelled"]},
    )
    status = fields.Integer(
        dump_only=True, allow_none=True, metadata={"description": "The receiver's HTTP status."}
    )
    duration_ms = fields.Integer(dump_only=True, allow_none=True)
    error = fields.String(dump_only=True, allow_none=True)
    attempts = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class SecretUrlSchema(Schema):
    url = fields.String(dump_only=True, metadata={"description": "Whoever has it can read."})


# Notifications ----------------------------------------------------------------------


class NotificationSettingsSchema(Schema):
    mode = fields.String(
        metadata={"enum": list(NOTIFY_MODES), "description": "instant, digest (daily) or off."}
    )
    digest_hour = fields.Integer(
        strict=True, metadata={"minimum": 0, "maximum": 23, "description": "Local hour."}
    )
    time_zone = fields.String(metadata={"description": "An IANA name, e.g. Europe/Berlin."})
    kinds = fields.Dict(
        keys=fields.String(metadata={"enum": list(NOTIFY_KINDS)}),
        values=fields.Raw(metadata={"type": "boolean"}),
        metadata={"description": "Each kind of mail on (true) or off (false)."},
    )


class NotificationEntrySchema(Schema):
    id = fields.UUID(dump_only=True)
    kind = fields.String(dump_only=True)
    text = fields.String(dump_only=True)
    project_id = fields.UUID(dump_only=True, allow_none=True)
    task_id = fields.UUID(dump_only=True, allow_none=True)
    url = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    read_at = fields.DateTime(dump_only=True, allow_none=True)


class MarkReadSchema(Schema):
    ids = fields.List(fields.UUID(), metadata={"description": "Entries to mark read."})
    all = fields.Boolean(metadata={"description": "Mark every entry read."})


class UnreadSchema(Schema):
    unread = fields.Integer(dump_only=True)

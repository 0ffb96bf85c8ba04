"""A project as one document, and back: the full export, its import, and every import
that converts to it first (Trello). The format is docs/export-format.md.

An import is one transaction: the whole document is checked before a row is written,
and a file that fails anywhere imports nothing (files already written to the storage
are removed again).
"""

from __future__ import annotations

import io
import json
import tempfile
import uuid
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

from flask import current_app
from sqlalchemy import func, insert, select

from ..errors import Invalid, TooLarge
from ..extensions import db
from ..models import (
    LABEL_COLORS,
    STATUS_LABELS,
    STATUSES,
    VERBS,
    Activity,
    Attachment,
    BlobRemoval,
    BoardColumn,
    ChecklistItem,
    Comment,
    Label,
    Membership,
    Project,
    Task,
    TaskAssignee,
    TaskLabel,
    User,
    utcnow,
)
from ..storage import storage
from .common import (
    CHECKLIST_TEXT_MAX,
    COLUMN_NAME_MAX,
    COMMENT_MAX,
    DESCRIPTION_MAX,
    LABEL_NAME_MAX,
    TITLE_MAX,
    WIP_MAX,
    WIP_MIN,
    Actor,
    clean_text,
    is_plain,
)

FORMAT = "taskboard.project"
VERSION = 1
DOCUMENT_NAME = "project.json"  # inside an export zip, next to files/<attachment id>


def max_bytes() -> int:
    return int(current_app.config["IMPORT_MAX_BYTES"])


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _person(user: User | None) -> dict[str, str] | None:
    return {"email": user.email, "name": user.name} if user is not None else None


# Export --------------------------------------------------------------------------------


def document(actor: Actor, project_id: uuid.UUID) -> dict[str, Any]:
    """Everything of a project a member can see, as the export document."""
    from . import projects

    project = projects.get_for_member(actor, project_id)
    users: dict[uuid.UUID, User] = {}

    def person(user_id: uuid.UUID | None) -> dict[str, str] | None:
        if user_id is None:
            return None
        if user_id not in users:
            users[user_id] = db.session.get(User, user_id)
        return _person(users[user_id])

    def grouped(model: type, *order: Any) -> dict[uuid.UUID, list[Any]]:
        out: dict[uuid.UUID, list[Any]] = defaultdict(list)
        query = (
            select(model)
            .join(Task, Task.id == model.task_id)
            .where(Task.project_id == project_id)
            .order_by(model.task_id, *order)
        )
        for row in db.session.scalars(query):
            out[row.task_id].append(row)
        return out

    members = db.session.execute(
        select(User, Membership.created_at)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id)
        .order_by(Membership.created_at, User.email)
    ).all()
    for user, _ in members:
        users[user.id] = user
    columns = list(
        db.session.scalars(
            select(BoardColumn)
            .where(BoardColumn.project_id == project_id)
            .order_by(BoardColumn.position, BoardColumn.created_at)
        )
    )
    order = {column.id: index for index, column in enumerate(columns)}
    labels = list(
        db.session.scalars(
            select(Label).where(Label.project_id == project_id).order_by(Label.name_key)
        )
    )
    label_order = {label.id: index for index, label in enumerate(labels)}
    cards = sorted(
        db.session.scalars(select(Task).where(Task.project_id == project_id)),
        key=lambda t: (order.get(t.column_id, 0), t.position),
    )
    task_labels = grouped(TaskLabel, TaskLabel.label_id)
    assignees = grouped(TaskAssignee, TaskAssignee.user_id)
    checklist = grouped(ChecklistItem, ChecklistItem.position, ChecklistItem.created_at)
    comments = grouped(Comment, Comment.created_at, Comment.id)
    history = grouped(Activity, Activity.id)
    files = grouped(Attachment, Attachment.created_at, Attachment.id)
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": _iso(utcnow()),
        "project": {
            "id": str(project.id),
            "title": project.title,
            "description": project.description,
            "created_at": _iso(project.created_at),
            "updated_at": _iso(project.updated_at),
            "owner": _person(project.owner),
        },
        "members": [
            {"email": user.email, "name": user.name, "joined_at": _iso(joined)}
            for user, joined in members
        ],
        "columns": [
            {
                "id": str(column.id),
                "name": column.name,
                "category": column.category,
                "wip_limit": column.wip_limit,
                "created_at": _iso(column.created_at),
            }
            for column in columns
        ],
        "labels": [
            {
                "id": str(label.id),
                "name": label.name,
                "color": label.color,
                "created_at": _iso(label.created_at),
            }
            for label in labels
        ],
        "tasks": [
            {
                "id": str(task.id),
                "title": task.title,
                "description": task.description,
                "column": str(task.column_id),
                "position": task.position,
                "due_date": _iso(task.due_date),
                "created_by": person(task.created_by_id),
                "created_at": _iso(task.created_at),
                "updated_at": _iso(task.updated_at),
                # In the order the board shows them (by name), the same for equal projects.
                "labels": [
                    str(row.label_id)
                    for row in sorted(task_labels[task.id], key=lambda r: label_order[r.label_id])
                ],
                "assignees": sorted(
                    (person(row.user_id) for row in assignees[task.id]),
                    key=lambda p: (p["name"], p["email"]),
                ),
                "checklist": [
                    {"text": item.text, "done": item.done} for item in checklist[task.id]
                ],
                "comments": [
                    {
                        "author": person(comment.author_id),
                        "body": comment.body,
                        "created_at": _iso(comment.created_at),
                        "edited_at": _iso(comment.edited_at),
                    }
                    for comment in comments[task.id]
                ],
                "history": [
                    {
                        "actor": person(entry.actor_id),
                        "verb": entry.verb,
                        "detail": entry.detail,
                        "created_at": _iso(entry.created_at),
                    }
                    for entry in history[task.id]
                ],
                "attachments": [
                    {
                        "id": str(file.id),
                        "filename": file.filename,
                        "content_type": file.content_type,
                        "size": file.size,
                        "uploaded_by": person(file.uploaded_by_id),
                        "created_at": _iso(file.created_at),
                    }
                    for file in files[task.id]
                ],
            }
            for task in cards
        ],
    }


def document_bytes(actor: Actor, project_id: uuid.UUID) -> bytes:
    return json.dumps(document(actor, project_id), ensure_ascii=False, indent=1).encode()


def write_zip(actor: Actor, project_id: uuid.UUID, target: IO[bytes]) -> None:
    """The document and every attachment's bytes as a zip written to `target`."""
    doc = document(actor, project_id)
    keys = dict(
        db.session.execute(
            select(Attachment.id, Attachment.storage_key).where(Attachment.project_id == project_id)
        ).all()
    )
    store = storage()
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(DOCUMENT_NAME, json.dumps(doc, ensure_ascii=False, indent=1))
        for task in doc["tasks"]:
            for file in task["attachments"]:
                key = keys.get(uuid.UUID(file["id"]))
                if key is None:
                    continue
                with archive.open(f"files/{file['id']}", "w", force_zip64=True) as out:
                    for chunk in store.chunks(key):
                        out.write(chunk)


def zip_file(actor: Actor, project_id: uuid.UUID) -> IO[bytes]:
    """The zip export in a temporary file (in memory while small), read from the start."""
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115 - returned
    try:
        write_zip(actor, project_id, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool  # type: ignore[return-value]


def file_name(project_id: uuid.UUID, extension: str) -> str:
    """An export's file name: the project's title, made safe, and the extension."""
    project = db.session.get(Project, project_id)
    title = project.title if project is not None else "project"
    stem = "".join(ch if ch.isalnum() or ch in " -_." else "_" for ch in title).strip(" .")
    return f"{stem[:80] or 'project'}.{extension}"


# Reading an upload ---------------------------------------------------------------------


def read_limited(source: IO[bytes], limit: int, what: str = "The file") -> bytes:
    """All of `source`, refused with 413 as soon as it passes `limit` bytes."""
    data = source.read(limit + 1)
    if len(data) > limit:
        from .attachments import human_size

        raise TooLarge(f"{what} is larger than {human_size(limit)}.")
    return data


def parse_json(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise Invalid("The file is not UTF-8 text.", field="file") from exc
    except json.JSONDecodeError as exc:
        raise Invalid(
            f"The file is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}).",
            field="file",
        ) from exc


@dataclass
class Upload:
    """An export read from a .json or a .zip: the document, and a reader per file."""

    document: Any
    files: dict[str, Callable[[], IO[bytes]]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


def read_upload(source: IO[bytes]) -> Upload:
    """A project export as uploaded: the JSON document, or the zip with its files.
    A zip is checked before anything is inflated: its declared sizes (a zip bomb
    declares small ones and is caught while inflating), its names, its document."""
    limit = max_bytes()
    data = read_limited(source, limit)
    if not data.startswith((b"PK\x03\x04", b"PK\x05\x06")):  # a zip, or an empty one
        return Upload(parse_json(data))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = {info.filename: info for info in archive.infolist()}
    except (zipfile.BadZipFile, ValueError) as exc:
        raise Invalid("The zip file is damaged.", field="file") from exc
    if DOCUMENT_NAME not in infos:
        raise Invalid(f"The zip file has no {DOCUMENT_NAME}.", field="file")
    quota = int(current_app.config["ATTACHMENT_PROJECT_MAX_BYTES"]) or limit * 20
    if sum(info.file_size for info in infos.values()) > quota + limit:
        raise TooLarge("The zip file's contents are larger than a project may hold.")
    doc = parse_json(_inflate(archive, infos[DOCUMENT_NAME], limit))
    upload = Upload(doc)
    per_file = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    for name, info in infos.items():
        if name.startswith("files/") and not info.is_dir():
            file_id = name[len("files/") :]
            upload.sizes[file_id] = info.file_size
            upload.files[file_id] = _reader(archive, info, per_file)
    return upload


def _inflate(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.flag_bits & 0x1:
        raise Invalid(
            f"The zip file's {info.filename} is encrypted; zip it without a password.", field="file"
        )
    try:
        with archive.open(info) as member:
            data = member.read(min(info.file_size, limit) + 1)
    except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
        raise Invalid(f"The zip file's {info.filename} is damaged.", field="file") from exc
    except NotImplementedError as exc:  # a compression method zipfile does not know
        raise Invalid(
            f"The zip file's {info.filename} is compressed in a way Taskboard cannot read.",
            field="file",
        ) from exc
    if len(data) > min(info.file_size, limit):
        raise TooLarge(f"The zip file's {info.filename} is larger than it says or allowed.")
    return data


def _reader(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> Callable[[], IO]:
    def open_member() -> IO[bytes]:
        if info.file_size > limit:
            raise TooLarge(f"The zip file's {info.filename} is larger than an attachment may be.")
        return io.BytesIO(_inflate(archive, info, limit))

    return open_member


# Checking a document -------------------------------------------------------------------


class _Checker:
    """Reads a document, raising Invalid with the path of the first thing wrong."""

    def __init__(self) -> None:
        self.now = utcnow()
        self.file_ids: set[str] = set()  # an attachment's bytes are stored once
        self.missing_dates = 0

    def fail(self, path: str, message: str) -> Invalid:
        return Invalid(f"{path}: {message}", field=path)

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(path, "must be an object.")
        return value

    def items(self, parent: dict[str, Any], key: str, path: str) -> list[Any]:
        value = parent.get(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fail(f"{path}.{key}" if path else key, "must be a list.")
        return value

    def text(
        self, parent: dict[str, Any], key: str, path: str, *, max_len: int, min_len: int = 0
    ) -> str:
        value = parent.get(key, "")
        where = f"{path}.{key}"
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise self.fail(where, "must be text.")
        return clean_text(value, where, where, min_len=min_len, max_len=max_len)

    def moment(self, parent: dict[str, Any], key: str, path: str, *, default: bool) -> Any:
        value = parent.get(key)
        where = f"{path}.{key}"
        if value is None:
            if not default:
                return None
            # Now, a microsecond apart in the document's order: what is listed by date
            # (a card's comments, its attachments) keeps the order the document gives.
            self.missing_dates += 1
            return self.now + timedelta(microseconds=self.missing_dates)
        if not isinstance(value, str):
            raise self.fail(where, "must be a date and time (ISO 8601).")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError as exc:
            raise self.fail(where, f"{value[:40]!r} is not a date and time (ISO 8601).") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if not 1900 <= moment.year <= 9000:
            raise self.fail(where, "must be between the years 1900 and 9000.")
        return moment.astimezone(UTC)

    def email(self, value: Any, path: str) -> tuple[str | None, str]:
        """A person: (their email or None, their name)."""
        if value is None:
            return None, ""
        person = self.obj(value, path)
        email = person.get("email")
        name = person.get("name") or ""
        if email is not None and not (isinstance(email, str) and is_plain(email)):
            raise self.fail(f"{path}.email", "must be text.")
        if not (isinstance(name, str) and is_plain(name)):
            raise self.fail(f"{path}.name", "must be text.")
        return (email.strip().lower() or None) if email else None, name.strip()[:255]


@dataclass
class _Plan:
    """A checked document, ready to be written."""

    title: str
    description: str
    columns: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    members: list[str]
    tasks: list[dict[str, Any]]
    people: set[str]


def check(doc: Any) -> _Plan:
    """The document checked whole, before anything is written."""
    c = _Checker()
    doc = c.obj(doc, "document")
    if doc.get("format") != FORMAT:
        raise Invalid(
            f"This is not a Taskboard project export (its format is not {FORMAT!r}).",
            field="format",
        )
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise Invalid("version: must be a number.", field="version")
    if version > VERSION:
        raise Invalid(
            f"This export is of format version {version}, newer than this Taskboard reads "
            f"({VERSION}); upgrade Taskboard first.",
            field="version",
        )
    project = c.obj(doc.get("project"), "project")
    people: set[str] = set()
    plan = _Plan(
        title=c.text(project, "title", "project", max_len=TITLE_MAX, min_len=1),
        description=c.text(project, "description", "project", max_len=DESCRIPTION_MAX),
        columns=[],
        labels=[],
        members=[],
        tasks=[],
        people=people,
    )
    for index, raw in enumerate(c.items(doc, "members", "")):
        email, _ = c.email(raw, f"members[{index}]")
        if email:
            plan.members.append(email)
            people.add(email)
    column_ids: dict[str, dict[str, Any]] = {}
    names: set[str] = set()
    for index, raw in enumerate(c.items(doc, "columns", "")):
        path = f"columns[{index}]"
        raw = c.obj(raw, path)
        name = c.text(raw, "name", path, max_len=COLUMN_NAME_MAX, min_len=1)
        if name.casefold() in names:
            raise c.fail(f"{path}.name", f"another column is already named “{name}”.")
        names.add(name.casefold())
        category = raw.get("category", "todo")
        if category not in STATUSES:
            raise c.fail(f"{path}.category", f"must be one of: {', '.join(STATUSES)}.")
        wip = raw.get("wip_limit")
        if wip is not None and (
            not isinstance(wip, int) or isinstance(wip, bool) or not WIP_MIN <= wip <= WIP_MAX
        ):
            raise c.fail(f"{path}.wip_limit", f"must be empty or {WIP_MIN} to {WIP_MAX}.")
        key = str(raw.get("id", index))
        if key in column_ids:
            raise c.fail(f"{path}.id", "is used by another column.")
        column = {
            "id": uuid.uuid4(),
            "name": name,
            "category": category,
            "wip_limit": wip,
            "created_at": c.moment(raw, "created_at", path, default=True),
            "size": 0,
        }
        column_ids[key] = column
        plan.columns.append(column)
    if not plan.columns:
        raise Invalid("columns: a project needs at least one column.", field="columns")
    # Each category keeps a column (cards are made and moved by status): one the document
    # lacks is added, after the columns of the categories before it.
    for index, category in enumerate(STATUSES):
        if any(column["category"] == category for column in plan.columns):
            continue
        name, number = STATUS_LABELS[category], 1
        while name.casefold() in names:
            number += 1
            name = f"{STATUS_LABELS[category]} ({number})"
        names.add(name.casefold())
        after = max(
            (
                i + 1
                for i, col in enumerate(plan.columns)
                if STATUSES.index(col["category"]) < index
            ),
            default=0,
        )
        plan.columns.insert(
            after,
            {
                "id": uuid.uuid4(),
                "name": name,
                "category": category,
                "wip_limit": None,
                "created_at": c.now,
                "size": 0,
            },
        )
    label_ids: dict[str, dict[str, Any]] = {}
    label_names: set[str] = set()
    for index, raw in enumerate(c.items(doc, "labels", "")):
        path = f"labels[{index}]"
        raw = c.obj(raw, path)
        name = c.text(raw, "name", path, max_len=LABEL_NAME_MAX, min_len=1)
        if name.casefold() in label_names:
            raise c.fail(f"{path}.name", f"another label is already named “{name}”.")
        label_names.add(name.casefold())
        color = raw.get("color", "gray")
        if color not in LABEL_COLORS:
            raise c.fail(f"{path}.color", f"must be one of: {', '.join(LABEL_COLORS)}.")
        key = str(raw.get("id", index))
        if key in label_ids:
            raise c.fail(f"{path}.id", "is used by another label.")
        label = {
            "id": uuid.uuid4(),
            "name": name,
            "color": color,
            "created_at": c.moment(raw, "created_at", path, default=True),
        }
        label_ids[key] = label
        plan.labels.append(label)
    for index, raw in enumerate(c.items(doc, "tasks", "")):
        plan.tasks.append(_check_task(c, raw, f"tasks[{index}]", column_ids, label_ids, people))
    return plan


def _check_task(
    c: _Checker,
    raw: Any,
    path: str,
    column_ids: dict[str, dict[str, Any]],
    label_ids: dict[str, dict[str, Any]],
    people: set[str],
) -> dict[str, Any]:
    raw = c.obj(raw, path)
    column = column_ids.get(str(raw.get("column")))
    if column is None:
        raise c.fail(f"{path}.column", "names no column of the document.")
    task_labels = []
    for index, key in enumerate(c.items(raw, "labels", path)):
        label = label_ids.get(str(key))
        if label is None:
            raise c.fail(f"{path}.labels[{index}]", "names no label of the document.")
        if label not in task_labels:
            task_labels.append(label)

    def person(value: Any, where: str) -> tuple[str | None, str]:
        email, name = c.email(value, where)
        if email:
            people.add(email)
        return email, name

    checklist = []
    for index, item in enumerate(c.items(raw, "checklist", path)):
        where = f"{path}.checklist[{index}]"
        item = c.obj(item, where)
        done = item.get("done", False)
        if not isinstance(done, bool):
            raise c.fail(f"{where}.done", "must be true or false.")
        text = c.text(item, "text", where, max_len=CHECKLIST_TEXT_MAX, min_len=1)
        checklist.append({"text": text, "done": done})
    comments = []
    for index, comment in enumerate(c.items(raw, "comments", path)):
        where = f"{path}.comments[{index}]"
        comment = c.obj(comment, where)
        comments.append(
            {
                "author": person(comment.get("author"), f"{where}.author"),
                "body": c.text(comment, "body", where, max_len=COMMENT_MAX, min_len=1),
                "created_at": c.moment(comment, "created_at", where, default=True),
                "edited_at": c.moment(comment, "edited_at", where, default=False),
            }
        )
    history = []
    for index, entry in enumerate(c.items(raw, "history", path)):
        where = f"{path}.history[{index}]"
        entry = c.obj(entry, where)
        verb = entry.get("verb")
        if verb not in VERBS:
            raise c.fail(f"{where}.verb", f"{str(verb)[:40]!r} is not a kind of change.")
        detail = entry.get("detail") or {}
        if not isinstance(detail, dict):
            raise c.fail(f"{where}.detail", "must be an object.")
        for key, value in detail.items():
            # What the history shows: short text, numbers, true/false; "from"/"to" text.
            text = isinstance(value, str) and is_plain(value) and len(value) <= 1000
            scalar = value is None or isinstance(value, bool | int | float) or text
            if (
                len(key) > 40
                or not scalar
                or (key in ("from", "to") and not (text or value is None))
            ):
                raise c.fail(f"{where}.detail.{key[:40]}", "must be short text (or empty).")
        history.append(
            {
                "actor": person(entry.get("actor"), f"{where}.actor"),
                "verb": verb,
                "detail": detail,
                "created_at": c.moment(entry, "created_at", where, default=True),
            }
        )
    files = []
    for index, file in enumerate(c.items(raw, "attachments", path)):
        where = f"{path}.attachments[{index}]"
        file = c.obj(file, where)
        key = str(file.get("id", ""))
        if key and key in c.file_ids:
            raise c.fail(f"{where}.id", "is used by another attachment.")
        c.file_ids.add(key)
        files.append(
            {
                "key": key,
                "filename": c.text(file, "filename", where, max_len=255, min_len=1),
                "uploaded_by": person(file.get("uploaded_by"), f"{where}.uploaded_by"),
                "created_at": c.moment(file, "created_at", where, default=True),
            }
        )
    assignees = []
    for index, value in enumerate(c.items(raw, "assignees", path)):
        email, _ = person(value, f"{path}.assignees[{index}]")
        if email and email not in assignees:
            assignees.append(email)
    trashed = raw.get("trashed", False)
    if not isinstance(trashed, bool):
        raise c.fail(f"{path}.trashed", "must be true or false.")
    created_at = c.moment(raw, "created_at", path, default=True)
    return {
        "id": uuid.uuid4(),
        "title": c.text(raw, "title", path, max_len=TITLE_MAX, min_len=1),
        "description": c.text(raw, "description", path, max_len=DESCRIPTION_MAX),
        "column": column,
        "due_date": c.moment(raw, "due_date", path, default=False),
        "created_by": person(raw.get("created_by"), f"{path}.created_by"),
        "created_at": created_at,
        "updated_at": c.moment(raw, "updated_at", path, default=False) or created_at,
        "labels": task_labels,
        "assignees": assignees,
        "checklist": checklist,
        "comments": comments,
        "history": history,
        "attachments": files,
        "trashed": trashed,
    }


# Writing -------------------------------------------------------------------------------


def _accounts(emails: Iterable[str]) -> dict[str, User]:
    wanted = sorted(set(emails))
    found: dict[str, User] = {}
    for start in range(0, len(wanted), 500):
        for user in db.session.scalars(
            select(User).where(User.email.in_(wanted[start : start + 500]), User.is_active)
        ):
            found[user.email] = user
    return found


def _credited(text: str, name: str, moment: datetime, limit: int) -> str:
    """Text kept under the importer's name, opened with who wrote it and when."""
    head = f"{name or 'Someone'} on {moment:%Y-%m-%d %H:%M} UTC:\n\n"
    return (head + text)[:limit]


def import_document(
    actor: Actor,
    doc: Any,
    *,
    files: dict[str, Callable[[], IO[bytes]]] | None = None,
    source: str = "a Taskboard export",
) -> Project:
    """A new project, owned by the actor, equal to the document (new ids)."""
    from .notifications import Outbox

    plan = check(doc)
    files = files or {}
    saved: list[str] = []
    outbox = Outbox()
    try:
        project = _write(actor, plan, files, saved, source, outbox)
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _remove(saved)
        raise
    outbox.dispatch()
    return project


def _remove(keys: list[str]) -> None:
    if not keys:
        return
    store = storage()
    left = []
    for key in keys:
        try:
            store.delete(key)
        except Exception:  # noqa: BLE001 - the removal job tries again
            left.append(key)
    if left:
        db.session.add_all(BlobRemoval(storage_key=key) for key in left)
        db.session.commit()


def _write(
    actor: Actor,
    plan: _Plan,
    files: dict[str, Callable[[], IO[bytes]]],
    saved: list[str],
    source: str,
    outbox: Any,
) -> Project:
    from . import trash

    now = utcnow()
    project_id = uuid.uuid4()
    # The files first, before the first write: on SQLite a write transaction holds the
    # instance's one write turn, which must not wait for uploads to the storage.
    kept = _store_files(plan, files, project_id, saved)
    known = _accounts(plan.people)
    me = db.session.get(User, actor.id)
    project = Project(
        id=project_id,
        title=plan.title,
        description=plan.description,
        owner_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(project)
    db.session.flush()
    members = {actor.id}
    db.session.add(Membership(project_id=project.id, user_id=actor.id, created_at=now))
    for email in plan.members:
        user = known.get(email)
        if user is not None and user.id not in members:
            members.add(user.id)
            db.session.add(Membership(project_id=project.id, user_id=user.id, created_at=now))
            outbox.added_to_project(project, user, actor)  # as if the owner had added them
    db.session.execute(
        insert(BoardColumn),
        [
            {
                "id": column["id"],
                "project_id": project.id,
                "name": column["name"],
                "name_key": column["name"].casefold(),
                "position": position,
                "category": column["category"],
                "wip_limit": column["wip_limit"],
                "created_at": column["created_at"],
            }
            for position, column in enumerate(plan.columns)
        ],
    )
    if plan.labels:
        db.session.execute(
            insert(Label),
            [
                {
                    "id": label["id"],
                    "project_id": project.id,
                    "name": label["name"],
                    "name_key": label["name"].casefold(),
                    "color": label["color"],
                    "created_at": label["created_at"],
                }
                for label in plan.labels
            ],
        )

    def who(person: tuple[str | None, str]) -> User | None:
        user = known.get(person[0]) if person[0] else None
        return user if user is not None and user.id in members else None

    # Live cards first in each column, then the ones going to the trash after them.
    ordered = [t for t in plan.tasks if not t["trashed"]] + [t for t in plan.tasks if t["trashed"]]
    rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
    for task in ordered:
        column = task["column"]
        creator = who(task["created_by"]) or me
        done = sum(1 for item in task["checklist"] if item["done"])
        attached = [
            {
                "id": stored["id"],
                "task_id": task["id"],
                "project_id": project.id,
                "filename": file["filename"],
                "content_type": stored["content_type"],
                "size": stored["size"],
                "storage_key": stored["key"],
                "uploaded_by_id": (who(file["uploaded_by"]) or me).id,
                "created_at": file["created_at"],
            }
            for file in task["attachments"]
            if (stored := kept.get(id(file))) is not None
        ]
        rows[Task].append(
            {
                "id": task["id"],
                "project_id": project.id,
                "title": task["title"],
                "description": task["description"],
                "column_id": column["id"],
                "status": column["category"],
                "position": column["size"],
                "checklist_total": len(task["checklist"]),
                "checklist_done": done,
                "attachment_count": len(attached),
                "due_date": task["due_date"],
                "created_by_id": creator.id,
                "created_at": task["created_at"],
                "updated_at": task["updated_at"],
            }
        )
        column["size"] += 1
        rows[Attachment] += attached
        for label in task["labels"]:
            rows[TaskLabel].append({"task_id": task["id"], "label_id": label["id"]})
        for email in task["assignees"]:
            user = who((email, ""))
            if user is not None:
                rows[TaskAssignee].append({"task_id": task["id"], "user_id": user.id})
        for position, item in enumerate(task["checklist"]):
            rows[ChecklistItem].append(
                {
                    "id": uuid.uuid4(),
                    "task_id": task["id"],
                    "text": item["text"],
                    "done": item["done"],
                    "position": position,
                    "created_at": task["created_at"],
                }
            )
        for comment in task["comments"]:
            author = who(comment["author"])
            body = comment["body"]
            if author is None:
                body = _credited(body, comment["author"][1], comment["created_at"], COMMENT_MAX)
            rows[Comment].append(
                {
                    "id": uuid.uuid4(),
                    "task_id": task["id"],
                    "author_id": (author or me).id,
                    "body": body,
                    "created_at": comment["created_at"],
                    "edited_at": comment["edited_at"],
                }
            )
        for entry in task["history"]:
            doer = who(entry["actor"])
            detail = dict(entry["detail"])
            if doer is None and entry["actor"][1]:
                detail["by"] = entry["actor"][1]
            rows[Activity].append(
                {
                    "task_id": task["id"],
                    "actor_id": (doer or me).id,
                    "verb": entry["verb"],
                    "detail": detail,
                    "created_at": entry["created_at"],
                }
            )
        rows[Activity].append(
            {
                "task_id": task["id"],
                "actor_id": me.id,
                "verb": "imported",
                "detail": {"source": source},
                "created_at": now,
            }
        )
    for model in (Task, TaskLabel, TaskAssignee, ChecklistItem, Comment, Activity, Attachment):
        batch = rows.get(model, [])
        for start in range(0, len(batch), 1000):
            db.session.execute(insert(model), batch[start : start + 1000])
    trash.put_tasks(actor, [(t["id"], project.id, t["title"]) for t in ordered if t["trashed"]])
    db.session.flush()
    return project


def _store_files(
    plan: _Plan,
    files: dict[str, Callable[[], IO[bytes]]],
    project_id: uuid.UUID,
    saved: list[str],
) -> dict[int, dict[str, Any]]:
    """Each attachment of the document whose bytes came with it, saved to the storage
    (its key appended to `saved`): its id, key, size and sniffed type, by the document
    entry's identity. A .json export has none: its attachments are left out."""
    from .attachments import SNIFF_BYTES, sniff

    quota = int(current_app.config["ATTACHMENT_PROJECT_MAX_BYTES"])
    per_file = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    used = 0
    store = storage()
    kept: dict[int, dict[str, Any]] = {}
    for task in plan.tasks:
        for file in task["attachments"]:
            opener = files.get(file["key"])
            if opener is None:
                continue
            stream = opener()
            head = stream.read(SNIFF_BYTES)
            stream.seek(0, io.SEEK_END)
            size = stream.tell()
            stream.seek(0)
            if size > per_file:
                raise TooLarge(f"The attachment {file['filename']!r} is over the size limit.")
            used += size
            if quota and used > quota:
                raise TooLarge("The attachments are more than a project may hold.")
            attachment_id = uuid.uuid4()
            key = f"{project_id}/{attachment_id}"
            store.save(key, stream)
            saved.append(key)
            kept[id(file)] = {
                "id": attachment_id,
                "key": key,
                "size": size,
                "content_type": sniff(head) if head else "application/octet-stream",
            }
    return kept


def import_upload(actor: Actor, source: IO[bytes]) -> Project:
    """`POST /projects/import`: a .json or .zip project export."""
    upload = read_upload(source)
    return import_document(actor, upload.document, files=upload.files)


def counts(project_id: uuid.UUID) -> dict[str, int]:
    """How many of each a project has (what an import reports)."""

    def count(model: type, where: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model).where(where)) or 0

    tasks = select(Task.id).where(Task.project_id == project_id)
    return {
        "columns": count(BoardColumn, BoardColumn.project_id == project_id),
        "labels": count(Label, Label.project_id == project_id),
        "tasks": count(Task, Task.project_id == project_id),
        "comments": count(Comment, Comment.task_id.in_(tasks)),
        "attachments": count(Attachment, Attachment.project_id == project_id),
    }

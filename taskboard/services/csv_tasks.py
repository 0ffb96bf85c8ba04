"""A project's tasks as CSV, one row per task, and the same format imported.

The export opens cleanly in LibreOffice and Excel: UTF-8 with a byte order mark, and a
cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or a
carriage return) is written with a leading apostrophe, which the import takes off again.

The import adds the rows to an existing project, all or nothing: every line is checked
first and the errors name the file's line (the header is line 1) and the column.
"""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import IO, Any

from sqlalchemy import func, insert, select

from ..errors import Invalid
from ..extensions import db
from ..models import (
    STATUSES,
    Activity,
    BoardColumn,
    Label,
    Membership,
    Project,
    Task,
    TaskAssignee,
    TaskLabel,
    User,
    utcnow,
)
from .common import (
    COLUMN_NAME_MAX,
    DESCRIPTION_MAX,
    LABEL_NAME_MAX,
    TITLE_MAX,
    Actor,
    clean_text,
    lock_project,
)
from .notifications import Outbox

HEADER: tuple[str, ...] = (
    "title",
    "description",
    "column",
    "status",
    "labels",
    "assignees",
    "due_date",
    "created_at",
    "checklist",
)
LIST_SEPARATOR = ","  # labels and assignees within their cell
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_ERRORS = 20


def _iso(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else ""


def safe_cell(value: str) -> str:
    """A cell no spreadsheet runs as a formula. Text that already starts with apostrophes
    before a formula sign gets one more, so that `unsafe_cell` gives it back unchanged."""
    return "'" + value if value.lstrip("'").startswith(FORMULA_STARTS) else value


def unsafe_cell(value: str) -> str:
    """What `safe_cell` wrote, as it was."""
    if value.startswith("'") and value.lstrip("'").startswith(FORMULA_STARTS):
        return value[1:]
    return value


def export(actor: Actor, project_id: uuid.UUID) -> bytes:
    """The project's tasks as CSV bytes (UTF-8 with BOM, CRLF line ends), in board order.

    Four queries whatever the size (the cards, their labels, their assignees, the
    columns): the checklist's counts are kept on the card, nothing else is read."""
    from collections import defaultdict

    from . import projects

    projects.check_member(actor, project_id)
    in_project = select(Task.id).where(Task.project_id == project_id)
    labels: dict[uuid.UUID, list[str]] = defaultdict(list)
    for task_id, name in db.session.execute(
        select(TaskLabel.task_id, Label.name)
        .join(Label, Label.id == TaskLabel.label_id)
        .where(TaskLabel.task_id.in_(in_project))
        .order_by(Label.name_key)
    ):
        labels[task_id].append(name)
    assignees: dict[uuid.UUID, list[str]] = defaultdict(list)
    for task_id, email in db.session.execute(
        select(TaskAssignee.task_id, User.email)
        .join(User, User.id == TaskAssignee.user_id)
        .where(TaskAssignee.task_id.in_(in_project))
        .order_by(User.name, User.email)
    ):
        assignees[task_id].append(email)
    cards = db.session.execute(
        select(
            Task.id,
            Task.title,
            Task.description,
            BoardColumn.name,
            Task.status,
            Task.due_date,
            Task.created_at,
            Task.checklist_done,
            Task.checklist_total,
        )
        .join(BoardColumn, BoardColumn.id == Task.column_id)
        .where(Task.project_id == project_id)
        .order_by(BoardColumn.position, BoardColumn.created_at, Task.position)
    )
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(HEADER)
    for card in cards:
        row = [
            card.title,
            card.description,
            card.name,
            card.status,
            f"{LIST_SEPARATOR} ".join(labels[card.id]),
            f"{LIST_SEPARATOR} ".join(assignees[card.id]),
            _iso(card.due_date),
            _iso(card.created_at),
            f"{card.checklist_done}/{card.checklist_total}" if card.checklist_total else "",
        ]
        writer.writerow([safe_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# Import --------------------------------------------------------------------------------


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # A spreadsheet's "CSV" without UTF-8 is Windows-1252 almost always.
        return data.decode("cp1252", errors="replace")


def _dialect(text: str) -> type[csv.Dialect]:
    """Excel's dialect with the header's delimiter. Only that is sniffed: the sniffer also
    guesses `doublequote` from quotes a header rarely has, and a quote in a cell is always
    written doubled. Strict: a quote never closed is an error, not the rest of the file
    read as one cell."""
    first = text.split("\n", 1)[0]
    try:
        found = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
    except csv.Error:
        found = ","

    class Read(csv.excel):
        delimiter = found
        strict = True

    return Read


class _Errors:
    def __init__(self) -> None:
        self.found: list[str] = []
        self.first_field = "file"

    def add(self, line: int, column: str | None, message: str) -> None:
        if not self.found:
            self.first_field = column or "file"
        if len(self.found) < MAX_ERRORS:
            where = f"line {line}" + (f", column {column}" if column else "")
            self.found.append(f"{where}: {message}")

    def raise_any(self) -> None:
        if self.found:
            more = "" if len(self.found) < MAX_ERRORS else " (and maybe more)"
            raise Invalid(
                "The CSV file was not imported: " + "; ".join(self.found) + more + ".",
                field=self.first_field,
            )


def _parse_moment(value: str) -> datetime:
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        # Unambiguous spellings only: 31.12.2026 (day first, as where it is written so)
        # and 2026/12/31; 03/04/2026 could be either month, so it is refused.
        for pattern in ("%d.%m.%Y", "%d.%m.%Y %H:%M", "%Y/%m/%d", "%Y/%m/%d %H:%M"):
            try:
                moment = datetime.strptime(value, pattern)
                break
            except ValueError:
                continue
        else:
            raise ValueError(
                f"{value[:40]!r} is not a date Taskboard can read without guessing "
                "(write 2026-12-31, 31.12.2026 or ISO 8601)"
            )
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not 1900 <= moment.year <= 9000:
        raise ValueError("the year must be between 1900 and 9000")
    return moment.astimezone(UTC)


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(LIST_SEPARATOR) if part.strip()]


def import_csv(actor: Actor, project_id: uuid.UUID, source: IO[bytes]) -> int:
    """Add the file's tasks to the project (any member); the number added. Unknown
    column and label names are created; assignees must be members (by email)."""
    from . import projects, transfer

    projects.check_member(actor, project_id)
    text = _text(transfer.read_limited(source, transfer.max_bytes()))
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text))
    errors = _Errors()
    try:
        header = [unsafe_cell(cell).strip().lower() for cell in next(reader)]
    except StopIteration:
        raise Invalid("The CSV file is empty.", field="file") from None
    except csv.Error as exc:
        raise Invalid(f"line 1: {exc}.", field="file") from exc
    for name in header:
        if name not in HEADER:
            errors.add(1, name or "(empty)", f"unknown column; the columns are {', '.join(HEADER)}")
    if "title" not in header:
        errors.add(1, "title", "the header must have a title column")
    if len(set(header)) != len(header):
        errors.add(1, None, "a column is named twice")
    errors.raise_any()

    # The board as it stands from here to the commit: a column or label added, or a
    # member removed, meanwhile cannot make the rows wrong.
    lock_project(project_id)
    try:
        columns = {
            column.name_key: column
            for column in db.session.scalars(
                select(BoardColumn)
                .where(BoardColumn.project_id == project_id)
                .order_by(BoardColumn.position)
            )
        }
        first_of = {}
        for column in columns.values():
            first_of.setdefault(column.category, column)
        labels = {
            label.name_key: label
            for label in db.session.scalars(select(Label).where(Label.project_id == project_id))
        }
        members = {
            user.email: user
            for user in db.session.scalars(
                select(User)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.project_id == project_id)
            )
        }
        new_columns: dict[str, dict[str, Any]] = {}
        new_labels: dict[str, dict[str, Any]] = {}
        rows: list[dict[str, Any]] = []
        line = 1
        while True:
            start = reader.line_num + 1
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                errors.add(start, None, str(exc))
                break
            line = start
            if not any(cell.strip() for cell in record):
                continue
            if len(record) > len(header):
                errors.add(line, None, f"{len(record)} cells, but the header has {len(header)}")
                continue
            cells = {name: unsafe_cell(value) for name, value in zip(header, record, strict=False)}
            row = _row(cells, line, errors, columns, new_columns, first_of, members)
            if row is None:
                continue
            for name in _split(cells.get("labels", "")):
                key = name.casefold()
                if len(name) > LABEL_NAME_MAX:
                    errors.add(line, "labels", f"“{name[:50]}” is longer than {LABEL_NAME_MAX}")
                    continue
                if key not in labels and key not in new_labels:
                    new_labels[key] = {"id": uuid.uuid4(), "name": name}
                row["labels"].append(labels[key].id if key in labels else new_labels[key]["id"])
            rows.append(row)
        errors.raise_any()
        if not rows:
            raise Invalid("The CSV file has no tasks (only a header).", field="file")
        _write(actor, project_id, rows, columns, new_columns, new_labels)
        return len(rows)
    except BaseException:
        db.session.rollback()
        raise


def _row(
    cells: dict[str, str],
    line: int,
    errors: _Errors,
    columns: dict[str, BoardColumn],
    new_columns: dict[str, dict[str, Any]],
    first_of: dict[str, BoardColumn],
    members: dict[str, User],
) -> dict[str, Any] | None:
    before = len(errors.found)

    def field(name: str, max_len: int, min_len: int = 0) -> str:
        try:
            return clean_text(
                cells.get(name, ""), name, name.capitalize(), min_len=min_len, max_len=max_len
            )
        except Invalid as exc:
            errors.add(line, name, str(exc.message).rstrip(".").lower())
            return ""

    title = field("title", TITLE_MAX, 1)
    description = field("description", DESCRIPTION_MAX)
    status = cells.get("status", "").strip().lower().replace(" ", "_") or None
    if status is not None and status not in STATUSES:
        errors.add(line, "status", f"must be one of {', '.join(STATUSES)}, not “{status[:30]}”")
        status = None
    name = field("column", COLUMN_NAME_MAX)
    column: Any
    if name:
        key = name.casefold()
        column = columns.get(key) or new_columns.get(key)
        if column is None:
            from .trello import guess_category

            column = new_columns[key] = {
                "id": uuid.uuid4(),
                "name": name,
                "category": status or guess_category(name),
            }
    else:
        column = first_of.get(status or "todo") or next(iter(columns.values()))
    category = column["category"] if isinstance(column, dict) else column.category
    if status is not None and status != category:
        errors.add(line, "status", f"“{status}” is not the category of the column “{name}”")
    assignees = []
    for email in _split(cells.get("assignees", "")):
        user = members.get(email.lower())
        if user is None:
            errors.add(line, "assignees", f"{email[:60]} is not a member of the project")
        elif user not in assignees:
            assignees.append(user)
    moments = {}
    for key in ("due_date", "created_at"):
        raw = cells.get(key, "").strip()
        if raw:
            try:
                moments[key] = _parse_moment(raw)
            except ValueError as exc:
                errors.add(line, key, str(exc))
    if len(errors.found) > before:
        return None
    return {
        "line": line,
        "title": title,
        "description": description,
        "column": column,
        "assignees": assignees,
        "labels": [],
        "due_date": moments.get("due_date"),
        "created_at": moments.get("created_at"),
    }


def _write(
    actor: Actor,
    project_id: uuid.UUID,
    rows: list[dict[str, Any]],
    columns: dict[str, BoardColumn],
    new_columns: dict[str, dict[str, Any]],
    new_labels: dict[str, dict[str, Any]],
) -> None:
    now = utcnow()
    try:
        next_position = (
            db.session.scalar(
                select(func.max(BoardColumn.position)).where(BoardColumn.project_id == project_id)
            )
            or 0
        ) + 1
        for offset, column in enumerate(new_columns.values()):
            db.session.add(
                BoardColumn(
                    id=column["id"],
                    project_id=project_id,
                    name=column["name"],
                    name_key=column["name"].casefold(),
                    position=next_position + offset,
                    category=column["category"],
                    created_at=now,
                )
            )
        for label in new_labels.values():
            db.session.add(
                Label(
                    id=label["id"],
                    project_id=project_id,
                    name=label["name"],
                    name_key=label["name"].casefold(),
                    color="gray",
                    created_at=now,
                )
            )
        db.session.flush()
        sizes = dict(
            db.session.execute(
                select(Task.column_id, func.count())
                .where(Task.project_id == project_id)
                .group_by(Task.column_id)
            ).all()
        )
        tasks, links, assigned, history = [], [], [], []
        for row in rows:
            column = row["column"]
            column_id = column["id"] if isinstance(column, dict) else column.id
            category = column["category"] if isinstance(column, dict) else column.category
            task_id = uuid.uuid4()
            position = sizes.get(column_id, 0)
            sizes[column_id] = position + 1
            tasks.append(
                {
                    "id": task_id,
                    "project_id": project_id,
                    "title": row["title"],
                    "description": row["description"],
                    "column_id": column_id,
                    "status": category,
                    "position": position,
                    "due_date": row["due_date"],
                    "created_by_id": actor.id,
                    "created_at": row["created_at"] or now,
                    "updated_at": now,
                }
            )
            links += [{"task_id": task_id, "label_id": label_id} for label_id in row["labels"]]
            assigned += [{"task_id": task_id, "user_id": user.id} for user in row["assignees"]]
            history.append(
                {
                    "task_id": task_id,
                    "actor_id": actor.id,
                    "verb": "imported",
                    "detail": {"source": "a CSV file", "line": row["line"]},
                    "created_at": now,
                }
            )
        for model, batch in (
            (Task, tasks),
            (TaskLabel, links),
            (TaskAssignee, assigned),
            (Activity, history),
        ):
            for start in range(0, len(batch), 1000):
                db.session.execute(insert(model), batch[start : start + 1000])
        # Assigned by the import as by a card's form: each assignee hears of it (one
        # coalesced mail, not one per row), through the same outbox.
        project = db.session.get(Project, project_id)
        outbox = Outbox()
        for row, task in zip(rows, tasks, strict=True):
            if row["assignees"]:
                card = SimpleNamespace(
                    id=task["id"], project_id=project_id, title=task["title"], project=project
                )
                outbox.assigned(card, row["assignees"], actor)  # type: ignore[arg-type]
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    outbox.dispatch()

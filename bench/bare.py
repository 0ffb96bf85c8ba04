"""The ceiling: a bare WSGI app serving the same task page and single task as Taskboard's API.

No framework and no ORM: the `sqlite3` module or psycopg, hand-written SQL, `json.dumps`.
It does the same work per request as the real thing — the bearer token's SHA-256 looked up
with its user, the membership check, the page of tasks in board order with their creators
and assignees, the same JSON shape and X-Pagination header — so Taskboard's req/s as a
fraction of this one's is the price of Flask, flask-smorest, SQLAlchemy and marshmallow.

Run: DATABASE_URL=sqlite:///path/or/postgresql://… waitress-serve --listen … bench.bare:app
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

STATUSES = ("todo", "in_progress", "done")
USER_COLUMNS = "u.id, u.email, u.name"
TASK_COLUMNS = (
    "t.id, t.project_id, t.title, t.description, t.status, t.position, t.due_date, "
    "t.created_at, t.updated_at, t.column_id, t.checklist_done, t.checklist_total, "
    "t.attachment_count"
)
CREATOR = slice(13, 16)  # the creator's columns after the task's
LIST_PATH = re.compile(r"^/api/v1/projects/([0-9a-fA-F-]{32,36})/tasks$")
ITEM_PATH = re.compile(r"^/api/v1/tasks/([0-9a-fA-F-]{32,36})$")


class Database:
    """One connection per waitress thread; parameters and values in each driver's types."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.local = threading.local()

    def connection(self) -> Any:
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.sqlite:
                conn = sqlite3.connect(self.url.split("///", 1)[1], check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=10000")
            else:
                import psycopg

                conn = psycopg.connect(
                    self.url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True
                )
            self.local.conn = conn
        return conn

    def rows(self, sql: str, params: Iterable[Any] = ()) -> list[tuple]:
        if not self.sqlite:
            sql = sql.replace("?", "%s")
        cur = self.connection().execute(sql, tuple(params))
        return cur.fetchall()

    def uid(self, value: uuid.UUID) -> Any:
        return value.hex if self.sqlite else value

    def to_uuid(self, value: Any) -> str:
        return str(uuid.UUID(value) if isinstance(value, str) else value)

    def to_datetime(self, value: Any) -> datetime:
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def to_time(self, value: Any) -> str | None:
        return None if value is None else self.to_datetime(value).isoformat()


DB = Database(os.environ.get("DATABASE_URL", "sqlite:///instance/taskboard.db"))


def _user(db: Database, row: tuple) -> dict[str, Any]:
    return {"id": db.to_uuid(row[0]), "email": row[1], "name": row[2]}


def authenticate(db: Database, environ: dict[str, Any]) -> Any:
    """The user id behind the bearer token, or None: the same lookup as Taskboard's."""
    header = environ.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith("tba_"):
        return None
    rows = db.rows(
        "SELECT a.id, a.access_expires_at, a.revoked_at, u.id, u.is_active FROM auth_tokens a "
        "JOIN users u ON u.id = a.user_id WHERE a.access_hash = ?",
        [hashlib.sha256(token.encode()).hexdigest()],
    )
    if not rows:
        return None
    _, expires, revoked, user_id, active = rows[0]
    if revoked is not None or not active or db.to_datetime(expires) <= datetime.now(UTC):
        return None
    return user_id


def serialize(db: Database, rows: list[tuple]) -> list[dict[str, Any]]:
    """Tasks with creator (joined in `rows`), assignees and labels (a query each for all)."""
    ids = [row[0] for row in rows]
    assignees: dict[Any, list[dict[str, Any]]] = {task_id: [] for task_id in ids}
    labels: dict[Any, list[dict[str, Any]]] = {task_id: [] for task_id in ids}
    if ids:
        marks = ", ".join("?" for _ in ids)
        for row in db.rows(
            f"SELECT ta.task_id, {USER_COLUMNS} FROM task_assignees ta "
            f"JOIN users u ON u.id = ta.user_id WHERE ta.task_id IN ({marks}) ORDER BY u.name",
            ids,
        ):
            assignees[row[0]].append(_user(db, row[1:]))
        for row in db.rows(
            "SELECT tl.task_id, l.id, l.name, l.color FROM task_labels tl "
            f"JOIN labels l ON l.id = tl.label_id WHERE tl.task_id IN ({marks}) "
            "ORDER BY l.name_key, l.id",
            ids,
        ):
            labels[row[0]].append({"id": db.to_uuid(row[1]), "name": row[2], "color": row[3]})
    return [
        {
            "id": db.to_uuid(row[0]),
            "project_id": db.to_uuid(row[1]),
            "column_id": db.to_uuid(row[9]),
            "title": row[2],
            "description": row[3],
            "status": STATUSES[row[4]],
            "position": row[5],
            "assignees": assignees[row[0]],
            "labels": labels[row[0]],
            "checklist": {"done": row[10], "total": row[11]},
            "attachment_count": row[12],
            "due_date": db.to_time(row[6]),
            "created_by": _user(db, row[CREATOR]),
            "created_at": db.to_time(row[7]),
            "updated_at": db.to_time(row[8]),
        }
        for row in rows
    ]


def list_tasks(db: Database, user_id: Any, project_id: uuid.UUID, query: dict[str, list[str]]):
    """A page of the board: membership and column sizes in one query, then the page by seek."""
    page = int(query.get("page", ["1"])[0])
    per_page = int(query.get("per_page", ["20"])[0])
    if page < 1 or not 1 <= per_page <= 100:
        return 422, {"code": 422, "status": "Unprocessable Entity"}, {}
    pid = db.uid(project_id)
    columns = db.rows(
        "SELECT c.id, (SELECT position FROM tasks WHERE column_id = c.id "
        "ORDER BY position DESC LIMIT 1) FROM board_columns c "
        "JOIN memberships m ON m.project_id = c.project_id AND m.user_id = ? "
        "WHERE c.project_id = ? ORDER BY c.position",
        [user_id, pid],
    )
    if not columns:
        return 404, {"code": 404, "status": "Not Found", "message": "No such project."}, {}
    sizes = [(m + 1) if m is not None else 0 for _, m in columns]
    total = sum(sizes)
    start = (page - 1) * per_page
    end = min(start + per_page, total)
    # One position range per column, as Taskboard does: index seeks whatever the planner knows.
    ranges, params, before = [], [], 0
    order = []
    for index, ((column_id, _), size) in enumerate(zip(columns, sizes, strict=True)):
        lo, hi = max(start - before, 0), min(end - before, size)
        if lo < hi:
            ranges.append("(t.column_id = ? AND t.position >= ? AND t.position < ?)")
            params += [column_id, lo, hi]
            order.append(f"WHEN ? THEN {index}")
        before += size
    rows = []
    if ranges:
        rows = db.rows(
            f"SELECT {TASK_COLUMNS}, {USER_COLUMNS} FROM tasks t "
            "JOIN users u ON u.id = t.created_by_id "
            f"WHERE {' OR '.join(ranges)} "
            f"ORDER BY CASE t.column_id {' '.join(order)} END, t.position, t.id",
            params + params[0::3],  # each range's column id again, for the order
        )
    return 200, serialize(db, rows), {"X-Pagination": json.dumps(pagination(total, page, per_page))}


def pagination(total: int, page: int, per_page: int) -> dict[str, Any]:
    """The X-Pagination object, as flask-smorest builds it."""
    meta: dict[str, Any] = {"total": total, "total_pages": math.ceil(total / per_page)}
    if total:
        last = meta["total_pages"]
        meta.update(first_page=1, last_page=last)
        if page <= last:
            meta["page"] = page
            if page > 1:
                meta["previous_page"] = page - 1
            if page < last:
                meta["next_page"] = page + 1
    return meta


def get_task(db: Database, user_id: Any, task_id: uuid.UUID):
    """One task the user can see (membership joined in), with creator and assignees."""
    rows = db.rows(
        f"SELECT {TASK_COLUMNS}, {USER_COLUMNS} FROM tasks t "
        "JOIN users u ON u.id = t.created_by_id "
        "JOIN memberships m ON m.project_id = t.project_id AND m.user_id = ? WHERE t.id = ?",
        [user_id, db.uid(task_id)],
    )
    if not rows:
        return 404, {"code": 404, "status": "Not Found", "message": "No such task."}, {}
    return 200, serialize(db, rows)[0], {}


def app(environ: dict[str, Any], start_response: Callable) -> list[bytes]:
    path = environ.get("PATH_INFO", "")
    status, payload, headers = 404, {"code": 404, "status": "Not Found"}, {}
    list_match, item_match = LIST_PATH.match(path), ITEM_PATH.match(path)
    if environ["REQUEST_METHOD"] == "GET" and (list_match or item_match):
        user_id = authenticate(DB, environ)
        if user_id is None:
            status, payload = 401, {"code": 401, "status": "Unauthorized"}
        elif list_match:
            query = parse_qs(environ.get("QUERY_STRING", ""))
            status, payload, headers = list_tasks(DB, user_id, uuid.UUID(list_match[1]), query)
        else:
            status, payload, headers = get_task(DB, user_id, uuid.UUID(item_match[1]))
    body = json.dumps(payload).encode()
    reason = {200: "OK", 401: "Unauthorized", 404: "Not Found", 422: "Unprocessable Entity"}
    start_response(
        f"{status} {reason[status]}",
        [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            *headers.items(),
        ],
    )
    return [body]

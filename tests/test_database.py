"""`read` and the GETs that run without a transaction on PostgreSQL.

`read` is one thing everywhere: the ORM session's connection and a SQLAlchemy `Result`,
in a GET, a POST, the CLI and a job. PostgreSQL GETs run in autocommit, which is only
safe while a GET writes at most one statement: every GET route is walked to show it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from webutil import web_login

from taskboard.database import read
from taskboard.extensions import db
from taskboard.models import LoginSession, PersonalToken, Task
from taskboard.queue import job_context
from taskboard.services import cards, tasks, tokens

API = "/api/v1"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def test_read_gives_a_result_in_every_context(app: Flask, alice: Any) -> None:
    project = alice.create_project()
    alice.create_task(project["id"], "one")
    query = sa.select(Task.__table__.c.title).where(Task.__table__.c.title == sa.bindparam("t"))

    def check() -> None:
        result = read(query, {"t": "one"})
        assert isinstance(result, sa.Result)
        assert result.scalars().one() == "one"
        assert read(query, {"t": "none"}).first() is None

    with app.test_request_context("/x", method="GET"):
        check()
    with app.test_request_context("/x", method="POST"):
        check()
    with app.app_context():  # the CLI
        check()
    with job_context():  # a job of the worker
        check()


def test_in_lists_mixed_with_typed_values_read_the_right_rows(app: Flask, alice: Any) -> None:
    """An expanding IN beside a typed parameter (a status stored as a number, a UUID):
    each value bound by its own type."""
    project = alice.create_project()
    made = [alice.create_task(project["id"], f"t{i}", status=s) for i, s in
            enumerate(["todo", "done", "done"])]
    table = Task.__table__
    query = (
        sa.select(table.c.title)
        .where(
            table.c.id.in_(sa.bindparam("ids", expanding=True)),
            table.c.status == sa.bindparam("status"),
            table.c.project_id == sa.bindparam("project"),
        )
        .order_by(table.c.title)
    )
    with app.test_request_context("/x", method="GET"):
        ids = [uuid.UUID(t["id"]) for t in made]
        params = {"ids": ids, "status": "done", "project": uuid.UUID(project["id"])}
        assert read(query, params).scalars().all() == ["t1", "t2"]
        assignees = read(cards._ASSIGNEES_QUERY, {"task_ids": ids[:1]}).all()
        assert assignees == []


def test_the_reads_every_request_repeats_are_built_once() -> None:
    """Built at import, so each request reuses the statement and its compiled form."""
    for statement in (
        tokens._ACCESS_QUERY,
        tokens._PERSONAL_QUERY,
        cards._ASSIGNEES_QUERY,
        tasks._CARD_QUERY,
        tasks._RANGE_QUERY,
        tasks._BOARD_STATE_QUERY,
    ):
        assert isinstance(statement, sa.Select)


def get_routes(app: Flask, prefix: str) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or set()) and rule.rule.startswith(prefix)
    )


def fill(rule: str, ids: dict[str, str]) -> str | None:
    path = rule
    for name, value in ids.items():
        path = path.replace(f"<uuid:{name}>", value)
    return None if "<" in path else path


def test_a_get_writes_at_most_one_statement(
    app: Flask, client: Any, alice: Any, bob: Any, count_queries: Any
) -> None:
    """Every GET route, API and pages, with a personal token due a last-use update and a
    login session due its hourly one: never more than one write, so autocommit cannot
    split a change in two."""
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], assignee_ids=[bob.id])
    made = alice.post(f"{API}/users/me/tokens", json={"name": "s", "scope": "read"})
    personal = {"Authorization": f"Bearer {made.json['token']}"}
    web_login(client, alice.email)
    ids = {"project_id": project["id"], "task_id": task["id"], "user_id": bob.id,
           "token_id": made.json["id"]}

    def stale() -> None:
        long_ago = datetime.now(UTC) - timedelta(hours=3)
        with app.app_context():
            db.session.execute(sa.update(PersonalToken).values(last_used_at=long_ago))
            db.session.execute(sa.update(LoginSession).values(last_seen_at=long_ago))
            db.session.commit()

    checked = 0
    for rule in get_routes(app, "/"):
        path = fill(rule, ids)
        if path is None or rule.startswith("/static"):
            continue
        for headers, who in ((personal, "token"), ({}, "session")):
            stale()
            with count_queries() as counter:
                resp = client.get(path, headers=headers)
            writes = [s for s in counter.statements if WRITE.match(s)]
            assert len(writes) <= 1, (rule, who, writes)
            assert resp.status_code < 500, (rule, who)
            checked += 1
    assert checked >= 30

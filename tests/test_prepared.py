"""Prepared statements: run on the driver's cursor, they read what SQLAlchemy reads."""

from __future__ import annotations

import importlib
import pkgutil
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

import taskboard.services
from taskboard import database
from taskboard.database import Prepared, Rows
from taskboard.extensions import db
from taskboard.services import cards, tasks, tokens

API = "/api/v1"


def every_prepared() -> dict[str, Prepared]:
    """Every prepared statement the services define, by module and name."""
    found = {}
    for info in pkgutil.iter_modules(taskboard.services.__path__):
        module = importlib.import_module(f"taskboard.services.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Prepared):
                found[f"{info.name}.{name}"] = value
    return found


@pytest.fixture
def board(alice: Any, bob: Any) -> dict[str, Any]:
    """A project with cards in every column, with and without assignees and due dates,
    and a personal token of Alice's."""
    project = alice.create_project("Prepared")
    alice.add_member(project["id"], bob)
    made = [
        alice.create_task(project["id"], "plain"),
        alice.create_task(
            project["id"], "both", assignee_ids=[alice.id, bob.id], due_date="2026-12-01T12:00:00Z"
        ),
        alice.create_task(project["id"], "started", status="in_progress", assignee_ids=[bob.id]),
        alice.create_task(
            project["id"], "finished", status="done", due_date="2020-01-01T09:30:00+02:00"
        ),
        alice.create_task(project["id"], "late", due_date="2020-01-01T09:30:00Z"),
    ]
    for body in ("first", "second"):
        comment = alice.post(f"{API}/tasks/{made[1]['id']}/comments", json={"body": body})
        assert comment.status_code == 201, comment.json
    personal = alice.post(f"{API}/users/me/tokens", json={"name": "cli", "scope": "read"})
    assert personal.status_code == 201, personal.json
    return {
        "pid": project["id"],
        "tasks": [task["id"] for task in made],
        "personal": personal.json["token"],
    }


def params_for(alice: Any, board: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each prepared statement, parameters that find rows and ones that find none."""
    pid, user = uuid.UUID(board["pid"]), uuid.UUID(alice.id)
    ids = [uuid.UUID(i) for i in board["tasks"]]
    whole_board = {"project_id": pid, "limit": 100}
    for status in tasks.STATUSES:
        whole_board |= {f"lo_{status}": 0, f"hi_{status}": 10}
    second_card_only = {"project_id": pid, "limit": 1}
    for status in tasks.STATUSES:
        lo, hi = (1, 2) if status == "todo" else (0, 0)
        second_card_only |= {f"lo_{status}": lo, f"hi_{status}": hi}
    nobody = uuid.UUID("00000000-0000-4000-8000-000000000000")
    return {
        "tokens._ACCESS_QUERY": [
            {"token_hash": tokens.digest(alice.token)},
            {"token_hash": tokens.digest("tb_at_unknown")},
        ],
        "tokens._PERSONAL_QUERY": [
            {"token_hash": tokens.digest(board["personal"])},
            {"token_hash": tokens.digest("tb_pt_unknown")},
        ],
        "cards._ASSIGNEES_QUERY": [
            {"task_ids": ids},
            {"task_ids": ids[1:2]},
            {"task_ids": [nobody]},
        ],
        "tasks._CARD_QUERY": [
            *({"task_id": task_id, "user_id": user} for task_id in ids),
            {"task_id": ids[0], "user_id": nobody},
        ],
        "tasks._SIZES_QUERY": [
            {"project_id": pid, "user_id": user},
            {"project_id": pid, "user_id": nobody},
        ],
        "tasks._RANGE_QUERY": [whole_board, second_card_only],
        "tasks._BOARD_STATE_QUERY": [
            {"project_id": pid, "user_id": user, "now": datetime.now(UTC)},
            {"project_id": pid, "user_id": nobody, "now": datetime.now(UTC)},
        ],
        "tasks._COMMENT_COUNTS_QUERY": [{"project_id": pid}, {"project_id": nobody}],
        "tasks._RANGE_ASSIGNEES_QUERY": [whole_board, second_card_only],
    }


def typed(rows: Any) -> list[list[tuple[type, Any]]]:
    """Rows as (type, value) pairs: `1 == True`, and a str id equals no UUID."""
    return [[(type(value), value) for value in row] for row in rows]


def test_every_prepared_statement_reads_what_sqlalchemy_reads(app: Flask, alice, board):
    """The driver-cursor run of each statement gives the rows, values, value types and
    column names SQLAlchemy's execution gives, on both databases, found or not."""
    cases = params_for(alice, board)
    assert set(cases) == set(every_prepared()), "give every prepared statement a case"
    with app.app_context(), db.engine.connect() as connection:
        assert not connection.engine._has_events  # else `run` would hand it to SQLAlchemy
        for name, prepared in every_prepared().items():
            found_any = False
            for params in cases[name]:
                expected = connection.execute(prepared.statement, params)
                keys = list(expected.keys())
                expected_rows = expected.all()
                got = prepared.run(connection, params)
                assert isinstance(got, Rows)
                assert typed(got) == typed(expected_rows), (name, params)
                for row in got:
                    assert list(row._fields) == keys, name
                found_any |= bool(got)
            assert found_any, f"{name}: no case found any row"


def test_rows_answer_like_a_result(app: Flask, alice, board):
    query = tokens._ACCESS_QUERY
    with app.app_context(), db.engine.connect() as connection:
        rows = query.run(connection, {"token_hash": tokens.digest(alice.token)})
        none = query.run(connection, {"token_hash": tokens.digest("tb_at_unknown")})
    assert rows.all() == rows and len(rows) == 1
    assert rows.first().email == "alice@example.com" == rows.first()[rows[0]._fields.index("email")]
    assert rows.scalar() == rows[0][0]
    assert none.first() is None and none.scalar() is None and none.all() == []


def test_api_reads_run_on_the_driver_cursor(app: Flask, alice, board, monkeypatch):
    """A task, a board page and the bearer's token never go through SQLAlchemy's execution
    in a GET: it is refused here, and the answers are still right."""
    expected = {
        "task": alice.get(f"{API}/tasks/{board['tasks'][1]}").json,
        "page": alice.get(f"{API}/projects/{board['pid']}/tasks").json,
    }

    def refuse(*_: Any, **__: Any) -> Any:
        raise AssertionError("executed by SQLAlchemy")

    # After each statement: is a transaction left open on the driver's connection?
    open_after: list[bool] = []
    run = database._Plan.run

    def run_and_look(plan: Any, cursor: Any, params: Any) -> Any:
        rows = run(plan, cursor, params)
        conn = cursor.connection
        if isinstance(conn, sqlite3.Connection):
            open_after.append(conn.in_transaction)
        else:  # psycopg: GETs read in autocommit, so no transaction is left behind
            open_after.append(not conn.autocommit or conn.info.transaction_status != 0)
        return rows

    monkeypatch.setattr(sa.Connection, "execute", refuse)
    monkeypatch.setattr(database._Plan, "run", run_and_look)
    task = alice.get(f"{API}/tasks/{board['tasks'][1]}")
    page = alice.get(f"{API}/projects/{board['pid']}/tasks")
    assert task.status_code == page.status_code == 200
    assert task.json == expected["task"] and page.json == expected["page"]
    assert open_after == [False] * 6  # token + task; token + sizes + page + assignees
    assert [p["email"] for p in task.json["assignees"]] == ["alice@example.com", "bob@example.com"]


def test_listeners_see_prepared_statements(app: Flask, alice, board, count_queries):
    """With a listener on the engine (tracing, query counts), SQLAlchemy runs them."""
    with count_queries() as counter:
        assert alice.get(f"{API}/tasks/{board['tasks'][1]}").status_code == 200
    assert counter.count == 2  # the token, the task with its assignees
    assert any("token_hash" in sql or "access_hash" in sql for sql in counter.statements)


def test_echo_logs_prepared_statements(app: Flask, alice, caplog):
    """With SQL echo on, SQLAlchemy runs them, so its log shows them."""
    query = tokens._ACCESS_QUERY
    with app.app_context():
        engine = db.engine
        engine.echo = True
        try:
            with caplog.at_level("INFO", "sqlalchemy.engine"), engine.connect() as connection:
                rows = query.run(connection, {"token_hash": tokens.digest(alice.token)})
        finally:
            engine.echo = False
    assert rows.first().email == "alice@example.com"
    assert any("access_hash" in r.getMessage() for r in caplog.records)


def test_a_driver_error_is_raised_as_sqlalchemys(app: Flask):
    """A statement the database refuses surfaces as SQLAlchemy's exception, as elsewhere."""
    broken = Prepared(sa.select(sa.text("no_such_column")).select_from(cards.TASKS))
    with app.app_context(), db.engine.connect() as connection, pytest.raises(sa.exc.DBAPIError):
        broken.run(connection, None)

"""`read`, prepared statements, and the GETs that run without a transaction.

`read` gives `Rows` wherever it runs (a GET, a POST, the CLI, a job); a prepared
statement reads what SQLAlchemy's execution reads, value types included, on both
databases. PostgreSQL GETs run in autocommit, which is only safe while a GET writes at
most one statement: every GET route is walked to show it.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from webutil import web_login

import taskboard.services
from taskboard import database
from taskboard.database import Prepared, Rows, read
from taskboard.extensions import db
from taskboard.models import LoginSession, PersonalToken, Project, Task, Webhook
from taskboard.queue import job_context
from taskboard.services import cards, inbox, tokens

API = "/api/v1"
WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


def test_read_gives_a_result_in_every_context(app: Flask, alice: Any) -> None:
    project = alice.create_project()
    alice.create_task(project["id"], "one")
    query = sa.select(Task.__table__.c.title).where(Task.__table__.c.title == sa.bindparam("t"))

    prepared = Prepared(query)

    def check() -> None:
        for statement in (query, prepared):
            rows = read(statement, {"t": "one"})
            assert isinstance(rows, Rows)
            assert rows.scalars().one() == "one" == rows.scalar_one() == rows.one().title
            assert rows.first()[0] == "one" == rows.scalar()
            none = read(statement, {"t": "none"})
            assert none.first() is None and none.one_or_none() is None and none.all() == []
            with pytest.raises(sa.exc.NoResultFound):
                none.one()

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
    ids = [uuid.UUID(t["id"]) for t in made]
    params = {"ids": ids, "status": "done", "project": uuid.UUID(project["id"])}
    for method in ("GET", "POST"):
        with app.test_request_context("/x", method=method):
            assert read(query, params).scalars() == ["t1", "t2"]
            assert read(Prepared(query), params).scalars() == ["t1", "t2"]
            assert read(cards._ASSIGNEES_QUERY, {"task_ids": ids[:1]}).all() == []


def every_prepared() -> dict[str, Prepared]:
    """Every prepared statement the services define, by module and name."""
    found = {}
    for info in pkgutil.iter_modules(taskboard.services.__path__):
        module = importlib.import_module(f"taskboard.services.{info.name}")
        for name, value in vars(module).items():
            if isinstance(value, Prepared):
                found[f"{info.name}.{name}"] = value
    # Built on first use, for the notification kinds registered by then.
    found["inbox._unread_query"] = inbox._unread_query(tuple(inbox._kinds()))
    return found


@pytest.fixture
def board(app: Flask, alice: Any, bob: Any) -> dict[str, Any]:
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
    label = alice.post(
        f"{API}/projects/{project['id']}/labels", json={"name": "Bug", "color": "red"}
    )
    assert label.status_code == 201, label.json
    tagged = alice.patch(f"{API}/tasks/{made[1]['id']}", json={"label_ids": [label.json["id"]]})
    assert tagged.status_code == 200, tagged.json
    for body in ("first", "second"):
        comment = alice.post(f"{API}/tasks/{made[1]['id']}/comments", json={"body": body})
        assert comment.status_code == 201, comment.json
    personal = alice.post(f"{API}/users/me/tokens", json={"name": "cli", "scope": "read"})
    assert personal.status_code == 201, personal.json
    with app.app_context():  # a webhook as the API makes one (whose check resolves the host)
        db.session.add(
            Webhook(
                project_id=uuid.UUID(project["id"]),
                url="https://hooks.example.com/x",
                events=["task.moved"],
                secret="s" * 32,
                created_by_id=uuid.UUID(alice.id),
            )
        )
        db.session.commit()
    return {
        "pid": project["id"],
        "tasks": [task["id"] for task in made],
        "personal": personal.json["token"],
    }




def params_for(alice: Any, bob: Any, board: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """For each prepared statement, parameters that find rows and ones that find none."""
    pid, user = uuid.UUID(board["pid"]), uuid.UUID(alice.id)
    ids = [uuid.UUID(i) for i in board["tasks"]]
    whole_board = {
        "project_id": pid, "first": 0, "final": 2, "lo": 0, "hi": 10, "end": 11, "limit": 100
    }
    second_card_only = {
        "project_id": pid, "first": 0, "final": 0, "lo": 1, "hi": 2, "end": 11, "limit": 1
    }
    nobody = uuid.UUID("00000000-0000-4000-8000-000000000000")
    now, day = datetime.now(UTC), timedelta(days=1)
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
        "cards._LABELS_QUERY": [
            {"task_ids": ids},
            {"task_ids": ids[1:2]},
            {"task_ids": [nobody]},
        ],
        "cards._CARD_LABELS_QUERY": [{"task_id": ids[1]}, {"task_id": ids[0]}],
        "columns._COLUMNS_QUERY": [
            {"project_id": pid, "user_id": user},
            {"project_id": pid, "user_id": nobody},
        ],
        "task_reads._CARD_QUERY": [
            *({"task_id": task_id, "user_id": user} for task_id in ids),
            {"task_id": ids[0], "user_id": nobody},
        ],
        "task_reads._RANGE_QUERY": [whole_board, second_card_only],
        "task_reads._BOARD_STATE_QUERY": [
            {"project_id": pid, "user_id": user, "now": now, "soon_until": now + day},
            {"project_id": pid, "user_id": nobody, "now": now, "soon_until": now + day},
        ],
        "task_reads._COMMENT_COUNTS_QUERY": [{"project_id": pid}, {"project_id": nobody}],
        "webhooks._ACTIVE_HOOKS": [{"project_id": pid}, {"project_id": nobody}],
        "webhooks._CARD_HOOKS": [{"card_id": ids[0]}, {"card_id": nobody}],
        "projects._MEMBERSHIP": [
            {"project_id": pid, "user_id": user},
            {"project_id": pid, "user_id": nobody},
        ],
        "preferences._WATCHING_STATE": [
            {"user_id": user, "project_id": pid, "task_id": ids[0]},  # creator: watches it
            {"user_id": nobody, "project_id": pid, "task_id": None},
        ],
        "inbox._unread_query": [{"user_id": uuid.UUID(bob.id)}, {"user_id": nobody}],
        "task_reads._SHOWN_COMMENT_COUNTS_QUERY": [{"task_ids": ids}, {"task_ids": [nobody]}],
        "task_reads._RANGE_ASSIGNEES_QUERY": [whole_board, second_card_only],
        "task_reads._RANGE_LABELS_QUERY": [whole_board, second_card_only],
        # The first cards of each column: one, all, none (another project).
        **{
            f"task_reads._WINDOWS{name}_QUERY": [
                {"project_id": pid, "limit": 1},
                {"project_id": pid, "limit": 50},
                {"project_id": nobody, "limit": 50},
            ]
            for name in ("", "_ASSIGNEES", "_LABELS")
        },
    }


def typed(rows: Any) -> list[list[tuple[type, Any]]]:
    """Rows as (type, value) pairs: `1 == True`, and a str id equals no UUID."""
    return [[(type(value), value) for value in row] for row in rows]



def test_every_prepared_statement_reads_what_sqlalchemy_reads(app: Flask, alice, bob, board):
    """The driver-cursor run of each statement gives the rows, values, value types and
    column names SQLAlchemy's execution gives, on both databases, found or not."""
    cases = params_for(alice, bob, board)
    assert set(cases) == set(every_prepared()), "give every prepared statement a case"
    with app.app_context(), db.engine.connect() as connection:
        assert not database._has_listeners(connection.engine)  # else SQLAlchemy runs them
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


def test_the_listener_flag_follows_event_listen(app: Flask) -> None:
    """`_has_listeners` reads SQLAlchemy's private `Engine._has_events`: should an upgrade
    rename it or stop setting it, this fails instead of statements going unseen."""
    def listener(*_: Any) -> None:
        pass

    with app.app_context():
        engine = db.engine
        assert hasattr(engine, "_has_events")
        assert database._has_listeners(engine) is False
        sa.event.listen(engine, "before_cursor_execute", listener)
        try:
            assert database._has_listeners(engine) is True
        finally:
            sa.event.remove(engine, "before_cursor_execute", listener)


def test_listeners_and_echo_see_prepared_statements(
    app: Flask, alice, board, count_queries, caplog
):
    with count_queries() as counter:
        assert alice.get(f"{API}/tasks/{board['tasks'][1]}").status_code == 200
    assert counter.count == 3  # the token, the task with its assignees, its labels
    with app.app_context():
        engine = db.engine
        engine.echo = True
        try:
            with caplog.at_level("INFO", "sqlalchemy.engine"), engine.connect() as connection:
                rows = tokens._ACCESS_QUERY.run(
                    connection, {"token_hash": tokens.digest(alice.token)}
                )
        finally:
            engine.echo = False
    assert rows.first().email == "alice@example.com"
    assert any("access_hash" in r.getMessage() for r in caplog.records)


def test_a_driver_error_is_raised_as_sqlalchemys(app: Flask):
    """A statement the database refuses surfaces as SQLAlchemy's exception, as elsewhere."""
    broken = Prepared(sa.select(sa.literal_column("no_such_column")).select_from(cards.TASKS))
    with app.app_context(), db.engine.connect() as connection, pytest.raises(sa.exc.DBAPIError):
        broken.run(connection, None)


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


def test_a_request_holds_one_connection(app: Flask, client: Any, alice: Any) -> None:
    """A GET takes one connection from the pool, whatever mix of `read` and the ORM
    session it runs: the API's token read with `read` and then the projects listed
    through the session, a page's user loaded through the session and its board read
    with `read`. A write holds one at a time: the session gives its connection back at
    the commit, and the answer is read on the next. All are back when the answer is out."""
    project = alice.create_project()
    task = alice.create_task(project["id"], "one")
    web_login(client, alice.email)
    with app.app_context():
        engine = db.engine
    held: list[int] = []

    def checkout(*_: Any) -> None:
        held.append(engine.pool.checkedout())

    gets = [
        (alice.get, f"{API}/projects"),
        (alice.get, f"{API}/users/me/tokens"),
        (alice.get, f"{API}/tasks/{task['id']}"),
        (client.get, f"/projects/{project['id']}"),
        (client.get, "/projects"),
    ]
    sa.event.listen(engine, "checkout", checkout)
    try:
        for call, path in gets:
            held.clear()
            assert call(path).status_code == 200, path
            assert held == [1], (path, held)
            assert engine.pool.checkedout() == 0, path
        held.clear()
        assert alice.patch(f"{API}/tasks/{task['id']}", json={"title": "two"}).status_code == 200
        assert held and max(held) == 1, held
        assert engine.pool.checkedout() == 0
    finally:
        sa.event.remove(engine, "checkout", checkout)


def test_a_write_reads_after_its_commit_as_a_get_and_never_holds_two_connections(
    app: Flask, alice: Any
) -> None:
    """After a POST's commit, `read` takes the request's connection (autocommit on
    PostgreSQL), as in a GET. Should the session then write again, that connection goes
    back to the pool first: one connection at a time, and the second write is a
    transaction of its own, rolled back whole when it fails."""
    project = alice.create_project()
    task = alice.create_task(project["id"], "first")
    pid, tid = uuid.UUID(project["id"]), uuid.UUID(task["id"])
    engine_held: list[int] = []
    with app.app_context():
        engine = db.engine

    def checkout(*_: Any) -> None:
        engine_held.append(engine.pool.checkedout())

    sa.event.listen(engine, "checkout", checkout)
    try:
        with app.test_request_context("/", method="POST"):
            db.session.execute(sa.update(Task).where(Task.id == tid).values(title="second"))
            db.session.commit()
            rows = read(sa.select(Task.title).where(Task.id == tid))
            assert rows.first().title == "second"
            request_connection = database._connection_for_read()
            if engine.dialect.name == "postgresql":
                assert request_connection.connection.dbapi_connection.autocommit
            db.session.execute(sa.update(Task).where(Task.id == tid).values(title="third"))
            session_connection = db.session.connection()
            assert session_connection is not request_connection
            db.session.rollback()  # the second write, undone whole
            assert read(sa.select(Task.title).where(Task.id == tid)).first().title == "second"
            assert read(sa.select(Project.title).where(Project.id == pid)).first()
        assert engine_held and max(engine_held) == 1, engine_held
        assert engine.pool.checkedout() == 0
    finally:
        sa.event.remove(engine, "checkout", checkout)


def test_a_get_that_writes_commits_on_the_request_connection(
    app: Flask, alice: Any, count_queries: Any
) -> None:
    """A GET's one write (a personal token's last use) is committed, though the session
    joined the connection `read` had already begun a transaction on: with a listener on
    the engine (the counter), the token's read runs through SQLAlchemy, which begins one;
    the session, controlling it fully, commits it. The next request sees the write."""
    made = alice.post(f"{API}/users/me/tokens", json={"name": "s", "scope": "read"})
    personal = {"Authorization": f"Bearer {made.json['token']}"}
    with app.app_context():
        db.session.execute(sa.update(PersonalToken).values(last_used_at=None))
        db.session.commit()
    with app.test_client() as fresh, count_queries() as counter:
        assert fresh.get(f"{API}/projects", headers=personal).status_code == 200
    assert any(WRITE.match(s) for s in counter.statements)
    with app.app_context():
        used = db.session.scalar(sa.select(PersonalToken.last_used_at))
    assert used is not None

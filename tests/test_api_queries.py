"""Lists load what they show in a fixed number of SQL queries, whatever their size."""

from __future__ import annotations

from typing import Any

import pytest

API = "/api/v1"


@pytest.fixture
def team(alice: Any, bob: Any, carol: Any) -> dict[str, Any]:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    return {"pid": project["id"], "ids": [alice.id, bob.id, carol.id]}


def fill(user: Any, team: dict[str, Any], n: int) -> str:
    """n tasks with three assignees each; the id of the last one."""
    last = ""
    for i in range(n):
        last = user.create_task(team["pid"], f"t{i}", assignee_ids=team["ids"])["id"]
    return last


def queries(count_queries: Any, user: Any, url: str) -> tuple[int, list[str]]:
    with count_queries() as counter:
        resp = user.get(url)
    assert resp.status_code == 200, resp.json
    return counter.count, counter.statements


@pytest.mark.parametrize(
    "path",
    [
        "/projects/{pid}/tasks?per_page=100",
        "/tasks?per_page=100",
        "/tasks?assignee=me&per_page=100",
    ],
)
def test_task_lists_cost_at_most_five_queries_whatever_their_size(alice, team, count_queries, path):
    url = API + path.format(pid=team["pid"])
    fill(alice, team, 2)
    small, statements = queries(count_queries, alice, url)
    assert small <= 5, statements  # token, sizes or count, cards, assignees, labels
    fill(alice, team, 28)
    large, statements = queries(count_queries, alice, url)
    assert large == small, statements
    assert len(alice.get(url).json) == 30


def test_other_lists_are_constant(alice, bob, team, count_queries):
    tid = fill(alice, team, 1)
    urls = [
        f"{API}/projects",
        f"{API}/projects/{team['pid']}/members",
        f"{API}/tasks/{tid}/comments",
        f"{API}/tasks/{tid}/activity",
    ]
    before = [queries(count_queries, alice, url)[0] for url in urls]
    for i in range(10):
        alice.create_project(f"p{i}")
        alice.post(f"{API}/tasks/{tid}/comments", json={"body": f"c{i}"})
        bob.post(f"{API}/tasks/{tid}/comments", json={"body": f"b{i}"})
    after = [queries(count_queries, alice, url)[0] for url in urls]
    assert after == before
    assert all(n <= 4 for n in after), after


def test_one_task_costs_a_constant_few_queries(alice, team, count_queries):
    tid = fill(alice, team, 1)
    n, statements = queries(count_queries, alice, f"{API}/tasks/{tid}")
    assert n <= 4, statements


# PostgreSQL only: SQLite starts no transaction for reads in the first place.
@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)
def test_reads_run_without_a_transaction_and_writes_within_one(app, alice, team):
    """On PostgreSQL a GET needs no BEGIN/ROLLBACK round trips (each statement of a
    READ COMMITTED transaction has its own snapshot anyway); writes stay atomic, also on a
    connection a GET used before. The write's answer, read after its commit, is read as a
    GET reads."""
    import sqlalchemy as sa

    from taskboard.extensions import db

    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, bool]] = []

    def record(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append((statement.split()[0], conn.connection.dbapi_connection.autocommit))

    tid = fill(alice, team, 1)
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        for path in (f"/tasks/{tid}", f"/projects/{team['pid']}/tasks", "/projects"):
            assert alice.get(API + path).status_code == 200
        reads, seen[:] = list(seen), []
        assert alice.patch(f"{API}/tasks/{tid}", json={"title": "changed"}).status_code == 200
        writes = list(seen)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert reads and all(autocommit for _, autocommit in reads), reads
    assert any(verb == "UPDATE" for verb, _ in writes)
    last_write = max(i for i, (verb, _) in enumerate(writes) if verb != "SELECT")
    assert not any(autocommit for _, autocommit in writes[: last_write + 1]), writes
    answer = writes[last_write + 1 :]
    assert answer and all(verb == "SELECT" and autocommit for verb, autocommit in answer), writes


def test_a_read_takes_one_connection_and_gives_it_back(app, alice, team):
    """The token, a task and a board page are read in the request's session: one
    connection from the pool per GET, and it goes back after."""
    import sqlalchemy as sa

    from taskboard.extensions import db

    with app.app_context():
        engine = db.engine
    tid = fill(alice, team, 3)
    checkouts: list[int] = []

    def checkout(*_: Any) -> None:
        checkouts.append(1)

    sa.event.listen(engine, "checkout", checkout)
    try:
        for path in (f"/tasks/{tid}", f"/projects/{team['pid']}/tasks?per_page=2&page=2"):
            checkouts.clear()
            resp = alice.get(API + path)
            assert resp.status_code == 200, resp.json
            assert len(checkouts) == 1, path
            assert engine.pool.checkedout() == 0
        assert alice.patch(f"{API}/tasks/{tid}", json={"title": "t"}).status_code == 200
        assert engine.pool.checkedout() == 0
    finally:
        sa.event.remove(engine, "checkout", checkout)


def test_read_outside_a_safe_request_sees_the_sessions_own_changes(app):
    import sqlalchemy as sa

    from taskboard.database import read
    from taskboard.extensions import db
    from taskboard.models import User

    users = User.__table__
    query = sa.select(users.c.name).where(users.c.email == "new@example.com")
    for method in ("POST", "GET"):
        with app.test_request_context(method=method):
            db.session.add(User(email="new@example.com", name="New", password_hash="x"))
            assert read(query).scalar() == "New"  # flushed into the session's transaction
            db.session.rollback()
            assert read(query).scalar() is None
            engine = db.engine
        assert engine.pool.checkedout() == 0  # back with the request's end


def test_writes_read_each_row_they_need_once(alice, team, count_queries):
    """A move across columns and a create send a fixed few statements, none of them
    reading again what the write already holds (the committed card for the answer, the
    column it went to). Alice's own cards: no mail is sent inline, only the request's
    statements are counted."""
    mine = {"assignee_ids": [alice.id]}
    tid = alice.create_task(team["pid"], "mine", **mine)["id"]
    with count_queries() as moved:
        resp = alice.patch(f"{API}/tasks/{tid}", json={"status": "done", "position": 0})
    assert resp.status_code == 200, resp.json
    with count_queries() as created:
        alice.create_task(team["pid"], "one more", **mine)
    for counter in (moved, created):
        selects = [s for s in counter.statements if s.lstrip().upper().startswith("SELECT")]
        assert len(selects) == len(set(selects)), counter.statements
    assert moved.count <= 14, moved.statements
    assert created.count <= 14, created.statements


def test_a_write_holds_the_boards_lock_for_its_own_work(alice, team, count_queries):
    """Between taking the board's lock and committing, a create sends the lock's mark,
    its column and size, and its rows; the membership and the webhooks are read before
    the lock, and the answer is the card it wrote, not read back. A move reads the
    webhooks before the lock too, and its answer after the commit."""
    tid = alice.create_task(team["pid"], "to move")["id"]
    with count_queries() as created:
        resp = alice.create_task(team["pid"], "locked briefly")
    assert resp["title"] == "locked briefly"
    with count_queries() as moved:
        resp = alice.patch(f"{API}/tasks/{tid}", json={"status": "done"})
    assert resp.status_code == 200, resp.json
    for counter in (created, moved):
        statements = [s.lstrip().upper() for s in counter.statements]
        at = next(i for i, s in enumerate(statements) if s.startswith("UPDATE PROJECTS"))
        assert any("FROM WEBHOOKS" in s or "JOIN WEBHOOKS" in s for s in statements[:at])
        assert not any("WEBHOOKS" in s for s in statements[at + 1 :]), statements
    statements = [s.lstrip().upper() for s in created.statements]
    at = next(i for i, s in enumerate(statements) if s.startswith("UPDATE PROJECTS"))
    before, held = statements[:at], statements[at + 1 :]
    assert any("FROM MEMBERSHIPS" in s for s in before), before
    assert not any("MEMBERSHIPS" in s for s in held), held
    assert all(not s.startswith("SELECT") or "BOARD_COLUMNS" in s for s in held), held

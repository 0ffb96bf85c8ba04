"""Fixtures: a fresh app and database per test, on SQLite and on PostgreSQL.

PostgreSQL: the local server (TEST_POSTGRES_URL, default postgres@127.0.0.1:5432); one
throwaway database per test run, its tables emptied after each test. Where no server
answers, the PostgreSQL half is skipped with the reason — except under CI=true, where a
missing server is an error.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from taskboard import create_app
from taskboard.extensions import db

PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true")
PASSWORD = "correct horse battery"

BASE_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "SECRET_KEY": "test-secret",
    # A fast hash: the real one (scrypt) costs ~50 ms a call, thousands of times per run.
    "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    "HUEY_IMMEDIATE": True,
    "RATELIMIT_ENABLED": False,
    "REDIS_URL": None,
    "MAIL_SERVER": None,
    "BASE_URL": "http://testserver",
    # Instant mail goes out at once, one mail a change; the coalescing tests set a window.
    "NOTIFY_COALESCE_SECONDS": 0,
}


def _run_order(item: pytest.Item) -> int:
    """Longest first: the fuzz runs, the other slow tests, the browser, then the rest."""
    if item.module is not None and item.module.__name__ == "test_fuzz":
        return 0
    if item.get_closest_marker("slow"):
        return 1
    return 2 if item.get_closest_marker("browser") else 3


@pytest.hookimpl(trylast=True)  # after the browser folder marks its tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the workers of a parallel run (scripts/test.sh: pytest-xdist, --dist worksteal)
    the longest tests come first: the workers start on them, a worker that runs out
    takes over the end of another's queue, and no minutes-long test starts last."""
    if hasattr(config, "workerinput"):
        items.sort(key=_run_order)


def _postgres_admin_engine() -> sa.Engine | None:
    engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError:
        engine.dispose()
        return None
    return engine


@dataclass
class PostgresServer:
    admin: sa.Engine
    created: list[str] = field(default_factory=list)

    def create_database(self, prefix: str = "taskboard_test") -> str:
        """A new empty database; its URL. Dropped at the end of the run."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with self.admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    admin = _postgres_admin_engine()
    if admin is None:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required in CI but does not answer at {PG_ADMIN_URL}")
        pytest.skip(f"PostgreSQL does not answer at {PG_ADMIN_URL}")
    server = PostgresServer(admin)
    yield server
    server.drop_all()


@pytest.fixture(scope="session")
def postgres_url(postgres: PostgresServer) -> str:
    """One database for the run's app tests; tables are created once and emptied per test."""
    url = postgres.create_database()
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if db_backend == "sqlite":
        return f"sqlite:///{tmp_path / 'taskboard.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app(database_url: str, db_backend: str, tmp_path: Any) -> Iterator[Flask]:
    app = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "HUEY_SQLITE_PATH": str(tmp_path / "huey.db"),
            "MAIL_OUTBOX_DIR": str(tmp_path / "outbox"),
            "ATTACHMENT_STORAGE": str(tmp_path / "attachments"),
        }
    )
    # No app context stays pushed during the test: each request gets its own session,
    # as it does in production.
    if db_backend == "sqlite":
        with app.app_context():
            db.create_all()
    yield app
    with app.app_context():
        if db_backend == "postgresql":
            _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


@dataclass
class ApiUser:
    """A registered user with an access token, and shortcuts for authenticated calls."""

    client: FlaskClient
    id: str
    email: str
    name: str
    token: str
    refresh_token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def _headers(self, kw: dict[str, Any]) -> dict[str, str]:
        return {**self.headers, **kw.pop("headers", {})}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw), **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self._headers(kw), **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self._headers(kw), **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.client.put(url, headers=self._headers(kw), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw), **kw)

    # Domain shortcuts (each asserts success, so a test reads as its story).
    def create_project(self, title: str = "Launch", **extra: Any) -> dict[str, Any]:
        resp = self.post("/api/v1/projects", json={"title": title, **extra})
        assert resp.status_code == 201, resp.json
        return resp.json

    def add_member(self, project_id: str, other: ApiUser) -> None:
        resp = self.post(f"/api/v1/projects/{project_id}/members", json={"email": other.email})
        assert resp.status_code == 201, resp.json

    def create_task(self, project_id: str, title: str = "Write docs", **extra: Any) -> dict:
        resp = self.post(f"/api/v1/projects/{project_id}/tasks", json={"title": title, **extra})
        assert resp.status_code == 201, resp.json
        return resp.json


def register(client: FlaskClient, email: str, name: str = "", password: str = PASSWORD) -> ApiUser:
    name = name or email.split("@")[0].title()
    resp = client.post(
        "/api/v1/auth/register", json={"email": email, "name": name, "password": password}
    )
    assert resp.status_code == 201, resp.json
    tokens = client.post("/api/v1/auth/tokens", json={"email": email, "password": password})
    assert tokens.status_code == 201, tokens.json
    return ApiUser(
        client,
        resp.json["id"],
        resp.json["email"],
        resp.json["name"],
        tokens.json["access_token"],
        tokens.json["refresh_token"],
    )


@pytest.fixture
def make_user(client: FlaskClient) -> Any:
    """make_user("ann@example.com") registers a user and logs them in through the API."""

    def make(email: str, name: str = "", password: str = PASSWORD) -> ApiUser:
        return register(client, email, name, password)

    return make


@pytest.fixture
def alice(make_user: Any) -> ApiUser:
    return make_user("alice@example.com", "Alice Adams")


@pytest.fixture
def bob(make_user: Any) -> ApiUser:
    return make_user("bob@example.com", "Bob Brown")


@pytest.fixture
def carol(make_user: Any) -> ApiUser:
    return make_user("carol@example.com", "Carol Chen")


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app: Flask) -> Any:
    """`with count_queries() as counter:` counts the SQL statements sent meanwhile."""

    with app.app_context():
        engine = db.engine

    @contextlib.contextmanager
    def counting() -> Iterator[QueryCounter]:
        counter = QueryCounter()
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return counting


def table_counts(app: Flask) -> dict[str, int]:
    """Rows per table: compare before and after a refused request to show nothing changed."""
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table)) or 0
            for table in db.metadata.sorted_tables
        }


def assert_error(resp: Any, status: int, field: str | None = None, location: str = "json") -> dict:
    """An error answer in flask-smorest's shape {code, status, message?, errors?}."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    body = resp.json
    assert body["code"] == status
    assert isinstance(body["status"], str) and body["status"]
    assert set(body) <= {"code", "status", "message", "errors"}
    if field is not None:
        assert field in body["errors"][location], body
    return body


# The page tests of long columns: a board whose columns show three cards.
LONG_BOARD_PAGE = 3


@pytest.fixture
def long_board(app: Flask, client: FlaskClient, alice: ApiUser) -> dict[str, Any]:
    """Seven To Do cards (c0 … c6), one in Done; the board shows three a column."""
    from webutil import web_login

    app.config["BOARD_COLUMN_PAGE"] = LONG_BOARD_PAGE
    project = alice.create_project("Long")
    cards = [alice.create_task(project["id"], f"c{i}")["id"] for i in range(7)]
    done = alice.create_task(project["id"], "finished", status="done")["id"]
    token = web_login(client, alice.email)
    columns = alice.get(f"/api/v1/projects/{project['id']}/columns").json
    return {
        "id": project["id"],
        "cards": cards,
        "done": done,
        "csrf": token,
        "todo": columns[0]["id"],
        "done_column": columns[-1]["id"],
    }

"""The database: engine tuning, `read` for column reads, and GETs without transactions."""

from __future__ import annotations

from typing import Any

from flask import Flask, has_request_context, request
from sqlalchemy import Executable, Result, event
from sqlalchemy.orm import ORMExecuteState

from .extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
    if not event.contains(db.session, "do_orm_execute", _reads_without_transaction):
        event.listen(db.session, "do_orm_execute", _reads_without_transaction)


def _reads_without_transaction(state: ORMExecuteState) -> None:
    """On PostgreSQL, a GET's session runs its statements outside a transaction.

    A GET reads, and writes at most one row with one statement (a personal token's or a
    login session's last use; `tests/test_database.py` checks every GET route for it), so
    a transaction would buy it nothing: under READ COMMITTED each statement sees its own
    snapshot either way. It cost a BEGIN and a ROLLBACK, two round trips to the server.
    SQLite starts no transaction for reads anyway. The pool restores the connection's
    usual isolation level when the request ends, so writes keep their transactions.
    """
    session = state.session
    if session.in_transaction() or not has_request_context():
        return
    if request.method in SAFE_METHODS and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def read(statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
    """Run a read-only Core statement (columns, not ORM entities) in the ORM session.

    The same everywhere, in a request of any method, the CLI and a job: the session's
    connection, a `Result` back, and the session's own uncommitted changes seen (pending
    ones are flushed first). The reads every request repeats build their statements
    once, at import (see `services/cards.py`), and SQLAlchemy caches their compiled form.
    """
    return db.session.execute(statement, params)

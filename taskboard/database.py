"""The database: engine tuning, reads outside the ORM session, GETs without transactions."""

from __future__ import annotations

from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import Connection, Executable, Result, event
from sqlalchemy.orm import ORMExecuteState

from .extensions import db


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
    app.teardown_appcontext(_close_read_connection)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reads_without_transaction(state: ORMExecuteState) -> None:
    """On PostgreSQL, a GET's ORM session runs its statements outside a transaction.

    GETs only read (the one write a GET can make, a personal token's last use, is a
    single statement). Under READ COMMITTED every statement sees its own snapshot whether
    or not a transaction surrounds it, so one bought nothing but a BEGIN and a ROLLBACK:
    two round trips to the server. SQLite starts no transaction for reads anyway. Done as
    the session's first statement is about to run, so a GET that never needs the session
    (see `read`) never opens one. The pool restores the connection's usual isolation level
    when the request ends, so writes keep their transactions.
    """
    session = state.session
    if session.in_transaction() or not has_request_context():
        return
    if request.method in SAFE_METHODS and session.get_bind().dialect.name == "postgresql":
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def read(statement: Executable, params: dict[str, Any] | None = None) -> Result[Any]:
    """Run a read-only Core statement (columns, not ORM entities).

    In a GET, HEAD or OPTIONS request it runs on the request's read connection, outside
    the ORM session: the API's hot reads (the bearer's token, a task, a page of the board)
    then never open a session, whose set-up, transaction bookkeeping and close cost more
    than the statements (a fifth of a one-task request). Where the session is already
    open (the pages load their user through it first), its connection serves: one
    connection per request, so each thread keeps one SQLite page cache, not two. Reads of
    a safe request see what they would in the session: SQLite starts no transaction for
    reads, PostgreSQL's GETs run without one (`_reads_without_transaction`). Any other
    request, and code outside a request (the CLI, the worker), runs it in the ORM
    session, which sees its own uncommitted changes.
    """
    if has_request_context() and request.method in SAFE_METHODS:
        connection = g.get("read_connection")
        if connection is None:
            if db.session.registry.has() and db.session().in_transaction():
                return db.session.connection().execute(statement, params)
            connection = g.read_connection = _read_connection()
        return connection.execute(statement, params)
    return db.session.execute(statement, params)


def _read_connection() -> Connection:
    connection = db.engine.connect()
    if connection.dialect.name == "postgresql":
        connection.execution_options(isolation_level="AUTOCOMMIT")
    return connection


def _close_read_connection(_exc: BaseException | None = None) -> None:
    connection = g.pop("read_connection", None)
    if connection is not None:
        connection.close()

"""Engine tuning per database."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from sqlalchemy import event

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
        if engine.dialect.name == "postgresql":
            app.before_request(_reads_without_transaction)


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reads_without_transaction() -> None:
    """Run a GET's statements outside a transaction (registered on PostgreSQL only).

    GETs only read (the one write a GET can make, a personal token's last use, is a
    single statement). Under READ COMMITTED every statement sees its own snapshot whether
    or not a transaction surrounds it, so one bought nothing but a BEGIN and a ROLLBACK:
    two of an API list request's six round trips to the server. SQLite starts no
    transaction for reads anyway. The pool restores the connection's usual isolation
    level when the request ends, so writes keep their transactions.
    """
    if request.method not in SAFE_METHODS or request.endpoint in (None, "static"):
        return
    session = db.session()
    if not session.in_transaction():
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})

"""Which connection a request's database work runs on: one per request that only reads.

A GET, HEAD or OPTIONS request runs all of its statements, the ORM session's and
`database.read`'s, on one connection: the request's, opened on first use and given back
when the request ends. `read` can use it without beginning the session, whose set-up and
close cost more than the hot reads' statements (the bearer's token, a task, a page of
the board); a session that begins later joins it. On PostgreSQL it runs in autocommit: a
GET reads, and writes at most one row with one statement (a personal token's or a login
session's last use; `tests/test_database.py` checks every GET route for it), so a
transaction would buy it nothing but a BEGIN and a ROLLBACK. SQLite starts no
transaction for reads anyway. The pool restores the usual isolation level when the
connection goes back.

Everywhere else (a POST, the CLI, a job) the session opens its own connection on the
engine, as Flask-SQLAlchemy's does, and `read` runs on it. Once such a request has
committed, what it reads next (its answer: the card it changed, as a GET would read it)
runs on the request's connection too, rather than in a transaction of its own; should the
session begin again, it gives that connection back first, so a request never holds two.
"""

from __future__ import annotations

from typing import Any

import flask_sqlalchemy.session
from flask import g, has_request_context, request
from sqlalchemy import Connection, Engine

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_KEY = "request_connection"
_MEMO = "request_read_memo"
_COMMITTED = "request_committed"


def in_safe_request() -> bool:
    return has_request_context() and request.method in SAFE_METHODS


def request_connection(engine: Engine) -> Connection:
    """The safe request's connection, opened on first use."""
    connection: Connection | None = g.get(_KEY)
    if connection is None:
        connection = engine.connect()
        if connection.dialect.name == "postgresql":
            connection.execution_options(isolation_level="AUTOCOMMIT")
        setattr(g, _KEY, connection)
    return connection


def pop_request_connection() -> Connection | None:
    g.pop(_MEMO, None)
    g.pop(_COMMITTED, None)
    return g.pop(_KEY, None)


def after_commit(_session: Any) -> None:
    """The session committed (an event listener): in a request, its later reads are
    a GET's."""
    if has_request_context():
        setattr(g, _COMMITTED, True)


def reads_on_request_connection() -> bool:
    """Whether `read`, outside the session's transaction, takes the request's connection:
    in a safe request, and in any other once it has committed."""
    return has_request_context() and (request.method in SAFE_METHODS or _COMMITTED in g)


def read_memo() -> dict[Any, Any] | None:
    """What a safe request has found out and may reuse (a membership it checked): it
    changes nothing, so what it read holds until it ends. None in any other request."""
    if not in_safe_request():
        return None
    memo: dict[Any, Any] | None = g.get(_MEMO)
    if memo is None:
        memo = {}
        setattr(g, _MEMO, memo)
    return memo


class Session(flask_sqlalchemy.session.Session):
    """Flask-SQLAlchemy's session, bound to the request's connection in a safe request.

    The session joins the connection with `join_transaction_mode="control_fully"`: its
    commit commits the connection's transaction (a GET's one write on SQLite), and its
    close rolls back whatever is left. A session that had begun before the request (a
    test's application context around the client) keeps the connection it has.
    """

    def get_bind(
        self,
        mapper: Any | None = None,
        clause: Any | None = None,
        bind: Engine | Connection | None = None,
        **kwargs: Any,
    ) -> Engine | Connection:
        found = super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)
        if bind is None and not self.in_transaction() and isinstance(found, Engine):
            if in_safe_request():
                return request_connection(found)
            if has_request_context() and _KEY in g:  # read after a commit, now a write
                connection = pop_request_connection()
                if connection is not None:
                    connection.close()
        return found

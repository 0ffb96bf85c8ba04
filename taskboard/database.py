"""The database: engine tuning, reads outside the ORM session, GETs without transactions."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Sequence
from typing import Any

from flask import Flask, g, has_request_context, request
from sqlalchemy import Connection, Dialect, Executable, Result, Select, event
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


class Rows(list):  # type: ignore[type-arg]
    """A prepared statement's rows (named tuples), with the `Result` methods reads use."""

    def all(self) -> Rows:
        return self

    def first(self) -> Any:
        return self[0] if self else None

    def scalar(self) -> Any:
        return self[0][0] if self else None


class _Plan:
    """A statement compiled for one dialect: its SQL, how to bind, how to read the rows."""

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        self.compiled = statement.compile(dialect=dialect)
        # Expanding parameters (`IN` lists) make the SQL anew for each set of values.
        self.expanding = bool(
            self.compiled.post_compile_params or self.compiled.literal_execute_params
        )
        self.processors = self.compiled._bind_processors
        self.positions = self.compiled.positiontup
        names = [entry.keyname for entry in self.compiled._result_columns]
        self.row = namedtuple("Row", names, rename=True)  # type: ignore[misc]
        self.columns: list[tuple[int, Callable[[Any], Any]]] | None = None  # at first rows

    def run(self, cursor: Any, params: dict[str, Any] | None) -> Rows:
        if self.expanding:
            state = self.compiled.construct_expanded_state(params)
            sql, values, processors, positions = (
                state.statement,
                state.parameters,
                state.processors,
                state.positiontup,
            )
        else:
            sql, processors, positions = self.compiled.string, self.processors, self.positions
            values = self.compiled.construct_params(params)
        for name, process in processors.items():
            values[name] = process(values[name])  # type: ignore[operator]
        cursor.execute(sql, [values[name] for name in positions] if positions else values)
        fetched = cursor.fetchall()
        if self.columns is None:
            self.columns = self._result_processors(cursor.description)
        make, columns = self.row._make, self.columns
        if not columns:
            return Rows(map(make, fetched))
        rows = Rows()
        for raw in fetched:
            values_ = list(raw)
            for index, process in columns:
                values_[index] = process(values_[index])
            rows.append(make(values_))
        return rows

    def _result_processors(
        self, description: Sequence[Sequence[Any]]
    ) -> list[tuple[int, Callable[[Any], Any]]]:
        """Each column type's own conversion of the driver's value (as SQLAlchemy would)."""
        dialect, found = self.compiled.dialect, []
        for index, entry in enumerate(self.compiled._result_columns):
            process = entry.type._cached_result_processor(dialect, description[index][1])
            if process is not None:
                found.append((index, process))
        return found


class Prepared:
    """A Core SELECT built once, run on the driver's cursor by `read`.

    SQLAlchemy's execution of a statement (cache key, execution context, result object)
    costs several times what the driver takes to run it: for the reads every API request
    makes (its token, one task, a page of the board) that was most of their database time.
    A prepared statement is compiled once per dialect; its values go through the column
    types' bind and result processors, as SQLAlchemy's execution would, and its rows are
    named tuples. Where the engine has event listeners or echoes its SQL, SQLAlchemy runs
    the statement instead, so they see it.
    """

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan] = {}

    def run(self, connection: Connection, params: dict[str, Any] | None) -> Rows:
        if connection._has_events or connection.engine._has_events or connection._echo:
            # Someone listens to or logs the engine's statements (SQL echo, tracing, a
            # test counting queries): SQLAlchemy runs it, and tells them.
            return Rows(connection.execute(self.statement, params))
        dialect = connection.dialect
        plan = self._plans.get(dialect)
        if plan is None:
            if len(self._plans) >= 4:  # one engine per process; a bound for tests' many
                self._plans.clear()
            plan = self._plans[dialect] = _Plan(self.statement, dialect)
        cursor = connection.connection.cursor()
        try:
            return plan.run(cursor, params)
        except dialect.loaded_dbapi.Error:
            # Run again by SQLAlchemy, which recognises a lost connection (and drops it
            # from the pool) and raises its own exceptions, as the rest of the app expects.
            return Rows(connection.execute(self.statement, params))
        finally:
            cursor.close()


def read(
    statement: Executable | Prepared, params: dict[str, Any] | None = None
) -> Result[Any] | Rows:
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
    session, which sees its own uncommitted changes (and flushes pending ones first).

    A `Prepared` statement runs on that connection's driver cursor and gives `Rows`; in
    the session it is executed as its plain statement and gives a `Result`. Both answer
    `all()`, `first()`, iteration and rows by name or index.
    """
    if has_request_context() and request.method in SAFE_METHODS:
        connection = g.get("read_connection")
        if connection is None:
            if db.session.registry.has() and db.session().in_transaction():
                connection = db.session.connection()
            else:
                connection = g.read_connection = _read_connection()
        if type(statement) is Prepared:
            return statement.run(connection, params)
        return connection.execute(statement, params)
    if type(statement) is Prepared:
        statement = statement.statement  # the session flushes pending changes first
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

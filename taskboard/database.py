"""The database: engine tuning, and `read` for column reads."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import Flask
from sqlalchemy import Connection, Dialect, Engine, Select, event, exc

from . import writers
from .connection import (
    after_commit,
    pop_request_connection,
    reads_on_request_connection,
    request_connection,
)
from .extensions import db

BUSY_TIMEOUT_S = 10  # how long a writer waits for another (thread or process) to finish


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    cursor.close()


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite" and not event.contains(
            engine, "connect", _sqlite_pragmas
        ):
            event.listen(engine, "connect", _sqlite_pragmas)
            app.extensions["taskboard_writers"] = writers.install(engine, BUSY_TIMEOUT_S)
    if not event.contains(db.session, "do_orm_execute", writers.before_execute):
        event.listen(db.session, "do_orm_execute", writers.before_execute)
        event.listen(db.session, "before_flush", writers.before_flush)
        event.listen(db.session, "after_transaction_end", writers.after_transaction_end)
        event.listen(db.session, "after_commit", after_commit)
    app.teardown_request(_end_request_connection)


class Rows(list):  # type: ignore[type-arg]
    """The rows of a read, with the `Result` methods reads use. What `read` gives for
    every statement, run the fast way or by SQLAlchemy: rows by name and by index."""

    def all(self) -> Rows:
        return self

    def first(self) -> Any:
        return self[0] if self else None

    def one(self) -> Any:
        if len(self) != 1:
            raise exc.NoResultFound("no row") if not self else exc.MultipleResultsFound("rows")
        return self[0]

    def one_or_none(self) -> Any:
        if len(self) > 1:
            raise exc.MultipleResultsFound("more than one row")
        return self.first()

    def scalar(self) -> Any:
        return self[0][0] if self else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def scalars(self) -> Rows:
        return Rows(row[0] for row in self)


def _has_listeners(engine: Engine) -> bool:
    """Whether anything listens to the engine's statements (tracing, a test counting
    queries). SQLAlchemy offers no public question for "any listener at all", so this
    reads `Engine._has_events`, the flag its own execution checks; `tests/test_database.py`
    fails loudly if the flag disappears or stops following `event.listen`.

    The one private attribute left, kept for `Prepared`, whose gain `bench/costs.py
    --no-prepared` measured at 2026-12-02 (SQLite, medians of 500): one task 0.255 ms
    without against 0.177 ms with, a page of 50 tasks 1.34 against 0.97 ms (PostgreSQL:
    0.82 / 0.66 and 2.38 / 1.87 ms), 20 to 31 % of the request."""
    return bool(engine._has_events)


class _Plan:
    """A statement compiled for one dialect: its SQL, how to bind, how to read the rows.

    Built from SQLAlchemy's public compiler and type APIs: the compiled string and
    parameter order, each bound parameter's type's `bind_processor`, each selected
    column's type's `result_processor` (the conversions SQLAlchemy's own execution uses).
    """

    def __init__(self, statement: Select, dialect: Dialect) -> None:
        self.dialect = dialect
        self.compiled = statement.compile(dialect=dialect)
        # Expanding parameters (`IN` lists) make the SQL anew for each set of values.
        self.expanding = any(bind.expanding for bind in self.compiled.binds.values())
        self.processors = self._bind_processors(self.compiled.binds.items())
        self.positions = self.compiled.positiontup
        columns = list(statement.selected_columns)
        names = [column.key for column in columns]
        if len(set(names)) != len(names) or not all(n and n.isidentifier() for n in names):
            raise ValueError(f"give each column of a prepared statement a name: {names}")
        self.types = [column.type for column in columns]
        self.row = namedtuple("Row", names)  # type: ignore[misc]
        self.columns: list[tuple[int, Callable[[Any], Any]]] | None = None  # at first rows

    def _bind_processors(self, binds: Iterable[tuple[str, Any]]) -> dict[str, Callable[[Any], Any]]:
        """Each parameter's type's conversion, by the parameter's name in the SQL."""
        found = {}
        for name, bind in binds:
            process = bind.type.dialect_impl(self.dialect).bind_processor(self.dialect)
            if process is not None:
                found[name] = process
        return found

    def sql_and_values(self, params: dict[str, Any] | None) -> tuple[str, Any]:
        if self.expanding:
            state = self.compiled.construct_expanded_state(params)
            sql, values, positions = state.statement, state.parameters, state.positiontup
            # The expanded lists' processors, and those of every other parameter.
            processors = {**self.processors, **state.processors}
        else:
            sql, processors, positions = self.compiled.string, self.processors, self.positions
            values = self.compiled.construct_params(params)
        for name, process in processors.items():
            if name in values:
                values[name] = process(values[name])
        return sql, [values[name] for name in positions] if positions else values

    def rows(self, fetched: list[Any], description: Any) -> Rows:
        if self.columns is None:
            self.columns = [
                (index, process)
                for index, type_ in enumerate(self.types)
                if (
                    process := type_.dialect_impl(self.dialect).result_processor(
                        self.dialect, description[index][1]
                    )
                )
                is not None
            ]
        make, columns = self.row._make, self.columns
        if not columns:
            return Rows(map(make, fetched))
        rows = Rows()
        for raw in fetched:
            values = list(raw)
            for index, process in columns:
                values[index] = process(values[index])
            rows.append(make(values))
        return rows


class Prepared:
    """A Core SELECT built once and compiled once per dialect, run by `read` on the
    driver's cursor of the session's connection.

    SQLAlchemy's execution of a statement (cache key, execution context, result object)
    costs several times what the driver takes to run it; for the reads every request
    makes (its token, one task, a page of the board) that was most of their database time.
    `bench/costs.py --no-prepared` measures what it saves (docs/performance.md). Where
    something listens to the engine's statements or the engine echoes them, SQLAlchemy
    runs the statement instead, so they see it.
    """

    __slots__ = ("_plans", "statement")

    def __init__(self, statement: Select) -> None:
        self.statement = statement
        self._plans: dict[Dialect, _Plan] = {}

    def plan(self, dialect: Dialect) -> _Plan:
        plan = self._plans.get(dialect)
        if plan is None:
            if len(self._plans) >= 4:  # one engine per process; a bound for tests' many
                self._plans.clear()
            plan = self._plans[dialect] = _Plan(self.statement, dialect)
        return plan

    def run(self, connection: Connection, params: dict[str, Any] | None) -> Rows:
        engine = connection.engine
        if engine.echo or _has_listeners(engine):
            return Rows(connection.execute(self.statement, params))
        plan = self.plan(connection.dialect)
        sql, values = plan.sql_and_values(params)
        dbapi_connection = connection.connection
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(sql, values)
            return plan.rows(cursor.fetchall(), cursor.description)
        except connection.dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy's execution would: its exception, and a lost connection is
            # dropped from the pool rather than handed to the next request.
            if connection.dialect.is_disconnect(error, dbapi_connection, cursor):
                connection.invalidate(error)
            raise exc.DBAPIError.instance(
                sql, values, error, connection.dialect.loaded_dbapi.Error
            ) from error
        finally:
            cursor.close()

    def __iter__(self) -> Iterator[Any]:  # not iterable: a statement, not its rows
        raise TypeError("run a Prepared statement with read()")


def read(statement: Select | Prepared, params: dict[str, Any] | None = None) -> Rows:
    """Run a read-only Core statement (columns, not ORM entities); its `Rows`, whatever
    the statement and wherever it runs.

    It runs where the ORM session runs, pending changes flushed first as the session
    would (`taskboard.connection` says which connection that is). In a safe request, and
    in any other once it has committed, it takes the request's connection without
    beginning the session.

    A `Prepared` statement runs on that connection's driver cursor; any other by SQLAlchemy.
    """
    connection = _connection_for_read()
    if type(statement) is Prepared:
        return statement.run(connection, params)
    return Rows(connection.execute(statement, params))


def _connection_for_read() -> Connection:
    session = db.session() if db.session.registry.has() else None
    if session is not None and (session.new or session.deleted or session.dirty):
        session.flush()
    if (session is None or not session.in_transaction()) and reads_on_request_connection():
        return request_connection(db.engine)
    return db.session.connection()


def _end_request_connection(_exc: BaseException | None = None) -> None:
    """Give back the request's connection, ending the session's transaction on it."""
    connection = pop_request_connection()
    if connection is None:
        return
    if db.session.registry.has():
        session = db.session()
        if session.in_transaction() and session.connection() is connection:
            session.close()
    connection.close()

"""Migrations never lose data, on SQLite and on PostgreSQL.

For every revision of the script directory (a migration is covered once its file exists):
a database at that revision, filled with rows through that revision's own schema, then

- upgraded to head keeps every row (by primary key) of every table that still exists,
  and every value of every column that still exists;
- downgraded one step keeps the rows and values of what both revisions have, and
  upgrades to the revision again.

The rows come from the reflected schema: values per column type, foreign keys pointing
at rows inserted before, values inside the CHECK constraints the migrations declare
(`IN (...)` lists and numeric bounds). A column whose rule this cannot read gets an entry
in `OVERRIDES`; a migration that rewrites values on purpose, one in `UPGRADE_TRANSFORMS`
or `DOWNGRADE_TRANSFORMS`, with its reason; a step known to fail, one in
`KNOWN_UPGRADE_FAILURES` or `KNOWN_DOWNGRADE_FAILURES`.

The PostgreSQL half is marked slow (with SQLite, the file takes over a minute).
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from conftest import BASE_CONFIG
from flask_migrate import downgrade, upgrade

from taskboard import create_app
from taskboard.extensions import db


def _script_directory() -> ScriptDirectory:
    """The migrations as flask-migrate configures them for the app."""
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        db.engine.dispose()
    return ScriptDirectory.from_config(config)


SCRIPTS = _script_directory()
REVISIONS: list[str] = [s.revision for s in reversed(list(SCRIPTS.walk_revisions()))]
HEADS: frozenset[str] = frozenset(SCRIPTS.get_heads())

# Values a migration rewrites on purpose, as (revision, table, column): why. An upgrade
# entry applies to databases that start before its revision; a downgrade entry to the
# step down from its revision. No upgrade rewrites a value yet: their data steps fill
# only the columns they add (0f1448306748 auth_tokens.family_id, 4e2529196383
# tasks.column_id, ee04e6bbbbfb users.notify_mode), which the old rows never had.
UPGRADE_TRANSFORMS: dict[tuple[str, str, str], str] = {}
DOWNGRADE_TRANSFORMS: dict[tuple[str, str, str], str] = {
    ("4e2529196383", "tasks", "position"): (
        "the cards' positions are renumbered 0, 1, ... per project and status, in column "
        "order: before board columns a card's place was its position within its status"
    ),
    ("ee04e6bbbbfb", "notifications", "status"): (
        "the statuses this revision adds map to older ones: a digest entry not yet sent "
        "becomes mail to send ('pending'), an inbox-only entry one never mailed ('skipped')"
    ),
}

# Steps known to fail or to lose rows, by (revision, backend): why. Their tests are
# marked `xfail(strict=True)`, so an entry has to go once its step is mended. An upgrade
# entry marks the upgrades from every earlier revision, which run its step.
KNOWN_UPGRADE_FAILURES: dict[tuple[str, str], tuple[str, type[BaseException]]] = {}
KNOWN_DOWNGRADE_FAILURES: dict[tuple[str, str], tuple[str, type[BaseException]]] = {}


# Rows per table; few projects and more tasks, so every project has cards of several
# statuses and positions and the board-columns migration has real work.
ROWS = 8
ROWS_PER_TABLE: dict[str, int] = {"projects": 3, "tasks": 24}

# Values for columns whose rules the generic values cannot meet, by (table, column):
# a function of the row's number and the row's random generator.
OVERRIDES: dict[tuple[str, str], Callable[[int, random.Random], Any]] = {}

BASE_TIME = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)


# -- Databases ---------------------------------------------------------------------------


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture
def empty_database(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return request.getfixturevalue("postgres").create_database("taskboard_upgrades")


@contextmanager
def _app_context(url: str) -> Iterator[None]:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        try:
            yield
        finally:
            db.session.remove()
            db.engine.dispose()


def _reflect(conn: sa.Connection) -> sa.MetaData:
    metadata = sa.MetaData()
    metadata.reflect(bind=conn)
    metadata.remove(metadata.tables["alembic_version"])
    return metadata


def _down_revisions(revision: str) -> set[str]:
    script = SCRIPTS.get_revision(revision)
    assert script is not None
    down = script.down_revision
    if down is None:
        return set()
    return set(down) if isinstance(down, tuple | list) else {down}


def _current_revisions() -> set[str]:
    with db.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


# -- Values ------------------------------------------------------------------------------


def _kind(column: sa.Column[Any], dialect: str) -> str:
    """What a reflected column holds, as the app stores it (a UUID is CHAR(32) on SQLite)."""
    type_ = column.type
    if isinstance(type_, sa.Uuid) or (
        dialect == "sqlite" and isinstance(type_, sa.CHAR) and type_.length == 32
    ):
        return "uuid"
    kinds: tuple[tuple[str, type], ...] = (
        ("json", sa.JSON),
        ("bool", sa.Boolean),
        ("datetime", sa.DateTime),
        ("date", sa.Date),
        ("small", sa.SmallInteger),
        ("big", sa.BigInteger),
        ("int", sa.Integer),
        ("numeric", sa.Numeric),
        ("binary", sa.LargeBinary),
        ("string", sa.String),
    )
    for kind, types in kinds:
        if isinstance(type_, types):
            return kind
    raise TypeError(
        f"no values for {column.table.name}.{column.name} of type {type_!r}: teach _kind "
        "and _value the type, or add the column to OVERRIDES"
    )


def _value(column: sa.Column[Any], kind: str, number: int, rng: random.Random) -> Any:
    """A value of the column's kind for row `number`."""
    if kind == "uuid":
        return uuid.UUID(int=rng.getrandbits(128), version=4)
    if kind == "string":
        text = f"{number}·{column.table.name}.{column.name} «ü» it's"
        length = getattr(column.type, "length", None)
        return text[:length] if length else f'{text}\nline "2"'
    if kind == "small":
        return rng.randint(0, 2**15 - 1)
    if kind == "int":
        return rng.randint(0, 2**31 - 1)
    if kind == "big":
        return rng.randint(2**31, 2**53)
    if kind == "bool":
        return (number + list(column.table.columns).index(column)) % 2 == 0
    if kind == "datetime":
        return BASE_TIME + timedelta(
            seconds=rng.randrange(10**8), microseconds=rng.randrange(10**6)
        )
    if kind == "date":
        return BASE_TIME.date() + timedelta(days=rng.randrange(10**4))
    if kind == "json":
        return {"row": number, "text": 'ü "q"', "items": [1, 2.5, None, True, {"n": []}]}
    if kind == "numeric":
        return Decimal(rng.randrange(10**6)) / 4
    if kind == "binary":
        return rng.randbytes(16)
    raise AssertionError(kind)


def _stored(value: Any, kind: str, column: sa.Column[Any], dialect: str) -> Any:
    """The value as the app writes it through the reflected column's type."""
    if value is None:
        return None
    if kind == "uuid" and dialect == "sqlite":
        return value.hex
    if kind == "datetime" and (dialect == "sqlite" or not column.type.timezone):
        return value.astimezone(UTC).replace(tzinfo=None)  # naive UTC, as UTCDateTime does
    return value


def _normal(value: Any, kind: str) -> Any:
    """A value read back, in a form equal to the written one whatever the driver gives."""
    if value is None:
        return None
    if kind == "uuid":
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    if kind == "datetime":
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
    if kind == "date" and isinstance(value, str):
        return date.fromisoformat(value)
    if kind == "json" and isinstance(value, str):
        return json.loads(value)
    if kind == "bool":
        return bool(value)
    if kind in ("small", "int", "big"):
        return int(value)
    if kind == "numeric":
        return Decimal(str(value))
    if kind == "binary":
        return bytes(value)
    return value


# -- CHECK constraints -------------------------------------------------------------------


@dataclass
class Domain:
    """The values a CHECK constraint allows a column: a list, or bounds."""

    choices: list[str] | None = None
    low: int | None = None
    high: int | None = None

    def pick(self, number: int) -> Any:
        if self.choices is not None:
            return self.choices[number % len(self.choices)]
        if self.low is not None and self.high is not None:
            return self.low + number % (self.high - self.low + 1)
        if self.low is not None:
            return self.low + number
        assert self.high is not None
        return self.high - number


_LITERAL = re.compile(r"'((?:[^']|'')*)'")
_CAST = re.compile(r"::[a-z ]+(\[\])?", re.IGNORECASE)
_BETWEEN = re.compile(r"\bBETWEEN\s+(-?\d+)\s+AND\s+(-?\d+)", re.IGNORECASE)
_COMPARISON = re.compile(r"(>=|<=|>|<)\s*(-?\d+)")


def _domains(table: sa.Table) -> dict[str, Domain]:
    """What each column's CHECK constraints allow, read from their SQL (SQLite keeps the
    migration's text, PostgreSQL its own form: `= ANY (ARRAY[...])`, `>= 0 AND <= 2`)."""
    domains: dict[str, Domain] = {}
    for check in table.constraints:
        if not isinstance(check, sa.CheckConstraint):
            continue
        sql = str(check.sqltext)
        literals = [text.replace("''", "'") for text in _LITERAL.findall(sql)]
        bare = _CAST.sub("", _LITERAL.sub("''", sql)).replace('"', "")
        names = [c.name for c in table.columns if re.search(rf"\b{re.escape(c.name)}\b", bare)]
        if len(names) == 1 and (table.name, names[0]) in OVERRIDES:
            continue
        if len(names) != 1:
            raise AssertionError(
                f"{table.name}: cannot read the check {check.name} ({sql}); give its "
                f"columns {names} values in OVERRIDES"
            )
        domain = domains.setdefault(names[0], Domain())
        if literals:
            domain.choices = literals
            continue
        bounds = [(int(low), int(high)) for low, high in _BETWEEN.findall(bare)]
        for operator, number in _COMPARISON.findall(_BETWEEN.sub("", bare)):
            limit = int(number)
            bounds.append(
                {
                    ">=": (limit, None),
                    ">": (limit + 1, None),
                    "<=": (None, limit),
                    "<": (None, limit - 1),
                }[operator]
            )
        if not bounds:
            raise AssertionError(
                f"{table.name}: cannot read the check {check.name} ({sql}); give "
                f"{table.name}.{names[0]} values in OVERRIDES"
            )
        for low, high in bounds:
            if low is not None:
                domain.low = low if domain.low is None else max(domain.low, low)
            if high is not None:
                domain.high = high if domain.high is None else min(domain.high, high)
    return domains


# -- Filling -----------------------------------------------------------------------------


@dataclass
class Filled:
    """The rows written at one revision, normalised, by table and primary key."""

    kinds: dict[str, dict[str, str]] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rows: dict[str, dict[tuple[Any, ...], dict[str, Any]]] = field(default_factory=dict)

    def row_count(self) -> int:
        return sum(len(rows) for rows in self.rows.values())


def _unique_sets(table: sa.Table) -> list[tuple[str, ...]]:
    sets = [tuple(c.name for c in table.primary_key.columns)]
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            sets.append(tuple(c.name for c in constraint.columns))
    for index in table.indexes:
        if index.unique:
            sets.append(tuple(c.name for c in index.columns))
    return [s for s in sets if s]


def _rows_for(table: sa.Table, dialect: str, filled: Filled) -> list[dict[str, Any]]:
    """The table's rows as Python values: unique where the table says so, referring to
    rows inserted before, inside its checks; some NULLs in nullable columns."""
    kinds = filled.kinds[table.name] = {c.name: _kind(c, dialect) for c in table.columns}
    domains = _domains(table)
    foreign_keys = [fk for fk in table.constraints if isinstance(fk, sa.ForeignKeyConstraint)]
    in_foreign_key = {c.name for fk in foreign_keys for c in fk.columns}
    key_columns = list(table.primary_key.columns)
    integer_key = len(key_columns) == 1 and kinds[key_columns[0].name] in ("small", "int", "big")
    unique_sets = _unique_sets(table)
    seen: dict[tuple[str, ...], set[tuple[Any, ...]]] = {s: set() for s in unique_sets}
    wanted = ROWS_PER_TABLE.get(table.name, ROWS)
    rows: list[dict[str, Any]] = []
    for attempt in range(wanted * 50):
        if len(rows) == wanted:
            break
        number = len(rows)
        rng = random.Random(f"{table.name}:{number}:{attempt}")
        row: dict[str, Any] = {}
        for fk in foreign_keys:
            referred = filled.rows.get(fk.referred_table.name, {})
            if fk.referred_table.name == table.name:
                referred = {tuple(r[c] for c in filled.keys[table.name]): r for r in rows}
            nullable = all(c.nullable for c in fk.columns)
            if not referred or (nullable and number % 4 == 3):
                assert nullable, f"{table.name}: {fk.referred_table.name} has no rows to refer to"
                row.update({c.name: None for c in fk.columns})
                continue
            target = rng.choice(list(referred.values()))
            for element in fk.elements:
                row[element.parent.name] = target[element.column.name]
        for column in table.columns:
            name = column.name
            if name in in_foreign_key:
                continue
            if (table.name, name) in OVERRIDES:
                row[name] = OVERRIDES[table.name, name](number, rng)
            elif column.nullable and not column.primary_key and number % 4 == 3:
                row[name] = None
            elif column.primary_key and integer_key:
                row[name] = number + 1
            elif name in domains:
                row[name] = domains[name].pick(number)
            else:
                row[name] = _value(column, kinds[name], number, rng)
        values = {n: _normal(v, kinds[n]) for n, v in row.items()}
        keys = {s: tuple(values[c] for c in s) for s in unique_sets}
        if any(None not in key and key in seen[s] for s, key in keys.items()):
            continue
        for s, key in keys.items():
            seen[s].add(key)
        rows.append(values)
    assert len(rows) == wanted, f"{table.name}: could not make {wanted} distinct rows"
    return rows


def fill(engine: sa.Engine) -> Filled:
    """Rows in every table of the database's schema, written through that schema."""
    dialect = engine.dialect.name
    filled = Filled()
    with engine.begin() as conn:
        for table in _reflect(conn).sorted_tables:
            key = filled.keys[table.name] = tuple(c.name for c in table.primary_key.columns)
            assert key, f"{table.name} has no primary key to find its rows by"
            rows = _rows_for(table, dialect, filled)
            kinds = filled.kinds[table.name]
            stored = [
                {n: _stored(v, kinds[n], table.c[n], dialect) for n, v in row.items()}
                for row in rows
            ]
            try:
                conn.execute(table.insert(), stored)
            except sa.exc.DBAPIError as error:
                error.add_note(
                    f"filling {table.name}: give the column whose rule failed values in OVERRIDES"
                )
                raise
            filled.rows[table.name] = {tuple(r[c] for c in key): r for r in rows}
    return filled


# -- Checking ----------------------------------------------------------------------------


def missing(
    engine: sa.Engine,
    filled: Filled,
    transformed: set[tuple[str, str]],
    only: dict[str, set[str]] | None = None,
) -> list[str]:
    """What of the filled rows the database no longer has: rows, or values of columns it
    still has (`only`: just these tables and columns); `transformed` columns not compared."""
    problems: list[str] = []
    with engine.connect() as conn:
        tables = _reflect(conn).tables
        for name, rows in filled.rows.items():
            if name not in tables or (only is not None and name not in only):
                continue
            table, kinds, key = tables[name], filled.kinds[name], filled.keys[name]
            columns = set(table.c.keys()) & (only[name] if only is not None else set(kinds))
            if not set(key) <= columns:
                problems.append(f"{name}: its key {key} is gone, its rows cannot be found")
                continue
            found = {
                tuple(_normal(row[c], kinds[c]) for c in key): row
                for row in conn.execute(sa.select(table)).mappings()
            }
            lost = [k for k in rows if k not in found]
            if lost:
                problems.append(f"{name}: {len(lost)} of {len(rows)} rows lost, e.g. {lost[0]}")
            for k, expected in rows.items():
                if k not in found:
                    continue
                for column in sorted(columns - {c for t, c in transformed if t == name}):
                    actual = _normal(found[k][column], kinds[column])
                    if actual != expected[column]:
                        problems.append(
                            f"{name}.{column} of {k}: {expected[column]!r} became {actual!r}"
                        )
    return problems


def _columns(engine: sa.Engine) -> dict[str, set[str]]:
    with engine.connect() as conn:
        return {t.name: set(t.c.keys()) for t in _reflect(conn).sorted_tables}


def _report(problems: list[str], limit: int = 25) -> str:
    more = f"\n... and {len(problems) - limit} more" if len(problems) > limit else ""
    return "\n".join(problems[:limit]) + more


# -- Tests -------------------------------------------------------------------------------


def _known_failure(test: str, revision: str, backend: str) -> Any:
    """The known failure a test meets: an upgrade's first failing step on the way to
    head; a downgrade's step down, or its step up again."""
    if test == "upgrade":
        steps = [s.revision for s in SCRIPTS.iterate_revisions("heads", revision)]
        known = [KNOWN_UPGRADE_FAILURES.get((step, backend)) for step in reversed(steps)]
    else:
        known = [
            KNOWN_DOWNGRADE_FAILURES.get((revision, backend)),
            KNOWN_UPGRADE_FAILURES.get((revision, backend)),
        ]
    return next((k for k in known if k is not None), None)


def _params(test: str, revisions: list[str]) -> list[Any]:
    """Each revision on each database; the known failures marked."""
    params = []
    for revision in revisions:
        for backend in BACKENDS:
            marks: list[Any] = []
            if backend == "postgresql":
                marks += [pytest.mark.postgres, pytest.mark.slow]
            known = _known_failure(test, revision, backend)
            if known is not None:
                reason, raises = known
                marks.append(pytest.mark.xfail(strict=True, reason=reason, raises=raises))
            params.append(pytest.param(revision, backend, marks=marks, id=f"{revision}-{backend}"))
    return params


@pytest.mark.parametrize(
    ("revision", "backend"), _params("upgrade", [r for r in REVISIONS if r not in HEADS])
)
def test_upgrade_to_head_keeps_every_row(revision: str, empty_database: str) -> None:
    with _app_context(empty_database):
        upgrade(revision=revision)
        filled = fill(db.engine)
        assert filled.row_count() > 0
        upgrade()
        assert _current_revisions() == set(HEADS)
        applied = {s.revision for s in SCRIPTS.iterate_revisions("heads", revision)}
        transformed = {(t, c) for (r, t, c) in UPGRADE_TRANSFORMS if r in applied}
        problems = missing(db.engine, filled, transformed)
    assert not problems, f"upgrading from {revision} to head lost data:\n{_report(problems)}"


@pytest.mark.parametrize(("revision", "backend"), _params("downgrade", REVISIONS))
def test_downgrade_one_step_keeps_rows_and_upgrades_again(
    revision: str, empty_database: str
) -> None:
    with _app_context(empty_database):
        upgrade(revision=revision)
        filled = fill(db.engine)
        downgrade(revision="-1")
        assert _current_revisions() == _down_revisions(revision)
        transformed = {(t, c) for (r, t, c) in DOWNGRADE_TRANSFORMS if r == revision}
        kept = _columns(db.engine)
        problems = missing(db.engine, filled, transformed, only=kept)
        assert not problems, f"downgrading {revision} lost data:\n{_report(problems)}"

        upgrade(revision=revision)
        assert _current_revisions() == {revision}
        problems = missing(db.engine, filled, transformed, only=kept)
    assert not problems, f"upgrading to {revision} again lost data:\n{_report(problems)}"

"""Column types: what the database returns comes back as the services expect it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from taskboard.extensions import db
from taskboard.models import STATUSES, StatusType, UTCDateTime


def test_datetimes_round_trip_as_aware_utc(app):
    """Stored and read back through the database: aware, in UTC, to the microsecond,
    whatever zone they were written in and on both databases."""
    table = sa.Table("t_when", sa.MetaData(), sa.Column("at", UTCDateTime, nullable=True))
    berlin = ZoneInfo("Europe/Berlin")
    written = [
        datetime(2026, 11, 24, 23, 5, 54, 123456, tzinfo=UTC),
        datetime(2026, 11, 24, 23, 5, 54, tzinfo=UTC),  # no microseconds
        datetime(2026, 7, 1, 12, 0, tzinfo=berlin),  # summer time, another zone
        None,
    ]
    with app.app_context(), db.engine.begin() as conn:
        table.create(conn)
        try:
            conn.execute(table.insert(), [{"at": value} for value in written])
            read = conn.execute(sa.select(table.c.at)).scalars().all()
        finally:
            table.drop(conn)
    assert read == written
    for value in read[:-1]:
        assert value.utcoffset() == timedelta(0)
        assert value.tzinfo is UTC


def test_sqlite_text_in_other_forms_still_reads():
    dialect = sqlite.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert process(None) is None
    assert process("2026-11-24 23:05:54") == datetime(2026, 11, 24, 23, 5, 54, tzinfo=UTC)
    assert process("2026-11-24 23:05:54.123456") == datetime(
        2026, 11, 24, 23, 5, 54, 123456, tzinfo=UTC
    )
    # Written by hand with an offset: not the stored form, so the impl's parser reads it.
    assert process("2026-11-24 23:05:54.000001+00:00").tzinfo is not None


def test_postgresql_values_are_turned_to_utc():
    dialect = postgresql.psycopg.dialect()
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    value = datetime(2026, 11, 24, 23, 5, 54, tzinfo=ZoneInfo("Etc/UTC"))
    assert process(value) == value and process(value).tzinfo is UTC
    plus_two = datetime(2026, 11, 25, 1, 5, 54, tzinfo=timezone(timedelta(hours=2)))
    assert process(plus_two) == value and process(plus_two).hour == 23


def test_status_reads_as_its_name():
    for dialect in (sqlite.dialect(), postgresql.psycopg.dialect()):
        process = StatusType().dialect_impl(dialect).result_processor(dialect, None)
        assert [process(i) for i in range(len(STATUSES))] == list(STATUSES)
        assert process(None) is None

"""The Alembic migrations build exactly the models' schema, and take it down again."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from conftest import BASE_CONFIG
from flask_migrate import downgrade, upgrade

from taskboard import create_app
from taskboard.extensions import db


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.db'}"
    return request.getfixturevalue("postgres").create_database("taskboard_migrations")


def test_upgrade_matches_models_and_downgrade_empties(empty_database: str) -> None:
    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": False}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"

        tables = set(sa.inspect(db.engine).get_table_names())
        assert {t.name for t in db.metadata.sorted_tables} <= tables

        downgrade(revision="base")
        db.engine.dispose()
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}

        upgrade()  # and back up again: the downgrade left nothing behind that blocks it
        db.engine.dispose()

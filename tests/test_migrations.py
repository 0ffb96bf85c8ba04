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


def test_columns_migration_keeps_every_card_where_it_is(empty_database: str) -> None:
    """A database filled at the revision before columns: after the upgrade every project
    has the three default columns and each card is in its status's, at its position."""
    import uuid
    from datetime import UTC, datetime

    app = create_app({**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": empty_database})
    with app.app_context():
        upgrade(revision="7dd8539a4a7c")
        now = datetime(2026, 1, 1, tzinfo=UTC)
        if db.engine.dialect.name == "sqlite":
            now = now.replace(tzinfo=None)
        user, projects = uuid.uuid4(), [uuid.uuid4(), uuid.uuid4()]
        cards = []  # (id, project, status, position)
        with db.engine.begin() as conn:
            def uid(value: uuid.UUID) -> object:
                return value.hex if conn.dialect.name == "sqlite" else value

            conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, name, password_hash, is_active, is_admin, "
                    "notifications, session_version, created_at) "
                    "VALUES (:id, 'a@example.com', 'A', 'x', true, false, true, 0, :now)"
                ),
                {"id": uid(user), "now": now},
            )
            for project in projects:
                conn.execute(
                    sa.text(
                        "INSERT INTO projects (id, title, description, owner_id, created_at, "
                        "updated_at, version, board_version) "
                        "VALUES (:id, 'P', '', :owner, :now, :now, 1, 0)"
                    ),
                    {"id": uid(project), "owner": uid(user), "now": now},
                )
                for status, count in ((0, 3), (1, 1), (2, 2)):
                    for position in range(count):
                        task = uuid.uuid4()
                        cards.append((task, project, status, position))
                        conn.execute(
                            sa.text(
                                "INSERT INTO tasks (id, project_id, title, description, status, "
                                "position, created_by_id, created_at, updated_at, version) "
                                "VALUES (:id, :project, 't', '', :status, :position, :user, "
                                ":now, :now, 1)"
                            ),
                            {
                                "id": uid(task), "project": uid(project), "status": status,
                                "position": position, "user": uid(user), "now": now,
                            },
                        )
        upgrade()
        from taskboard.models import BoardColumn, Task

        for project in projects:
            board = db.session.scalars(
                sa.select(BoardColumn)
                .where(BoardColumn.project_id == project)
                .order_by(BoardColumn.position)
            ).all()
            assert [(c.name, c.category, c.position) for c in board] == [
                ("To Do", "todo", 0), ("In Progress", "in_progress", 1), ("Done", "done", 2)
            ]
            by_category = {c.category: c.id for c in board}
            for task_id, owner, status, position in cards:
                if owner != project:
                    continue
                task = db.session.get(Task, task_id)
                assert task.column_id == by_category[("todo", "in_progress", "done")[status]]
                assert task.position == position and task.checklist_total == 0
        db.session.remove()
        downgrade(revision="base")
        db.engine.dispose()

"""`flask demo seed`: realistic demo data, idempotent, and bulk benchmark data with --tasks N."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import table_counts

from taskboard import demo
from taskboard.extensions import db
from taskboard.models import (
    STATUSES,
    Activity,
    BoardColumn,
    Comment,
    Membership,
    Notification,
    Project,
    Task,
    TaskAssignee,
    User,
    utcnow,
)
from taskboard.services import notifications

TOKENS = "/api/v1/auth/tokens"


def seed(runner: Any, *args: str) -> str:
    result = runner.invoke(args=["demo", "seed", *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def demo_projects(app: Any) -> dict[str, dict[str, Any]]:
    """Per project of the demo user: its tasks (status, due, assignees) and member count."""
    with app.app_context():
        owner = db.session.scalar(sa.select(User).where(User.email == demo.DEMO_EMAIL))
        found: dict[str, dict[str, Any]] = {}
        for project in db.session.scalars(sa.select(Project).where(Project.owner_id == owner.id)):
            tasks = db.session.scalars(sa.select(Task).where(Task.project_id == project.id)).all()
            found[project.title] = {
                "members": db.session.scalar(
                    sa.select(sa.func.count()).where(Membership.project_id == project.id)
                ),
                "tasks": [(t.status, t.due_date, len(t.assignees), t.position) for t in tasks],
                "comments": db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(Comment)
                    .join(Task, Task.id == Comment.task_id)
                    .where(Task.project_id == project.id)
                ),
            }
        return found


def assert_columns_contiguous(app: Any, title: str) -> dict[str, int]:
    """Every column of the project is numbered 0..n-1, its cards' status its category;
    the number of cards of each status."""
    with app.app_context():
        project_id = db.session.scalar(sa.select(Project.id).where(Project.title == title))
        sizes = dict.fromkeys(STATUSES, 0)
        board = db.session.scalars(
            sa.select(BoardColumn).where(BoardColumn.project_id == project_id)
        ).all()
        for column in board:
            rows = db.session.execute(
                sa.select(Task.position, Task.status)
                .where(Task.column_id == column.id)
                .order_by(Task.position)
            ).all()
            positions = [position for position, _ in rows]
            assert positions == list(range(len(positions))), (column.name, positions[:10])
            assert all(status == column.category for _, status in rows), column.name
            sizes[column.category] += len(positions)
        return sizes


def test_seed_creates_a_demo_team_with_realistic_projects(runner, app, client):
    out = seed(runner)
    assert f"Log in as {demo.DEMO_EMAIL} with password {demo.DEMO_PASSWORD}" in out
    resp = client.post(TOKENS, json={"email": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD})
    assert resp.status_code == 201
    projects = demo_projects(app)
    assert set(projects) == {spec.title for spec in demo.PROJECTS}
    now = utcnow()
    all_tasks = [task for project in projects.values() for task in project["tasks"]]
    for title, project in projects.items():
        assert project["members"] >= 2, title
        assert {status for status, *_ in project["tasks"]} == set(STATUSES), title
        assert assert_columns_contiguous(app, title)
    assert sum(assignees for _, _, assignees, _ in all_tasks) > len(all_tasks) // 2
    assert sum(project["comments"] for project in projects.values()) >= 3
    overdue = [due for status, due, *_ in all_tasks if due and due < now and status != "done"]
    due_soon = [due for status, due, *_ in all_tasks if due and now < due < now + timedelta(1)]
    assert overdue and due_soon
    with app.app_context():
        people = {user.email: user for user in db.session.scalars(sa.select(User))}
        assert set(people) == {demo.DEMO_EMAIL, *(email for email, _ in demo.TEAM)}
        # Demo data makes no mail: every demo account starts with notifications off.
        assert {email: user.notifications for email, user in people.items()} == {
            demo.DEMO_EMAIL: False,
            "maya@example.com": False,
            "sam@example.com": False,
        }
        mailed = sa.select(sa.func.count()).where(Notification.status != "inbox")
        assert db.session.scalar(mailed) == 0  # inbox entries only
        # Nor later: the due-date reminders find nobody to mail about made-up tasks.
        assert notifications.queue_due_reminders() == []


def test_seed_twice_changes_nothing(runner, app):
    seed(runner)
    before = table_counts(app)
    out = seed(runner)
    assert "already there" in out and "nothing added" in out
    assert table_counts(app) == before


def test_seed_recreates_only_what_is_missing(runner, app, client):
    seed(runner)
    before = table_counts(app)
    with app.app_context():
        project = db.session.scalar(sa.select(Project).where(Project.title == "Team offsite"))
        db.session.execute(sa.delete(Activity))
        db.session.execute(sa.delete(Comment))
        db.session.execute(sa.delete(TaskAssignee))
        db.session.execute(sa.delete(Task).where(Task.project_id == project.id))
        db.session.execute(sa.delete(Membership).where(Membership.project_id == project.id))
        db.session.delete(project)
        db.session.commit()
    out = seed(runner)
    assert 'Created project "Team offsite"' in out
    assert "Website relaunch" not in out
    assert table_counts(app)["projects"] == before["projects"]
    assert table_counts(app)["users"] == before["users"]


def test_seed_tells_when_the_demo_password_was_changed(runner, client):
    seed(runner)
    tokens = client.post(
        TOKENS, json={"email": demo.DEMO_EMAIL, "password": demo.DEMO_PASSWORD}
    ).json
    resp = client.patch(
        "/api/v1/users/me",
        json={"password": "changed by the demo user", "current_password": demo.DEMO_PASSWORD},
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )
    assert resp.status_code == 200
    out = seed(runner)
    assert demo.DEMO_PASSWORD not in out
    assert "password has been changed" in out


def test_seed_with_tasks_builds_and_tops_up_the_benchmark_project(runner, app, monkeypatch):
    monkeypatch.setattr(demo, "BATCH_SIZE", 400)  # several batches, as with 100,000 tasks
    out = seed(runner, "--tasks", "1000")
    assert '"Benchmark" now has 1000 tasks (1000 added' in out
    sizes = assert_columns_contiguous(app, demo.BENCHMARK_TITLE)
    assert sum(sizes.values()) == 1000
    assert all(sizes.values())
    with app.app_context():
        project_id = db.session.scalar(
            sa.select(Project.id).where(Project.title == demo.BENCHMARK_TITLE)
        )
        members = set(
            db.session.scalars(
                sa.select(Membership.user_id).where(Membership.project_id == project_id)
            )
        )
        assert len(members) == 3
        assignees = db.session.execute(
            sa.select(TaskAssignee.user_id)
            .join(Task, Task.id == TaskAssignee.task_id)
            .where(Task.project_id == project_id)
        ).scalars().all()
        assert 300 < len(assignees) < 1000
        assert set(assignees) <= members
        created = db.session.scalar(
            sa.select(sa.func.count(sa.distinct(Activity.task_id)))
            .join(Task, Task.id == Activity.task_id)
            .where(Task.project_id == project_id, Activity.verb == "created")
        )
        assert created == 1000
        assert db.session.scalar(
            sa.select(sa.func.count()).where(
                Task.project_id == project_id, Task.due_date.is_not(None)
            )
        )

    out = seed(runner, "--tasks", "1500")
    assert '"Benchmark" now has 1500 tasks (500 added' in out
    assert sum(assert_columns_contiguous(app, demo.BENCHMARK_TITLE).values()) == 1500

    before = table_counts(app)
    out = seed(runner, "--tasks", "1200")
    assert "already has 1500 tasks" in out
    assert table_counts(app) == before


def test_seed_refuses_production_unless_forced(runner, app):
    app.config["PRODUCTION"] = True
    before = table_counts(app)
    result = runner.invoke(args=["demo", "seed"])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("Error: Refusing to create accounts")
    assert len(result.stderr.strip().splitlines()) == 1
    assert table_counts(app) == before
    assert "Log in as" in seed(runner, "--force")


@pytest.mark.parametrize("value", ["-1", "many"])
def test_seed_bad_task_count_is_a_usage_error(runner, app, value):
    before = table_counts(app)
    result = runner.invoke(args=["demo", "seed", "--tasks", value])
    assert result.exit_code == 2
    assert "Invalid value for '--tasks'" in result.stderr
    assert table_counts(app) == before

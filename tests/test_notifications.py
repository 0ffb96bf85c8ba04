"""Who gets which notification, written with the change; delivery, retries and reminders.

Service level, on SQLite and PostgreSQL. The app runs jobs inline (HUEY_IMMEDIATE) and,
with no MAIL_SERVER, writes each mail as an .eml file to the outbox folder; the
`queue_only` fixture turns inline jobs off so rows stay pending for the test to drive.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import ApiUser
from flask import Flask
from mailsink import mail_sink
from servers import free_port

from taskboard import config as settings
from taskboard.config import ConfigError
from taskboard.extensions import db
from taskboard.extensions import mail as mail_extension
from taskboard.models import Notification, Task, User
from taskboard.queue import Every, huey
from taskboard.services import delivery, notifications, tasks


@pytest.fixture
def queue_only(app: Flask) -> Iterator[None]:
    """Jobs are queued (in the test's SQLite queue file) instead of run inline."""
    huey.immediate = False
    yield
    huey.immediate = True


def rows(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        found = db.session.execute(
            sa.select(Notification, User.email)
            .join(User, User.id == Notification.user_id)
            .order_by(Notification.created_at, User.email)
        ).all()
        return [
            {
                "kind": note.kind,
                "to": email,
                "status": note.status,
                "task_id": str(note.task_id) if note.task_id else None,
                "project_id": str(note.project_id) if note.project_id else None,
                "attempts": note.attempts,
                "last_error": note.last_error,
                "id": note.id,
            }
            for note, email in found
        ]


def who(app: Flask, kind: str | None = None) -> list[str]:
    """Who a mail was written for (inbox-only rows, which mail no one, left out)."""
    return sorted(
        r["to"]
        for r in rows(app)
        if (kind is None or r["kind"] == kind) and r["status"] != "inbox"
    )


def outbox_mail(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]


def iso(moment: datetime) -> str:
    return moment.isoformat()


# Who gets what ---------------------------------------------------------------------


def test_assignment_mails_the_newly_assigned_but_not_the_actor(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    before = len(rows(app))
    task = alice.create_task(project["id"], "Draft", assignee_ids=[alice.id, bob.id])
    assert who(app, "assigned") == ["bob@example.com"]

    resp = bob.patch(f"/api/v1/tasks/{task['id']}", json={"assignee_ids": [bob.id, carol.id]})
    assert resp.status_code == 200
    assigned = [r for r in rows(app) if r["kind"] == "assigned"]
    # Bob assigned himself no mail, Alice (removed) none, Carol (new) one.
    assert sorted(r["to"] for r in assigned) == ["bob@example.com", "carol@example.com"]
    assert all(r["task_id"] == task["id"] for r in assigned)
    assert len(rows(app)) == before + 2

    # The same assignees again: nothing new.
    bob.patch(f"/api/v1/tasks/{task['id']}", json={"assignee_ids": [carol.id, bob.id]})
    assert len(rows(app)) == before + 2


def test_new_member_is_told(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    project = alice.create_project("Garden")
    assert rows(app) == []
    alice.add_member(project["id"], bob)
    [row] = rows(app)
    assert (row["kind"], row["to"], row["project_id"]) == (
        "added_to_project",
        "bob@example.com",
        project["id"],
    )
    [message] = outbox_mail(app)
    assert message["Subject"] == "[Taskboard] You were added to the project “Garden”"
    assert (
        f"http://testserver/projects/{project['id']}" in message.get_body(("plain",)).get_content()
    )


def test_comment_and_done_mail_the_assignees_but_not_the_actor(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    task = alice.create_task(project["id"], "Ship", assignee_ids=[alice.id, bob.id])

    resp = bob.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "On it"})
    assert resp.status_code == 201
    assert who(app, "commented") == ["alice@example.com"]

    resp = carol.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "Thanks"})
    assert who(app, "commented") == ["alice@example.com", "alice@example.com", "bob@example.com"]

    # A move that is not to Done tells no one; a move to Done tells the assignees.
    alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "in_progress"})
    assert who(app, "moved_to_done") == []
    alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    assert who(app, "moved_to_done") == ["bob@example.com"]
    # Reordering inside Done is not a new move to Done.
    alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done", "position": 0})
    assert who(app, "moved_to_done") == ["bob@example.com"]


def test_users_with_notifications_off_get_none(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    resp = bob.patch("/api/v1/users/me", json={"notifications": False})
    assert resp.status_code == 200
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    task = alice.create_task(project["id"], "Quiet", assignee_ids=[bob.id, carol.id])
    carol.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "hello"})
    alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    assert "bob@example.com" not in who(app)
    # Carol: added, assigned, moved to Done (not her own comment).
    assert who(app) == ["carol@example.com"] * 3
    assert all("bob@example.com" not in m["To"] for m in outbox_mail(app))


def test_preference_turned_off_before_delivery_skips_the_row(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    bob.patch("/api/v1/users/me", json={"notifications": False})
    with app.app_context():
        result = delivery.sweep()
    assert result.outcomes == {"skipped": 1}
    [row] = rows(app)
    assert row["status"] == "skipped"
    assert "turned notifications off" in row["last_error"]
    assert outbox_mail(app) == []


def test_a_failed_change_leaves_no_outbox_rows(
    app: Flask, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "Fragile")
    before = rows(app)

    def broken_move(*_: Any) -> bool:
        raise RuntimeError("disk on fire")

    # The assignment is written (with its outbox row) before the move fails.
    monkeypatch.setattr(tasks, "_move", broken_move)
    with app.app_context():
        actor = db.session.get(User, uuid.UUID(alice.id))
        with pytest.raises(RuntimeError):
            tasks.update(
                actor, uuid.UUID(task["id"]), assignee_ids=[uuid.UUID(bob.id)], status="done"
            )
        db.session.rollback()
    assert rows(app) == before
    with app.app_context():
        assert db.session.get(Task, uuid.UUID(task["id"])).assignees == []
    assert len(outbox_mail(app)) == len(before)  # nothing was sent for the lost change


# The mail itself -------------------------------------------------------------------


def test_mail_has_text_and_html_parts_and_a_link_to_the_task(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Website")
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "Write <copy> & more", assignee_ids=[bob.id])
    resp = alice.post(
        f"/api/v1/tasks/{task['id']}/comments", json={"body": "First line\nsecond <b>line</b>"}
    )
    assert resp.status_code == 201

    messages = {m["Subject"]: m for m in outbox_mail(app)}
    assigned = messages["[Taskboard] You were assigned to “Write <copy> & more”"]
    assert assigned["To"] == "bob@example.com"
    assert assigned["From"] == "Taskboard <taskboard@localhost>"
    link = f"http://testserver/projects/{project['id']}?task={task['id']}"
    text = assigned.get_body(("plain",)).get_content()
    html = assigned.get_body(("html",)).get_content()
    assert 'Alice Adams assigned you to the task "Write <copy> & more"' in text
    assert link in text
    assert f'href="{link}"' in html
    assert "Write &lt;copy&gt; &amp; more" in html  # escaped in HTML, plain in text
    assert "http://testserver/account" in text

    commented = messages["[Taskboard] New comment on “Write <copy> & more”"]
    text = commented.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "> First line\n> second <b>line</b>" in text
    assert "second &lt;b&gt;line&lt;/b&gt;" in commented.get_body(("html",)).get_content()
    # One Message-ID per outbox row, so a repeated delivery can be recognised.
    ids = {m["Message-ID"] for m in messages.values()}
    assert len(ids) == 3 and all(i.endswith("@testserver>") for i in ids)  # + added to project


# Due-date reminders ----------------------------------------------------------------


def test_due_reminders_once_per_task_and_due_date(
    app: Flask, alice: ApiUser, bob: ApiUser, make_user: Any
) -> None:
    dave = make_user("dave@example.com", "Dave Quiet")
    dave.patch("/api/v1/users/me", json={"notifications": False})
    project = alice.create_project()
    for user in (bob, dave):
        alice.add_member(project["id"], user)
    now = datetime.now(UTC)
    soon = alice.create_task(
        project["id"],
        "Soon",
        assignee_ids=[alice.id, bob.id, dave.id],
        due_date=iso(now + timedelta(hours=3)),
    )
    alice.create_task(
        project["id"], "Later", assignee_ids=[bob.id], due_date=iso(now + timedelta(hours=30))
    )
    alice.create_task(
        project["id"], "Past", assignee_ids=[bob.id], due_date=iso(now - timedelta(hours=1))
    )
    alice.create_task(
        project["id"],
        "Done",
        status="done",
        assignee_ids=[bob.id],
        due_date=iso(now + timedelta(hours=2)),
    )
    alice.create_task(project["id"], "Nobody", due_date=iso(now + timedelta(hours=2)))

    with app.app_context():
        assert len(notifications.queue_due_reminders()) == 2
        assert notifications.queue_due_reminders() == []  # once per task and due date
    # The creator is reminded too: a reminder has no actor to leave out. Dave opted out.
    assert who(app, "due_soon") == ["alice@example.com", "bob@example.com"]
    mailed = [r["status"] for r in rows(app) if r["kind"] == "due_soon" and r["status"] != "inbox"]
    assert mailed == ["sent", "sent"]
    subjects = [m["Subject"] for m in outbox_mail(app)]
    assert subjects.count("[Taskboard] “Soon” is due within 24 hours") == 2

    # Moving the due date re-arms the reminder.
    alice.patch(f"/api/v1/tasks/{soon['id']}", json={"due_date": iso(now + timedelta(hours=5))})
    with app.app_context():
        assert len(notifications.queue_due_reminders()) == 2
        assert notifications.queue_due_reminders() == []
    assert len(who(app, "due_soon")) == 4


def test_reminder_for_a_task_done_before_delivery_is_skipped(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    due = datetime.now(UTC) + timedelta(hours=1)
    task = alice.create_task(project["id"], "Race", assignee_ids=[bob.id], due_date=iso(due))
    with app.app_context():
        assert len(notifications.queue_due_reminders()) == 1
    alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    with app.app_context():
        result = delivery.sweep()
    # Skipped: the reminder. Sent: added to the project, assigned, moved to Done.
    assert result.outcomes == {"skipped": 1, "sent": 3}
    assert {(r["kind"], r["status"]) for r in rows(app)} >= {("due_soon", "skipped")}


# Delivery --------------------------------------------------------------------------


def test_a_row_is_claimed_once_and_again_only_after_the_lease(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    [row] = rows(app)
    with app.app_context():
        now = datetime.now(UTC)
        assert delivery.claim(row["id"], now) is True
        assert delivery.claim(row["id"], now) is False  # a second worker gets nothing
        assert delivery.deliver(row["id"]) == "not due"
        lease = app.config["NOTIFY_LEASE_SECONDS"]
        later = now + timedelta(seconds=lease + 1)
        # A killed worker's claim: retryable once the lease has run out.
        assert delivery.claim(row["id"], later) is True
    assert rows(app)[0]["attempts"] == 2


def test_deleted_task_is_not_mailed(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "Gone", assignee_ids=[bob.id])
    assert alice.delete(f"/api/v1/tasks/{task['id']}").status_code == 204
    with app.app_context():
        result = delivery.sweep()
    # Dropped when the task went to the trash, so the sweep has only the other mail.
    assert result.outcomes == {"sent": 1}
    assigned = [r for r in rows(app) if r["kind"] == "assigned"]
    assert assigned[0]["status"] == "skipped"
    assert assigned[0]["last_error"] == "the task was deleted"


@pytest.fixture
def smtp_app(app: Flask) -> Iterator[Flask]:
    """The app with mail going to SMTP; the test sets MAIL_PORT."""
    app.config.update(MAIL_SERVER="127.0.0.1", NOTIFY_RETRY_SECONDS=10, NOTIFY_MAX_ATTEMPTS=3)
    yield app
    app.config.update(MAIL_SERVER=None)
    mail_extension.init_app(app)


def test_smtp_down_retries_with_backoff_then_gives_up(
    smtp_app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    app = smtp_app
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    mail_extension.init_app(app)
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    [row] = rows(app)
    with app.app_context():
        started = datetime.now(UTC)
        assert delivery.deliver(row["id"]) == "retrying"
        note = db.session.get(Notification, row["id"])
        assert note.status == "pending" and note.attempts == 1
        assert "ConnectionRefusedError" in note.last_error
        # The first retry comes within a minute; each next one later, up to the cap.
        first = note.next_attempt_at - started
        assert timedelta(seconds=9) < first < timedelta(seconds=60)
        assert delivery.deliver(row["id"]) == "not due"  # not before its time
        assert [delivery.retry_delay(n) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 80, 120]

        for attempt in (2, 3):
            db.session.execute(sa.update(Notification).values(next_attempt_at=datetime.now(UTC)))
            db.session.commit()
            expected = "retrying" if attempt < 3 else "failed"
            assert delivery.deliver(row["id"]) == expected
        note = db.session.get(Notification, row["id"], populate_existing=True)
        assert (note.status, note.attempts) == ("failed", 3)
        assert "ConnectionRefusedError" in note.last_error
        assert delivery.sweep().outcomes == {}  # given up: never tried again


def test_smtp_permanent_refusal_fails_at_once(
    smtp_app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    app = smtp_app
    with mail_sink() as sink:
        sink.refusals = ["554 5.6.0 Message rejected"]
        app.config["MAIL_PORT"] = sink.port
        mail_extension.init_app(app)
        project = alice.create_project()
        alice.add_member(project["id"], bob)
        with app.app_context():
            assert delivery.sweep().outcomes == {"failed": 1}
    [row] = rows(app)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert "554" in row["last_error"]
    assert sink.messages == []


def test_sweep_delivers_by_smtp_exactly_once(
    smtp_app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    app = smtp_app
    with mail_sink() as sink:
        app.config["MAIL_PORT"] = sink.port
        mail_extension.init_app(app)
        project = alice.create_project()
        alice.add_member(project["id"], bob)
        alice.add_member(project["id"], carol)
        with app.app_context():
            assert delivery.sweep().outcomes == {"sent": 2}
            assert delivery.sweep().outcomes == {}
        assert sorted(m["X-Envelope-To"] for m in sink.messages) == [
            "bob@example.com",
            "carol@example.com",
        ]
        for message in sink.messages:
            assert message["Subject"].startswith("[Taskboard] ")
            assert message.get_body(("plain",)) is not None
            assert message.get_body(("html",)) is not None
    assert {r["status"] for r in rows(app)} == {"sent"}


# The commands ----------------------------------------------------------------------


def test_notify_commands_print_what_they_did(
    app: Flask, queue_only: None, runner: Any, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.create_task(
        project["id"],
        "Soon",
        assignee_ids=[bob.id],
        due_date=iso(datetime.now(UTC) + timedelta(hours=1)),
    )
    result = runner.invoke(args=["notify", "due-reminders"])
    assert result.exit_code == 0, result.output
    assert "Queued 1 due-date reminder(s)." in result.output
    result = runner.invoke(args=["notify", "due-reminders"])
    assert "Queued 0 due-date reminder(s)." in result.output

    result = runner.invoke(args=["notify", "sweep"])
    assert result.exit_code == 0, result.output
    assert "Sweep: 3 sent." in result.output
    assert "Outbox: 3 sent" in result.output
    assert len(outbox_mail(app)) == 3
    result = runner.invoke(args=["notify", "sweep"])
    assert "Sweep: nothing to send." in result.output


def test_a_silent_smtp_server_costs_one_timeout_and_a_retry(
    smtp_app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    app = smtp_app
    with mail_sink() as sink:
        sink.hold = True  # takes the message, never answers
        app.config.update(MAIL_PORT=sink.port, MAIL_TIMEOUT=1)
        mail_extension.init_app(app)
        project = alice.create_project()
        alice.add_member(project["id"], bob)
        with app.app_context():
            assert delivery.sweep().outcomes == {"retrying": 1}
    [row] = rows(app)
    assert row["status"] == "pending" and "timed out" in row["last_error"]
    assert sink.messages == []


def test_sweep_stops_early_when_every_send_fails(
    smtp_app: Flask, queue_only: None, alice: ApiUser, make_user: Any
) -> None:
    app = smtp_app
    app.config["MAIL_PORT"] = free_port()  # nothing listens there
    mail_extension.init_app(app)
    project = alice.create_project()
    for n in range(5):
        alice.add_member(project["id"], make_user(f"member{n}@example.com"))
    with app.app_context():
        assert delivery.sweep().outcomes == {"retrying": 3}
    assert sorted(r["attempts"] for r in rows(app)) == [0, 0, 1, 1, 1]


def test_account_mail_ignores_the_preference_and_can_go_to_another_address(
    app: Flask, queue_only: None, alice: ApiUser
) -> None:
    alice.patch("/api/v1/users/me", json={"notifications": False})
    kind = notifications.register_kind(
        "test_account_notice",
        "Account notice for {name}",
        template="added_to_project",
        account=True,
        context=lambda note: {"project_url": "http://testserver/account"},
    )
    try:
        with app.app_context():
            user = db.session.get(User, uuid.UUID(alice.id))
            outbox = notifications.Outbox()
            outbox.add(notifications.ASSIGNED, user)  # honours the preference: nothing
            outbox.add(kind, user, payload={"name": "Alice", "project_title": "x"})
            outbox.add(kind, user, email="new-address@example.com", payload={"name": "A"})
            db.session.commit()
            assert delivery.sweep().outcomes == {"sent": 2}
    finally:
        notifications.KINDS.pop(kind.name)
    messages = sorted(outbox_mail(app), key=lambda m: m["To"])
    assert [(m["To"], m["Subject"]) for m in messages] == [
        ("alice@example.com", "[Taskboard] Account notice for Alice"),
        ("new-address@example.com", "[Taskboard] Account notice for A"),
    ]


def test_periodic_jobs_run_once_per_interval(app: Flask) -> None:
    app.config["NOTIFY_REMINDER_SECONDS"] = 900
    every = Every("NOTIFY_REMINDER_SECONDS")
    start = datetime(2030, 1, 1, 10, 2, 0)  # huey's clock: naive UTC
    with app.app_context():
        assert every(start) is True  # the first check after start always runs
        assert every(start + timedelta(minutes=12)) is False  # still 10:00-10:15
        assert every(start + timedelta(minutes=13)) is True  # 10:15 began
        assert every(start + timedelta(minutes=14)) is False


def test_notify_settings_must_be_positive(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NOTIFY_SWEEP_SECONDS", "0")
    with pytest.raises(ConfigError, match="NOTIFY_SWEEP_SECONDS must be 1 or more"):
        settings.load(tmp_path)
    monkeypatch.setenv("NOTIFY_SWEEP_SECONDS", "soon")
    with pytest.raises(ConfigError, match="must be an integer"):
        settings.load(tmp_path)


def test_failed_mail_can_be_retried_and_old_rows_purged(
    app: Flask, queue_only: None, runner: Any, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    bob_row, carol_row = sorted(rows(app), key=lambda r: r["to"])
    with app.app_context():
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == bob_row["id"])
            .values(status="failed", attempts=30, last_error="SMTPDataError: 451")
        )
        db.session.commit()
    result = runner.invoke(args=["notify", "retry-failed"])
    assert "Queued 1 failed notification(s) again." in result.output
    result = runner.invoke(args=["notify", "sweep"])
    assert "Sweep: 2 sent." in result.output
    assert all(r["attempts"] == 1 for r in rows(app))

    # Finished rows older than the kept days go; the rest stays.
    with app.app_context():
        old = datetime.now(UTC) - timedelta(days=91)
        db.session.execute(
            sa.update(Notification).where(Notification.id == carol_row["id"]).values(created_at=old)
        )
        db.session.commit()
    result = runner.invoke(args=["notify", "purge"])
    assert "Deleted 1 old notification(s)." in result.output
    assert who(app) == ["bob@example.com"]
    result = runner.invoke(args=["notify", "purge", "--keep-days", "0"])
    assert result.exit_code == 2  # a clear usage error, nothing deleted
    assert who(app) == ["bob@example.com"]


def test_a_fixed_interval_schedule() -> None:
    every = Every(24 * 3600)
    start = datetime(2030, 1, 1, 23, 0, 0)
    assert every(start) is True
    assert every(start + timedelta(minutes=59)) is False
    assert every(start + timedelta(hours=1)) is True  # a new day began

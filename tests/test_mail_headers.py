"""User text with line breaks cannot inject a header, nor make its mail undeliverable.

Every kind of mail goes through a real SMTP server (aiosmtpd) with a hostile task title,
project title and actor name; each arrives once, to its one recipient, with a one-line
subject and no header but the ones Taskboard writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, ApiUser
from flask import Flask
from mailsink import MailSink, mail_sink

from taskboard import mail
from taskboard.extensions import db
from taskboard.extensions import mail as mail_extension
from taskboard.models import Notification
from taskboard.services import delivery, notifications

HOSTILE = "Fix\r\nBcc: evil@example.com\r\n\r\nInjected body\u2028X-Evil: 1\x85\x0b"
HOSTILE_NAME = "Mallory\nBcc: evil@example.com"
EXPECTED_HEADERS = {
    "content-type",
    "mime-version",
    "subject",
    "from",
    "to",
    "date",
    "message-id",
    "list-unsubscribe",  # RFC 8058: a signed link, no user text in it
    "list-unsubscribe-post",
    "x-envelope-to",  # added by the sink
}


@pytest.fixture
def sink(app: Flask) -> Iterator[MailSink]:
    with mail_sink() as server:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port)
        mail_extension.init_app(app)
        yield server
    app.config.update(MAIL_SERVER=None)
    mail_extension.init_app(app)


def assert_clean(message: EmailMessage, to: str) -> None:
    assert message["X-Envelope-To"] == to
    assert message["To"] == to
    assert {name.lower() for name in message} <= EXPECTED_HEADERS, message.keys()
    assert message["Bcc"] is None and message["X-Evil"] is None
    subject = str(message["Subject"])
    assert subject.startswith("[Taskboard] ")
    assert not any(ch in subject for ch in "\r\n\x0b\x85\u2028")


def statuses(app: Flask) -> dict[str, set[str]]:
    with app.app_context():
        rows = db.session.execute(sa.select(Notification.kind, Notification.status)).all()
    found: dict[str, set[str]] = {}
    for kind, status in rows:
        found.setdefault(kind, set()).add(status)
    return found


def test_every_kind_arrives_once_with_a_one_line_subject(
    app: Flask, sink: MailSink, make_user: Any, bob: ApiUser
) -> None:
    mallory = make_user("mallory@example.com", HOSTILE_NAME)
    project = mallory.create_project(HOSTILE)
    mallory.add_member(project["id"], bob)  # added_to_project
    due = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    task = mallory.create_task(
        project["id"], HOSTILE, assignee_ids=[bob.id], due_date=due
    )  # assigned
    assert "\n" in task["title"]  # stored as given; only the mail header is cleaned
    resp = mallory.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": HOSTILE})
    assert resp.status_code == 201  # commented
    resp = mallory.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
    assert resp.status_code == 200  # moved_to_done
    other = mallory.create_task(project["id"], HOSTILE, assignee_ids=[bob.id], due_date=due)
    with app.app_context():
        assert notifications.queue_due_reminders()  # due_soon (for `other`)
    resp = bob.client.post("/api/v1/auth/password-reset", json={"email": bob.email})
    assert resp.status_code == 202  # password_reset
    resp = bob.post(
        "/api/v1/users/me/email",
        json={"email": "bob.new@example.com", "current_password": PASSWORD},
    )
    assert resp.status_code == 202  # email_confirm and email_change_notice

    kinds = [
        "added_to_project",
        "assigned",
        "commented",
        "moved_to_done",
        "due_soon",
        "password_reset",
        "email_confirm",
        "email_change_notice",
    ]
    assert set(kinds) <= set(notifications.KINDS)
    messages = sink.wait_for(9, what=lambda: repr(statuses(app)))
    with app.app_context():
        assert delivery.sweep().outcomes == {}  # nothing left to send, nothing sent twice
    assert len(sink.messages) == 9  # the assignment of `other` and the eight above
    assert statuses(app) == {kind: {"sent"} for kind in kinds}
    for message in messages:
        to = message["X-Envelope-To"]
        assert to in ("bob@example.com", "bob.new@example.com"), to
        assert_clean(message, to)
    subjects = sorted(str(m["Subject"]) for m in messages)
    title = "Fix Bcc: evil@example.com Injected body X-Evil: 1"
    assert f"[Taskboard] You were assigned to “{title}”" in subjects
    assert f"[Taskboard] You were added to the project “{title}”" in subjects
    assert f"[Taskboard] “{title}” was moved to Done" in subjects
    assert other["id"] != task["id"]


def test_header_text_keeps_one_line() -> None:
    assert mail.header_text("a\r\nb\tc\x00d\u2028e\x85f  g") == "a b c d e f g"
    assert mail.header_text("Écrire « la doc »") == "Écrire « la doc »"


def test_a_message_the_mail_library_refuses_fails_at_once(
    app: Flask, sink: MailSink, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should a header still hold a line break, the row fails with its reason on the first
    try instead of being retried until the attempts run out."""
    monkeypatch.setattr(mail, "header_text", lambda value: value)
    from taskboard.queue import huey

    huey.immediate = False
    try:
        project = alice.create_project("Line\r\nbreak")
        alice.add_member(project["id"], bob)
        with app.app_context():
            assert delivery.sweep().outcomes == {"failed": 1}
            note = db.session.scalars(sa.select(Notification)).one()
            assert (note.status, note.attempts) == ("failed", 1)
            assert "line break" in (note.last_error or "")
            assert delivery.sweep().outcomes == {}
    finally:
        huey.immediate = True
    assert sink.messages == []


def test_a_mail_that_cannot_be_rendered_fails_at_once(
    app: Flask, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template error renders the same way every time: no retries."""
    from taskboard.queue import huey

    def broken(*args: Any, **kwargs: Any) -> mail.Mail:
        raise KeyError("missing")

    monkeypatch.setattr(mail, "render", broken)
    huey.immediate = False
    try:
        project = alice.create_project()
        alice.add_member(project["id"], bob)
        with app.app_context():
            assert delivery.sweep().outcomes == {"failed": 1}
            note = db.session.scalars(sa.select(Notification)).one()
            assert (note.status, note.attempts) == ("failed", 1)
            assert "KeyError" in (note.last_error or "")
    finally:
        huey.immediate = True

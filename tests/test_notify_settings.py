"""Notifications people keep switched on (SPEC §11): settings, coalesced instant mail,
daily digests (across clock changes), watching and muting, the inbox, one-click
unsubscribe."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient
from test_account_links import body, mails_to
from webutil import csrf_from, text, web_login

from taskboard.extensions import db
from taskboard.models import Notification, User
from taskboard.queue import huey
from taskboard.services import delivery, notifications, preferences, unsubscribe

API = "/api/v1"
SETTINGS = f"{API}/users/me/notification-settings"


@pytest.fixture
def queue_only() -> Iterator[None]:
    huey.immediate = False
    yield
    huey.immediate = True


def statuses(app: Flask, email: str) -> list[tuple[str, str]]:
    with app.app_context():
        return [
            (note.kind, note.status)
            for note in db.session.scalars(
                sa.select(Notification)
                .join(User, User.id == Notification.user_id)
                .where(User.email == email)
                .order_by(Notification.created_at)
            )
        ]


def age(app: Flask, seconds: float) -> None:
    """Move every row's moments back in time, as if `seconds` had passed."""
    with app.app_context():
        shift = timedelta(seconds=seconds)
        for note in db.session.scalars(sa.select(Notification)):
            note.created_at -= shift
            note.next_attempt_at -= shift
        db.session.commit()


def sweep(app: Flask) -> dict[str, int]:
    """The sweep's outcomes; rows sent with an earlier row's mail count as "not due"."""
    with app.app_context():
        outcomes = dict(delivery.sweep().outcomes)
    outcomes.pop("not due", None)
    return outcomes


# Settings ---------------------------------------------------------------------------


def test_settings_default_change_and_refuse_bad_input(app: Flask, alice: ApiUser) -> None:
    got = alice.get(SETTINGS)
    assert got.status_code == 200
    assert got.json == {
        "mode": "instant",
        "digest_hour": 8,
        "time_zone": "UTC",
        "kinds": {kind: True for kind in preferences.KINDS},
    }
    changed = alice.patch(
        SETTINGS,
        json={
            "mode": "digest",
            "digest_hour": 7,
            "time_zone": "Europe/Berlin",
            "kinds": {"commented": False},
        },
    )
    assert changed.status_code == 200
    assert changed.json["mode"] == "digest" and changed.json["kinds"]["commented"] is False
    assert changed.json["kinds"]["assigned"] is True
    before = table_counts(app)
    for bad, field in (
        ({"mode": "hourly"}, "mode"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"digest_hour": "8"}, "digest_hour"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": ""}, "time_zone"),
        ({"kinds": {"everything": False}}, "kinds"),
        ({"kinds": {"assigned": "no"}}, "kinds"),
        ({"mode": "off", "time_zone": "Nowhere/Else"}, "time_zone"),  # nothing of it changes
    ):
        assert_error(alice.patch(SETTINGS, json=bad), 422, field)
    assert table_counts(app) == before
    assert alice.get(SETTINGS).json == changed.json


def test_the_first_waves_switch_is_the_mode(alice: ApiUser) -> None:
    assert alice.patch(f"{API}/users/me", json={"notifications": False}).status_code == 200
    assert alice.get(SETTINGS).json["mode"] == "off"
    alice.patch(f"{API}/users/me", json={"notifications": True})
    assert alice.get(SETTINGS).json["mode"] == "instant"
    alice.patch(SETTINGS, json={"mode": "digest"})
    assert alice.get(f"{API}/users/me").json["notifications"] is True
    alice.patch(SETTINGS, json={"mode": "off"})
    assert alice.get(f"{API}/users/me").json["notifications"] is False


# Coalescing -------------------------------------------------------------------------


def test_changes_close_together_go_out_as_one_mail(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser
) -> None:
    app.config["NOTIFY_COALESCE_SECONDS"] = 120
    pid = alice.create_project("Launch")["id"]
    alice.add_member(pid, bob)
    one = alice.create_task(pid, "First", assignee_ids=[bob.id])
    alice.create_task(pid, "Second", assignee_ids=[bob.id])
    alice.post(f"{API}/tasks/{one['id']}/comments", json={"body": "Look at this"})
    assert sweep(app) == {}  # within the window: nothing yet
    assert mails_to(app, bob.email) == []
    age(app, 121)
    assert sweep(app) == {"sent": 1}
    (mail,) = mails_to(app, bob.email)
    assert mail["Subject"] == "[Taskboard] 4 updates on your boards"
    plain = body(mail)
    for expected in (
        "Alice Adams added you to the project “Launch”",
        "Alice Adams assigned you to “First”",
        "Alice Adams assigned you to “Second”",
        "Alice Adams commented on “First”: Look at this",
    ):
        assert expected in plain
    assert f"http://testserver/projects/{pid}?task={one['id']}" in plain
    assert {status for _, status in statuses(app, bob.email)} == {"sent"}
    assert sweep(app) == {}  # nothing twice
    # A change after the window: a mail of its own, its own subject.
    alice.post(f"{API}/tasks/{one['id']}/comments", json={"body": "Later"})
    age(app, 121)
    assert sweep(app) == {"sent": 1}
    assert mails_to(app, bob.email)[-1]["Subject"] == "[Taskboard] New comment on “First”"


def test_a_failed_coalesced_mail_is_retried_whole_with_the_same_message_id(
    app: Flask, queue_only: None, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    app.config["NOTIFY_COALESCE_SECONDS"] = 60
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    alice.create_task(pid, "A", assignee_ids=[bob.id])
    age(app, 61)
    real = delivery.mail.send

    def down(message: Any) -> str:
        raise OSError("SMTP is down")

    monkeypatch.setattr(delivery.mail, "send", down)
    assert sweep(app) == {"retrying": 1}
    with app.app_context():
        notes = list(db.session.scalars(sa.select(Notification)))
        assert {n.status for n in notes} == {"pending"} and len({n.batch_id for n in notes}) == 1
        batch = notes[0].batch_id
    monkeypatch.setattr(delivery.mail, "send", real)
    age(app, 3600)
    assert sweep(app) == {"sent": 1}
    (mail,) = mails_to(app, bob.email)
    assert mail["Message-ID"].startswith(f"<{batch}@")


# Digests ----------------------------------------------------------------------------


def test_a_daily_digest_groups_the_days_changes_and_says_nothing_when_idle(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    # The digest within the hour, so the reminder below (3 hours) is still due soon then.
    hour = (datetime.now(ZoneInfo("Europe/Berlin")) + timedelta(hours=1)).hour
    bob.patch(SETTINGS, json={"mode": "digest", "digest_hour": hour, "time_zone": "Europe/Berlin"})
    one = alice.create_project("Alpha")["id"]
    two = alice.create_project("Beta")["id"]
    for pid in (one, two):
        alice.add_member(pid, bob)
    soon = (datetime.now(UTC) + timedelta(hours=3)).isoformat()
    alice.create_task(one, "Soon", assignee_ids=[bob.id], due_date=soon)
    alice.create_task(two, "Later", assignee_ids=[bob.id])
    with app.app_context():
        notifications.queue_due_reminders()
        due = db.session.scalar(sa.select(User.digest_next_at).where(User.email == bob.email))
    assert due is not None and due.astimezone(ZoneInfo("Europe/Berlin")).hour == hour
    assert due - datetime.now(UTC) <= timedelta(hours=1)
    assert {status for _, status in statuses(app, bob.email)} == {"digest"}
    assert mails_to(app, bob.email) == []
    with app.app_context():
        assert delivery.send_digests(now=due - timedelta(minutes=1)) == 0
        assert delivery.send_digests(now=due + timedelta(minutes=1)) == 1
        assert delivery.send_digests(now=due + timedelta(minutes=2)) == 0  # once a day
        after = db.session.scalar(sa.select(User.digest_next_at).where(User.email == bob.email))
    assert after - due == timedelta(days=1)
    (mail,) = mails_to(app, bob.email)
    plain = body(mail)
    assert mail["Subject"] == "[Taskboard] Your daily digest: 5 updates"
    assert plain.index("Due soon") < plain.index("Alpha") < plain.index("Beta")
    assert "“Soon” is due within 24 hours" in plain.split("Alpha")[0]
    assert {status for _, status in statuses(app, bob.email)} == {"sent"}
    with app.app_context():  # a day with nothing: no mail
        assert delivery.send_digests(now=after + timedelta(minutes=1)) == 0
    assert len(mails_to(app, bob.email)) == 1


@pytest.mark.parametrize(
    ("start", "hour"),
    [
        (datetime(2027, 3, 25, 12, tzinfo=UTC), 2),  # 28 March: 02:00 does not exist
        (datetime(2027, 10, 28, 12, tzinfo=UTC), 2),  # 31 October: 02:00 comes twice
        (datetime(2027, 3, 25, 12, tzinfo=UTC), 8),
    ],
)
def test_clock_changes_neither_skip_nor_double_a_digest(start: datetime, hour: int) -> None:
    tz = ZoneInfo("Europe/Berlin")
    moments, now = [], start
    for _ in range(7):
        now = preferences.next_digest(hour, "Europe/Berlin", now)
        moments.append(now)
    days = [m.astimezone(tz).date() for m in moments]
    assert len(set(days)) == 7 and all(
        b - a == timedelta(days=1) for a, b in itertools.pairwise(days)
    )
    assert all(b > a for a, b in itertools.pairwise(moments))


def test_leaving_the_digest_sends_what_waited(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    bob.patch(SETTINGS, json={"mode": "digest"})
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    assert mails_to(app, bob.email) == []
    bob.patch(SETTINGS, json={"mode": "instant"})
    assert [m["Subject"] for m in mails_to(app, bob.email)] == [
        "[Taskboard] You were added to the project “Launch”"
    ]


# Kinds, watching, muting ------------------------------------------------------------


def test_a_kind_switched_off_stays_in_the_inbox_and_mails_nothing(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    bob.patch(SETTINGS, json={"kinds": {"assigned": False}})
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    alice.create_task(pid, "Quietly", assignee_ids=[bob.id])
    assert statuses(app, bob.email) == [("added_to_project", "sent"), ("assigned", "inbox")]
    assert [m["Subject"] for m in mails_to(app, bob.email)] == [
        "[Taskboard] You were added to the project “Launch”"
    ]
    entries = bob.get(f"{API}/users/me/notifications").json
    assert [e["kind"] for e in entries] == ["assigned", "added_to_project"]  # newest first


def test_watchers_hear_of_comments_moves_and_edits_and_the_mute_silences(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser, make_user: Any
) -> None:
    dave = make_user("dave@example.com", "Dave Doe")
    pid = alice.create_project("Watched")["id"]
    for user in (bob, carol, dave):
        alice.add_member(pid, user)
    task = alice.create_task(pid, "Watch me", assignee_ids=[bob.id])
    assert carol.put(f"{API}/tasks/{task['id']}/watch").status_code == 204
    assert dave.put(f"{API}/projects/{pid}/watch").status_code == 204
    alice.patch(f"{API}/tasks/{task['id']}", json={"title": "Watched closely"})
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "News"})
    alice.patch(f"{API}/tasks/{task['id']}", json={"status": "in_progress"})
    for who in (carol, dave):
        kinds = [k for k, _ in statuses(app, who.email)]
        assert kinds == ["added_to_project", "watching", "watching", "watching"], who.email
    # Bob, the assignee, watches his task: edits and moves, and his own kind for comments.
    assert [k for k, _ in statuses(app, bob.email)] == [
        "added_to_project",
        "assigned",
        "watching",
        "commented",
        "watching",
    ]
    subjects = [m["Subject"] for m in mails_to(app, carol.email)]
    assert "[Taskboard] Alice Adams moved “Watched closely” to In Progress" in subjects
    assert "[Taskboard] Alice Adams commented on “Watched closely”" in subjects
    assert statuses(app, alice.email) == []  # never about one's own change
    # Muted: nothing at all from the project, not even the inbox.
    assert bob.put(f"{API}/projects/{pid}/mute").status_code == 204
    before = len(statuses(app, bob.email))
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "Anyone?"})
    assert len(statuses(app, bob.email)) == before
    assert bob.delete(f"{API}/projects/{pid}/mute").status_code == 204
    assert carol.delete(f"{API}/tasks/{task['id']}/watch").status_code == 204
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "Back"})
    assert len(statuses(app, bob.email)) == before + 1
    assert statuses(app, carol.email)[-1] == ("watching", "sent")  # the earlier one
    outsider = make_user("eve@example.com")
    assert_error(outsider.put(f"{API}/tasks/{task['id']}/watch"), 404)
    assert_error(outsider.put(f"{API}/projects/{pid}/mute"), 404)


# The inbox --------------------------------------------------------------------------


def test_the_inbox_marks_read_and_the_header_counts(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    for n in range(3):
        pid = alice.create_project(f"P{n}")["id"]
        alice.add_member(pid, bob)
    entries = bob.get(f"{API}/users/me/notifications").json
    assert len(entries) == 3 and all(e["read_at"] is None for e in entries)
    assert set(entries[0]) == {
        "id",
        "kind",
        "text",
        "project_id",
        "task_id",
        "url",
        "created_at",
        "read_at",
    }
    assert entries[0]["text"] == "Alice Adams added you to the project “P2”"
    read = bob.post(f"{API}/users/me/notifications/read", json={"ids": [entries[0]["id"]]})
    assert read.status_code == 200 and read.json == {"unread": 2}
    assert_error(bob.post(f"{API}/users/me/notifications/read", json={}), 422, "ids")
    # Someone else's ids change nothing of theirs.
    assert alice.post(
        f"{API}/users/me/notifications/read", json={"ids": [entries[1]["id"]]}
    ).json == {"unread": 0}
    token = web_login(client, bob.email)
    page = text(client.get("/projects"))
    assert (
        'href="/notifications"' in page and '>2<span class="visually-hidden"> unread</span>' in page
    )
    badge = client.get("/notifications/badge")
    assert badge.status_code == 200 and badge.headers["ETag"]
    again = client.get("/notifications/badge", headers={"If-None-Match": badge.headers["ETag"]})
    assert again.status_code == 304
    inbox_page = text(client.get("/notifications"))
    assert (
        "Alice Adams added you to the project “P1”" in inbox_page and "Mark all read" in inbox_page
    )
    done = client.post("/notifications/read", data={"csrf_token": token, "all": "1"})
    assert done.status_code == 303
    assert bob.post(f"{API}/users/me/notifications/read", json={"all": True}).json == {"unread": 0}
    changed = client.get("/notifications/badge", headers={"If-None-Match": badge.headers["ETag"]})
    assert changed.status_code == 200


# Unsubscribe ------------------------------------------------------------------------


LINK = re.compile(r"<(http://testserver/unsubscribe/[^>]+)>")


def test_one_click_unsubscribe(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    (mail,) = mails_to(app, bob.email)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    found = LINK.fullmatch(mail["List-Unsubscribe"])
    assert found, mail["List-Unsubscribe"]
    path = found.group(1).removeprefix("http://testserver")
    assert "http://testserver/account#notifications" in body(mail)
    client = app.test_client()  # no login
    page = client.get(path)
    assert page.status_code == 200 and "Stop this mail?" in text(page)
    assert bob.get(SETTINGS).json["kinds"]["added_to_project"] is True  # a GET changes nothing
    one_click = client.post(
        path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200 and "Unsubscribed" in text(one_click)
    assert bob.get(SETTINGS).json["kinds"]["added_to_project"] is False
    for forged in ("/unsubscribe/nonsense", path[:-3] + "abc"):
        assert client.post(forged).status_code == 404
    account_mail = alice.post(f"{API}/auth/password-reset", json={"email": bob.email})
    assert account_mail.status_code == 202
    assert mails_to(app, bob.email)[-1]["List-Unsubscribe"] is None  # account mail has none


def test_an_expired_unsubscribe_link_says_so(
    app: Flask, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    path = LINK.fullmatch(mails_to(app, bob.email)[0]["List-Unsubscribe"]).group(1)  # type: ignore[union-attr]
    monkeypatch.setattr(unsubscribe, "LIFETIME", timedelta(seconds=-1))
    resp = app.test_client().post(path.removeprefix("http://testserver"))
    assert resp.status_code == 410 and "expired" in text(resp)
    assert bob.get(SETTINGS).json["kinds"]["added_to_project"] is True


def test_the_settings_on_the_account_page(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    token = web_login(client, alice.email)
    page = text(client.get("/account"))
    assert 'id="a-notifications">Notification settings</h2>' in page
    assert ">Daily digest</span>" in page and 'id="notify-zone"' in page
    bad = client.post(
        "/account/notifications",
        data={
            "csrf_token": token,
            "mode": "digest",
            "digest_hour": "9",
            "time_zone": "Atlantis/Capital",
            "kinds-present": "1",
            "kinds": ["assigned"],
        },
    )
    assert bad.status_code == 422 and "Unknown time zone" in text(bad)
    assert 'value="Atlantis/Capital"' in text(bad)
    assert alice.get(SETTINGS).json["mode"] == "instant"
    ok = client.post(
        "/account/notifications",
        data={
            "csrf_token": csrf_from(text(bad)),
            "mode": "digest",
            "digest_hour": "9",
            "time_zone": "Europe/Berlin",
            "kinds-present": "1",
            "kinds": ["assigned"],
        },
    )
    assert ok.status_code == 303
    settings = alice.get(SETTINGS).json
    assert settings["mode"] == "digest" and settings["digest_hour"] == 9
    assert settings["kinds"] == {k: k == "assigned" for k in preferences.KINDS}


def test_watch_and_mute_buttons_on_the_board_and_the_card(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    task = alice.create_task(pid, "Button")
    token = web_login(client, bob.email)
    board = text(client.get(f"/projects/{pid}"))
    assert '>Watch<span class="visually-hidden"> project</span>' in board
    assert '>Mute<span class="visually-hidden"> project</span>' in board
    watched = client.post(f"/projects/{pid}/follow", data={"csrf_token": token, "state": "watch"})
    assert watched.status_code == 303
    board = text(client.get(f"/projects/{pid}"))
    assert '>Unwatch<span class="visually-hidden"> project</span>' in board
    detail = text(client.get(f"/tasks/{task['id']}"))
    assert '>Watch<span class="visually-hidden"> this task</span>' in detail
    client.post(f"/tasks/{task['id']}/watch", data={"csrf_token": token, "watch": "on"})
    assert '>Unwatch<span class="visually-hidden"> this task</span>' in text(
        client.get(f"/tasks/{task['id']}")
    )
    client.post(f"/projects/{pid}/follow", data={"csrf_token": token, "state": "mute"})
    assert '>Unmute<span class="visually-hidden"> project</span>' in text(
        client.get(f"/projects/{pid}")
    )
    before = len(statuses(app, bob.email))
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "muted?"})
    assert len(statuses(app, bob.email)) == before

"""Integrations (SPEC §14): signed webhooks through the outbox, with a real HTTP receiver;
the calendar feed parsed by icalendar; the read-only link opened as an outsider; metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import csrf_from, text, web_login

from taskboard.extensions import db
from taskboard.models import WebhookDelivery
from taskboard.queue import huey
from taskboard.services import webhooks

API = "/api/v1"
SECRET = "a-webhook-secret-of-some-length"


class Receiver:
    """A local HTTP endpoint that records what it gets and answers what it is told."""

    def __init__(self) -> None:
        self.got: list[dict[str, Any]] = []
        self.answers: list[int] = []  # status codes to answer, in turn; then 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append({"headers": dict(self.headers), "body": body})
                status = receiver.answers.pop(0) if receiver.answers else 200
                receiver.got[-1]["status"] = status
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[str]:
        return [json.loads(item["body"])["event"] for item in self.got]


@pytest.fixture
def receiver(app: Flask) -> Iterator[Receiver]:
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver is on loopback
    found = Receiver()
    yield found
    found.server.shutdown()


@pytest.fixture
def queue_only() -> Iterator[None]:
    huey.immediate = False
    yield
    huey.immediate = True


def add_hook(owner: ApiUser, pid: str, url: str, events: list[str] | None = None) -> Any:
    body = {
        "url": url,
        "events": list(webhooks.EVENTS) if events is None else events,
        "secret": SECRET,
    }
    return owner.post(f"{API}/projects/{pid}/webhooks", json=body)


def rows(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(WebhookDelivery)))
        db.session.expunge_all()
        return found


def sweep(app: Flask, *, ready: bool = True) -> dict[str, int]:
    """Run the worker's sweep, with the waits of retries over if `ready`."""
    with app.app_context():
        if ready:
            db.session.execute(
                sa.update(WebhookDelivery)
                .where(WebhookDelivery.state == "pending")
                .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
            )
            db.session.commit()
        return webhooks.sweep()


# Webhooks ---------------------------------------------------------------------------


def test_every_event_arrives_signed_with_its_exact_body(
    app: Flask, receiver: Receiver, alice: ApiUser, bob: ApiUser
) -> None:
    pid = alice.create_project("Hooked")["id"]
    made = add_hook(alice, pid, receiver.url)
    assert made.status_code == 201, made.json
    assert made.json["secret"] == SECRET and made.json["active"] is True
    assert made.json["events"] == list(webhooks.EVENTS)

    alice.add_member(pid, bob)
    task = alice.create_task(pid, "Hook me")
    alice.patch(f"{API}/tasks/{task['id']}", json={"title": "Hooked up"})
    alice.patch(f"{API}/tasks/{task['id']}", json={"status": "done"})
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "Signed, sealed"})
    alice.delete(f"{API}/tasks/{task['id']}")
    alice.delete(f"{API}/projects/{pid}/members/{bob.id}")
    assert receiver.events() == [
        "member.added",
        "task.created",
        "task.updated",
        "task.moved",
        "comment.created",
        "task.deleted",
        "member.removed",
    ]
    for item in receiver.got:
        headers, body = item["headers"], item["body"]
        expected = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers["X-Taskboard-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        assert headers["X-Taskboard-Event"] == payload["event"]
        assert uuid.UUID(headers["X-Taskboard-Delivery"])
        assert headers["Content-Type"] == "application/json"
        assert payload["project_id"] == pid and payload["actor"]["id"] == alice.id
        assert datetime.fromisoformat(payload["occurred_at"])
    moved = json.loads(receiver.got[3]["body"])
    assert moved["task"]["status"] == "done" and moved["from"]["name"] == "To Do"
    assert moved["to"]["name"] == "Done"
    comment = json.loads(receiver.got[4]["body"])
    assert comment["comment"]["body"] == "Signed, sealed" and comment["task"]["id"] == task["id"]
    log = alice.get(f"{API}/webhooks/{made.json['id']}/deliveries").json
    assert len(log) == 7 and {d["state"] for d in log} == {"delivered"}
    assert set(log[0]) == {
        "id",
        "event",
        "state",
        "status",
        "duration_ms",
        "error",
        "attempts",
        "created_at",
    }
    assert log[0]["status"] == 200 and log[0]["attempts"] == 1
    assert log[0]["id"] == receiver.got[-1]["headers"]["X-Taskboard-Delivery"]


def test_only_the_chosen_events_go_out(app: Flask, receiver: Receiver, alice: ApiUser) -> None:
    pid = alice.create_project()["id"]
    add_hook(alice, pid, receiver.url, ["comment.created"])
    task = alice.create_task(pid)
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "only this"})
    assert receiver.events() == ["comment.created"]


def test_a_failing_receiver_gets_retries_and_each_event_once_after_a_2xx(
    app: Flask, receiver: Receiver, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    hook = add_hook(alice, pid, receiver.url, ["task.created"]).json
    receiver.answers = [500, 503]
    alice.create_task(pid, "Persistent")
    (row,) = rows(app)
    assert row.state == "pending" and row.attempts == 1 and row.status == 500
    assert row.next_attempt_at > datetime.now(UTC)  # waits before the next try
    assert sweep(app, ready=False) == {}  # not due yet
    assert sweep(app) == {"retrying": 1}
    assert sweep(app) == {"delivered": 1}
    assert sweep(app) == {}  # never again after the 2xx
    ids = {item["headers"]["X-Taskboard-Delivery"] for item in receiver.got}
    assert len(receiver.got) == 3 and ids == {str(row.id)}  # the same id on every retry
    bodies = {item["body"] for item in receiver.got}
    assert len(bodies) == 1
    (row,) = rows(app)
    assert row.state == "delivered" and row.attempts == 3 and row.error is None
    log = alice.get(f"{API}/webhooks/{hook['id']}/deliveries").json
    assert log[0]["state"] == "delivered" and log[0]["status"] == 200


def test_a_webhook_that_keeps_failing_is_switched_off_and_its_owner_told(
    app: Flask, receiver: Receiver, alice: ApiUser
) -> None:
    from test_account_links import mails_to

    app.config.update(WEBHOOK_MAX_ATTEMPTS=2, WEBHOOK_DISABLE_AFTER=2)
    pid = alice.create_project("Flaky")["id"]
    hook = add_hook(alice, pid, receiver.url, ["task.created"]).json
    receiver.answers = [500] * 10
    alice.create_task(pid, "one")
    alice.create_task(pid, "two")
    assert sweep(app) == {"failed": 2}
    states = sorted((r.state, r.attempts, r.status) for r in rows(app))
    assert states == [("failed", 2, 500), ("failed", 2, 500)]
    after = alice.get(f"{API}/webhooks/{hook['id']}").json
    assert after["active"] is False and "given up" in after["disabled_reason"]
    subjects = [m["Subject"] for m in mails_to(app, alice.email)]
    assert "[Taskboard] A webhook of “Flaky” was switched off" in subjects
    alice.create_task(pid, "three")  # switched off: no delivery at all
    assert len(rows(app)) == 2
    again = alice.patch(f"{API}/webhooks/{hook['id']}", json={"active": True})
    assert again.json["active"] is True and again.json["disabled_reason"] is None


def test_addresses_that_are_not_public_are_refused(
    app: Flask, alice: ApiUser, bob: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    before = table_counts(app)
    for url in (
        "http://127.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ):
        body = assert_error(add_hook(alice, pid, url), 422, "url")
        assert "public addresses only" in body["errors"]["json"]["url"][0], url
    for url in (
        "ftp://example.com/x",
        "javascript:alert(1)",
        "http://",
        "not a url",
        "http://user:pass@example.com/",
        "https://example.com/" + "x" * 2000,
    ):
        assert_error(add_hook(alice, pid, url), 422, "url")
    assert_error(
        add_hook(alice, pid, "https://hooks.example.com/x", ["task.exploded"]), 422, "events"
    )
    assert_error(add_hook(alice, pid, "https://hooks.example.com/x", []), 422, "events")
    short = alice.post(
        f"{API}/projects/{pid}/webhooks",
        json={"url": "https://hooks.example.com/x", "events": ["task.created"], "secret": "short"},
    )
    assert_error(short, 422, "secret")
    assert_error(add_hook(bob, pid, "https://hooks.example.com/x"), 403)
    assert table_counts(app) == before


def test_a_name_that_turns_private_after_the_check_is_not_followed(
    app: Flask, receiver: Receiver, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when the webhook is saved, loopback when it is sent."""
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    port = receiver.server.server_address[1]
    answers = {"hooks.example.test": "93.184.216.34"}
    real = socket.getaddrinfo

    def fake(host: str, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    pid = alice.create_project()["id"]
    assert add_hook(alice, pid, f"http://hooks.example.test:{port}/hook").status_code == 201
    answers["hooks.example.test"] = "127.0.0.1"
    alice.create_task(pid)
    (row,) = rows(app)
    assert row.state == "pending" and "public addresses only" in (row.error or "")
    assert receiver.got == []


def test_redirects_are_not_followed(app: Flask, receiver: Receiver, alice: ApiUser) -> None:
    pid = alice.create_project()["id"]
    add_hook(alice, pid, receiver.url, ["task.created"])
    receiver.answers = [302]
    alice.create_task(pid)
    (row,) = rows(app)
    assert row.state == "pending" and row.status == 302
    assert len(receiver.got) == 1


def test_deliveries_are_written_with_the_change_and_the_sweep_sends_them(
    app: Flask, receiver: Receiver, queue_only: None, alice: ApiUser
) -> None:
    """The queue carries nothing here: the rows are there all the same, and go out."""
    pid = alice.create_project()["id"]
    add_hook(alice, pid, receiver.url, ["task.created"])
    alice.create_task(pid)
    assert [r.state for r in rows(app)] == ["pending"] and receiver.got == []
    assert sweep(app, ready=False) == {"delivered": 1}
    assert receiver.events() == ["task.created"]


def test_a_failed_change_writes_no_delivery(app: Flask, receiver: Receiver, alice: ApiUser) -> None:
    pid = alice.create_project()["id"]
    add_hook(alice, pid, receiver.url)
    resp = alice.post(f"{API}/projects/{pid}/tasks", json={"title": ""})
    assert resp.status_code == 422 and rows(app) == [] and receiver.got == []


def test_the_test_event_patch_and_delete(
    app: Flask, receiver: Receiver, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    hook = add_hook(alice, pid, receiver.url, ["task.created"]).json
    sent = alice.post(f"{API}/webhooks/{hook['id']}/test")
    assert sent.status_code == 202 and sent.json["event"] == "webhook.test"
    assert receiver.events() == ["webhook.test"]
    listed = alice.get(f"{API}/projects/{pid}/webhooks").json
    assert [h["id"] for h in listed] == [hook["id"]]
    changed = alice.patch(f"{API}/webhooks/{hook['id']}", json={"events": ["task.deleted"]})
    assert changed.json["events"] == ["task.deleted"]
    assert_error(
        alice.patch(f"{API}/webhooks/{hook['id']}", json={"events": ["nope"]}), 422, "events"
    )
    assert_error(add_hook(alice, pid, receiver.url), 409, "url")  # one per URL
    for who, code in ((bob, 403), (carol, 404)):
        assert_error(who.get(f"{API}/webhooks/{hook['id']}"), code)
        assert_error(who.get(f"{API}/webhooks/{hook['id']}/deliveries"), code)
        assert_error(who.delete(f"{API}/webhooks/{hook['id']}"), code)
        assert_error(who.get(f"{API}/projects/{pid}/webhooks"), code)
    assert alice.delete(f"{API}/webhooks/{hook['id']}").status_code == 204
    assert rows(app) == []
    assert_error(alice.get(f"{API}/webhooks/{hook['id']}"), 404)


def test_the_delivery_log_keeps_the_last_50(app: Flask, receiver: Receiver, alice: ApiUser) -> None:
    pid = alice.create_project()["id"]
    hook = add_hook(alice, pid, receiver.url, ["task.created"]).json
    for n in range(53):
        alice.create_task(pid, f"t{n}")
    assert len(alice.get(f"{API}/webhooks/{hook['id']}/deliveries").json) == 50
    assert len(rows(app)) == 50


def test_webhooks_on_the_settings_page(
    app: Flask, client: FlaskClient, receiver: Receiver, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    token = web_login(client, alice.email)
    page = text(client.get(f"/projects/{pid}/settings"))
    assert 'id="s-webhooks">Webhooks</h2>' in page and ">Add webhook</button>" in page
    before = table_counts(app)
    bad = client.post(
        f"/projects/{pid}/webhooks",
        data={"csrf_token": token, "url": "gopher://x", "events": ["task.created"]},
    )
    assert bad.status_code == 422 and 'value="gopher://x"' in text(bad)
    assert "must start with http:// or https://" in text(bad)
    assert table_counts(app) == before
    made = client.post(
        f"/projects/{pid}/webhooks",
        data={"csrf_token": token, "url": receiver.url, "events": ["task.created"]},
    )
    assert made.status_code == 303
    hook_page = text(client.get(made.headers["Location"]))
    assert ">Send test event</button>" in hook_page and "Signing secret" in hook_page
    tested = client.post(made.headers["Location"] + "/test", data={"csrf_token": token})
    assert tested.status_code == 303 and receiver.events() == ["webhook.test"]
    hook_page = text(client.get(made.headers["Location"]))
    assert "<td>webhook.test</td><td>delivered</td><td>200</td>" in hook_page


# The calendar feed -------------------------------------------------------------------


def feed_path(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_the_calendar_feed_lists_assigned_open_tasks_with_a_due_date(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    pid = alice.create_project("Plans; big, bold")["id"]
    alice.add_member(pid, bob)
    due = datetime(2031, 3, 4, 15, 30, tzinfo=UTC)
    title = "Ship it, then; celebrate \\ rest — " + " ".join(["long"] * 20)
    mine = alice.create_task(
        pid, title, assignee_ids=[alice.id], due_date=due.isoformat(), description="a\nb"
    )
    alice.create_task(pid, "No date", assignee_ids=[alice.id])
    alice.create_task(pid, "Bob's", assignee_ids=[bob.id], due_date=due.isoformat())
    alice.create_task(pid, "Done", assignee_ids=[alice.id], due_date=due.isoformat(), status="done")
    assert_error(alice.get(f"{API}/users/me/calendar"), 404)
    made = alice.post(f"{API}/users/me/calendar")
    assert made.status_code == 201 and "/calendar/" in made.json["url"]
    assert made.json["url"].endswith(".ics")
    assert alice.get(f"{API}/users/me/calendar").json == made.json

    resp = app.test_client().get(feed_path(made.json["url"]))  # no login: the URL is the key
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/calendar; charset=utf-8"
    raw = resp.data
    for line in raw.split(b"\r\n"):
        assert len(line) <= 75, line  # folded (RFC 5545 3.1)
    assert b"\r\n " in raw  # the long summary was folded
    assert b"SUMMARY:Ship it\\, then\\; celebrate \\\\ rest" in raw.replace(b"\r\n ", b"")
    parsed = icalendar.Calendar.from_ical(raw)
    assert parsed["VERSION"] == "2.0" and "PRODID" in parsed
    events = parsed.walk("VEVENT")
    assert [str(e["SUMMARY"]) for e in events] == [title]
    event = events[0]
    assert str(event["UID"]) == f"{mine['id']}@taskboard"
    assert event.decoded("DTSTART") == due
    first_sequence = int(event["SEQUENCE"])
    assert "a\nb" in str(event["DESCRIPTION"])

    alice.patch(f"{API}/tasks/{mine['id']}", json={"title": "Renamed"})
    again = icalendar.Calendar.from_ical(app.test_client().get(feed_path(made.json["url"])).data)
    (event,) = again.walk("VEVENT")
    assert str(event["UID"]) == f"{mine['id']}@taskboard"  # stable
    assert int(event["SEQUENCE"]) > first_sequence and str(event["SUMMARY"]) == "Renamed"

    # A new feed: the old URL is dead; revoked: the new one too.
    newer = alice.post(f"{API}/users/me/calendar").json["url"]
    assert newer != made.json["url"]
    assert app.test_client().get(feed_path(made.json["url"])).status_code == 404
    assert alice.delete(f"{API}/users/me/calendar").status_code == 204
    assert app.test_client().get(feed_path(newer)).status_code == 404
    assert_error(alice.delete(f"{API}/users/me/calendar"), 404)
    for forged in ("/calendar/nonsense.ics", "/calendar/eyJ1IjoieCJ9.forged.ics"):
        assert app.test_client().get(forged).status_code == 404


def test_the_calendar_feed_on_the_account_page(client: FlaskClient, alice: ApiUser) -> None:
    token = web_login(client, alice.email)
    page = text(client.get("/account"))
    assert 'id="a-calendar">Calendar feed</h2>' in page
    assert ">Create calendar feed</button>" in page and "Calendar feed URL" not in page
    assert client.post("/account/calendar", data={"csrf_token": token}).status_code == 303
    page = text(client.get("/account"))
    assert '<label for="calendar-url">Calendar feed URL</label>' in page
    assert ">Revoke calendar feed</button>" in page
    url = alice.get(f"{API}/users/me/calendar").json["url"]
    assert f'value="{url}" readonly' in page
    ask = client.post("/account/calendar/revoke", data={"csrf_token": token})
    assert ask.status_code == 200 and "Revoke your calendar feed?" in text(ask)
    done = client.post("/account/calendar/revoke", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    assert_error(alice.get(f"{API}/users/me/calendar"), 404)


# The read-only link ------------------------------------------------------------------


def share_path(url: str) -> str:
    return url.split("testserver", 1)[1]


def test_a_read_only_link_shows_the_board_to_an_outsider(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project("Open plan")
    pid = project["id"]
    alice.add_member(pid, bob)
    task = alice.create_task(pid, "Visible card", assignee_ids=[bob.id], description="Details")
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "A remark"})
    alice.post(f"{API}/tasks/{task['id']}/checklist", json={"text": "A step"})
    assert_error(bob.put(f"{API}/projects/{pid}/share"), 403)
    assert_error(carol.put(f"{API}/projects/{pid}/share"), 404)
    on = alice.put(f"{API}/projects/{pid}/share")
    assert on.status_code == 200 and "/share/" in on.json["url"]
    assert alice.put(f"{API}/projects/{pid}/share").json == on.json  # the same while on
    outsider = app.test_client()
    board = outsider.get(share_path(on.json["url"]))
    html = text(board)
    assert board.status_code == 200
    assert "Open plan" in html and "Visible card" in html and "Bob Brown" in html
    assert "@example.com" not in html  # names, no emails
    assert '<meta name="robots" content="noindex, nofollow">' in html
    assert board.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert 'method="post"' not in html.replace('action="/logout"', "")  # no edit controls
    assert "Add task" not in html and "Move" not in html
    card = outsider.get(f"{share_path(on.json['url'])}/tasks/{task['id']}")
    card_html = text(card)
    assert card.status_code == 200
    assert "Details" in card_html and "A remark" in card_html and "Alice Adams" in card_html
    assert "A step" in card_html and "@example.com" not in card_html
    assert "Delete" not in card_html and "Save" not in card_html
    # A card of another project, through this link: none.
    other = alice.create_project("Private")["id"]
    secret = alice.create_task(other, "Secret card")
    assert outsider.get(f"{share_path(on.json['url'])}/tasks/{secret['id']}").status_code == 404
    # Off: 404 at once; on again: a new link, the old one still dead.
    assert alice.delete(f"{API}/projects/{pid}/share").status_code == 204
    assert outsider.get(share_path(on.json["url"])).status_code == 404
    assert_error(alice.get(f"{API}/projects/{pid}/share"), 404)
    again = alice.put(f"{API}/projects/{pid}/share").json["url"]
    assert again != on.json["url"]
    assert outsider.get(share_path(on.json["url"])).status_code == 404
    assert outsider.get(share_path(again)).status_code == 200
    assert outsider.get("/share/forged.token").status_code == 404


def test_the_read_only_link_on_the_settings_page(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    pid = alice.create_project()["id"]
    token = web_login(client, alice.email)
    page = text(client.get(f"/projects/{pid}/settings"))
    assert ">Turn on read-only link</button>" in page
    assert client.post(f"/projects/{pid}/share", data={"csrf_token": token}).status_code == 303
    page = text(client.get(f"/projects/{pid}/settings"))
    url = alice.get(f"{API}/projects/{pid}/share").json["url"]
    assert '<label for="share-url">Read-only link</label>' in page and f'value="{url}"' in page
    assert ">Turn off read-only link</button>" in page
    token = csrf_from(page)
    assert client.post(f"/projects/{pid}/share/off", data={"csrf_token": token}).status_code == 303
    assert app.test_client().get(share_path(url)).status_code == 404


# Metrics -----------------------------------------------------------------------------


def test_metrics_need_the_token(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    assert client.get("/metrics").status_code == 404  # no METRICS_TOKEN: nothing there
    app.config["METRICS_TOKEN"] = "scrape-me-please"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    alice.create_project()
    alice.get(f"{API}/projects")
    resp = client.get("/metrics", headers={"Authorization": "Bearer scrape-me-please"})
    assert resp.status_code == 200 and resp.mimetype == "text/plain"
    body = text(resp)
    assert (
        'taskboard_http_requests_total{method="GET",route="/api/v1/projects",status="200"}' in body
    )
    assert (
        'taskboard_http_request_duration_seconds_bucket{le="0.005",method="GET",route="/api/v1/projects"}'
        in body
    )
    assert "taskboard_queue_length" in body and "taskboard_webhook_deliveries" in body
    assert "taskboard_outbox_notifications" in body and "taskboard_file_removals_pending" in body

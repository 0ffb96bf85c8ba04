"""Per-request plumbing: JSON encoding, the cookie session's signer, security headers."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify, session
from flask.json.provider import DefaultJSONProvider

from taskboard.http import JSONProvider, SessionInterface


@pytest.fixture
def bare_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = "k" * 40
    app.json = JSONProvider(app)
    app.session_interface = SessionInterface()
    return app


@dataclass
class Point:
    x: int
    when: datetime


def test_json_is_what_flask_would_encode(bare_app):
    value = {
        "text": "Zoë <b>&</b> 名前 \u2028 😀",
        "id": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "when": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "point": Point(1, datetime(2026, 1, 2, tzinfo=UTC)),
        "nested": [{"b": 1, "a": None, "3": True}],
    }
    with bare_app.app_context():
        body = jsonify(value).get_data()
    expected = DefaultJSONProvider(bare_app).dumps(value)
    assert json.loads(body) == json.loads(expected)
    assert list(json.loads(body)) == list(value)  # the order the code gave, not sorted


def test_what_orjson_refuses_is_encoded_by_the_standard_library(bare_app):
    with bare_app.app_context():
        resp = jsonify({"big": 2**70, "lone": "\ud800"})
    assert json.loads(resp.get_data()) == {"big": 2**70, "lone": "\ud800"}
    assert resp.mimetype == "application/json"


def test_session_signer_is_reused_and_follows_the_key(bare_app):
    interface = bare_app.session_interface
    first = interface.get_signing_serializer(bare_app)
    assert interface.get_signing_serializer(bare_app) is first
    bare_app.secret_key = "other" * 10
    assert interface.get_signing_serializer(bare_app) is not first


def test_a_cookie_signed_with_an_old_key_is_refused(bare_app):
    @bare_app.get("/set")
    def set_value() -> str:
        session["who"] = "ann"
        return "ok"

    @bare_app.get("/get")
    def get_value() -> str:
        return session.get("who", "nobody")

    client = bare_app.test_client()
    client.get("/set")
    assert client.get("/get").text == "ann"
    bare_app.secret_key = "rotated" * 10
    assert client.get("/get").text == "nobody"


def test_security_headers_on_api_pages_and_errors(client, alice):
    for resp in (
        alice.get("/api/v1/projects"),
        client.get("/login"),
        client.get("/api/v1/nope"),
        client.get("/api/docs"),
    ):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["X-Frame-Options"] == "DENY"
        assert resp.headers["Referrer-Policy"] == "same-origin"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
        assert len(resp.headers.getlist("Content-Security-Policy")) == 1


def test_session_without_cookie_header_and_clearing_one(bare_app):
    """No Cookie header: an empty session, no Set-Cookie, and `Vary: Cookie` only when
    read. A session emptied by the view still deletes its cookie."""

    @bare_app.get("/read")
    def read_value() -> str:
        return session.get("who", "nobody")

    @bare_app.get("/set")
    def set_value() -> str:
        session["who"] = "ann"
        return "ok"

    @bare_app.get("/clear")
    def clear_value() -> str:
        session.clear()
        return "ok"

    @bare_app.get("/plain")
    def plain() -> str:
        return "ok"

    client = bare_app.test_client(use_cookies=False)
    resp = client.get("/read")
    assert resp.text == "nobody"
    assert "Set-Cookie" not in resp.headers
    assert resp.headers["Vary"] == "Cookie"
    assert "Vary" not in client.get("/plain").headers

    cookie = client.get("/set").headers["Set-Cookie"].split(";", 1)[0]
    assert client.get("/read", headers={"Cookie": cookie}).text == "ann"
    cleared = client.get("/clear", headers={"Cookie": cookie}).headers["Set-Cookie"]
    assert cleared.startswith("session=;") and "Expires=Thu, 01 Jan 1970" in cleared


def test_ensure_sync_remembers_plain_functions_within_a_bound():
    from taskboard.http import App

    app = App(__name__)

    def plain() -> str:
        return "ok"

    assert app.ensure_sync(plain) is plain
    assert plain in app._plain

    class View:
        def get(self) -> str:
            return "ok"

    bound = View().get
    assert app.ensure_sync(bound) is bound
    assert View.get in app._plain  # the function, not this one bound method

    async def coroutine() -> str:
        return "ok"

    try:
        wrapped = app.ensure_sync(coroutine)
    except RuntimeError:  # Flask's async support is not installed
        wrapped = None
    assert wrapped is not coroutine
    assert coroutine not in app._plain

    for _ in range(App._PLAIN_LIMIT + 10):
        app.ensure_sync(lambda: None)
    assert len(app._plain) <= App._PLAIN_LIMIT
    assert app.ensure_sync(plain) is plain


def test_api_answers_are_private_and_pages_keep_their_session(app, alice):
    """A bearer request's answer sets no cookie and is for its caller only (so no shared
    cache keys it on cookies); a logged-in page reads (and varies on) its session."""
    from webutil import web_login

    project = alice.create_project()
    for resp in (alice.get("/api/v1/projects"), alice.get(f"/api/v1/projects/{project['id']}")):
        assert resp.status_code == 200
        assert resp.headers["Cache-Control"] == "private, no-cache"
        assert "Set-Cookie" not in resp.headers

    browser = app.test_client()
    token = web_login(browser, alice.email)
    page = browser.get(f"/projects/{project['id']}")
    assert page.status_code == 200
    assert "Cookie" in page.headers["Vary"]
    browser.post("/logout", data={"csrf_token": token})
    assert browser.get(f"/projects/{project['id']}").status_code in (302, 303)


def test_queue_warnings_are_written_once_per_interval(monkeypatch):
    """waitress's "Task queue depth" warning, once per interval, with the count held back."""
    import logging

    from taskboard import http

    clock = [100.0]
    monkeypatch.setattr(http.time, "monotonic", lambda: clock[0])
    once = http.OncePerInterval(10.0)

    def warn(depth: int) -> logging.LogRecord | None:
        record = logging.LogRecord(
            "waitress.queue", logging.WARNING, "", 0, "Task queue depth is %d", (depth,), None
        )
        return record if once.filter(record) else None

    first = warn(1)
    assert first is not None and first.getMessage() == "Task queue depth is 1"
    assert [warn(d) for d in (2, 3, 4)] == [None, None, None]
    clock[0] += 9.9
    assert warn(5) is None
    clock[0] += 0.2
    later = warn(6)
    assert later is not None
    assert later.getMessage() == "Task queue depth is 6 (and 4 more since the last such warning)"
    clock[0] += 60
    assert warn(1).getMessage() == "Task queue depth is 1"


def test_the_app_filters_waitress_queue_warnings(app):
    import logging

    from taskboard.http import OncePerInterval

    filters = logging.getLogger("waitress.queue").filters
    assert sum(isinstance(f, OncePerInterval) for f in filters) == 1


@pytest.mark.parametrize("db_backend", ["sqlite"], indirect=True)
def test_pages_and_json_are_gzipped_for_clients_that_ask(client, alice):
    import gzip

    pid = alice.create_project()["id"]
    for i in range(30):
        alice.create_task(pid, f"Card number {i} with a title long enough to repeat")
    url = f"/api/v1/projects/{pid}/tasks?per_page=50"
    plain = client.get(url, headers=alice.headers)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get(url, headers={**alice.headers, "Accept-Encoding": "br, gzip;q=0.8"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) < len(plain.data) / 3
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    # The representation keeps its validator (If-Match works whatever the coding).
    task = alice.create_task(pid, "Long one", description="All the details. " * 100)
    one = f"/api/v1/tasks/{task['id']}"
    packed = client.get(one, headers={**alice.headers, "Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert packed.headers["ETag"] == client.get(one, headers=alice.headers).headers["ETag"]
    # Refused with q=0, or too small to be worth it: as it is.
    refused = client.get(url, headers={**alice.headers, "Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers
    small = client.get("/api/v1/users/me", headers={**alice.headers, "Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in small.headers and small.get_json()["email"]
    # Static files are the file wrapper's: left alone.
    css = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in css.headers

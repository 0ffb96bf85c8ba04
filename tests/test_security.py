"""The second security pass (SPEC §16): each finding of the attack on the running app.

Dates out of range, sessions that end, token families, unreadable JSON, log lines that
cannot be forged, caching headers, reset mail caps, invisible titles and bidi controls.
(The shared password budget and device cookies are in test_limits.py.)
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import BASE_CONFIG, PASSWORD, ApiUser
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webutil import HX, csrf, csrf_from, text, web_login

from taskboard import create_app
from taskboard.extensions import db
from taskboard.models import LoginSession, Task

API = "/api/v1"
FAR = ["9999-12-31T23:59:59+00:00", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+00:00"]


# 1. Extreme dates ------------------------------------------------------------------


@pytest.mark.parametrize("due", [*FAR, "1899-12-31T23:59:59+00:00", "9001-01-01T00:00:00Z"])
def test_dates_out_of_range_are_422_on_the_field(
    app: Flask, alice: ApiUser, due: str
) -> None:
    project = alice.create_project()
    task = alice.create_task(project["id"])
    created = alice.post(
        f"{API}/projects/{project['id']}/tasks", json={"title": "T", "due_date": due}
    )
    assert created.status_code == 422
    assert created.json["errors"]["json"]["due_date"] == [
        "Due date must be between the years 1900 and 9000."
    ]
    patched = alice.patch(f"{API}/tasks/{task['id']}", json={"due_date": due})
    assert patched.status_code == 422 and "due_date" in patched.json["errors"]["json"]
    for url in (f"{API}/tasks", f"{API}/projects/{project['id']}/tasks"):
        listed = alice.get(url, query_string={"due_before": due, "due_after": due})
        assert listed.status_code == 422, listed.json
        assert "due_before" in listed.json["errors"]["query"]
    assert alice.get(f"{API}/tasks/{task['id']}").json["due_date"] is None


def test_the_edges_of_the_range_are_taken(app: Flask, alice: ApiUser) -> None:
    project = alice.create_project()
    for due in ("1900-01-01T00:00:00+00:00", "9000-12-31T23:59:59-12:00"):
        task = alice.create_task(project["id"], due_date=due)
        assert task["due_date"] is not None


def test_a_far_date_already_stored_never_breaks_a_page(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project()
    far = alice.create_task(project["id"], "Far away")
    with app.app_context():
        db.session.execute(
            sa.update(Task)
            .where(Task.id == uuid.UUID(far["id"]))
            .values(due_date=datetime(9999, 12, 31, 23, 59, tzinfo=UTC))
        )
        db.session.commit()
    web_login(client, alice.email)
    for zone in ("America/New_York", "Pacific/Kiritimati", "UTC"):
        client.set_cookie("tz", zone)
        board = client.get(f"/projects/{project['id']}")
        assert board.status_code == 200, zone
        assert "Far away" in text(board)
        assert client.get(f"/projects/{project['id']}", headers=HX).status_code in (
            200,
            304,
        )
        assert client.get(f"/tasks/{far['id']}").status_code == 200


def test_the_form_refuses_a_far_date_with_a_message(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project()
    task = alice.create_task(project["id"], "Dated")
    web_login(client, alice.email)
    client.set_cookie("tz", "America/New_York")
    token = csrf(client, f"/tasks/{task['id']}")
    for day in ("9999-12-31", "0001-01-01"):
        resp = client.post(
            f"/tasks/{task['id']}",
            data={"csrf_token": token, "title": "Dated", "due_date": day, "status": "todo"},
        )
        assert resp.status_code == 422
        assert "Due date must be between the years 1900 and 9000." in text(resp)
        assert f'value="{day}"' in text(resp)  # what was typed is kept
    assert alice.get(f"{API}/tasks/{task['id']}").json["due_date"] is None


def test_an_error_page_that_cannot_render_still_answers(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from taskboard.errors import handlers

    def broken(*args: Any, **kwargs: Any) -> str:
        raise OverflowError("date value out of range")

    monkeypatch.setattr(handlers, "render_template", broken)
    resp = client.get("/no-such-page")
    assert resp.status_code == 404
    assert "Error 404" in text(resp)
    assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# 2. Sessions that end --------------------------------------------------------------


def copy_cookies(source: FlaskClient, target: FlaskClient) -> None:
    cookie = source.get_cookie("session")
    assert cookie is not None
    target.set_cookie("session", cookie.value)


def test_logout_ends_the_session_on_the_server(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    token = web_login(client, alice.email)
    thief = app.test_client()
    copy_cookies(client, thief)
    assert thief.get("/projects").status_code == 200  # the copy works while logged in
    assert client.post("/logout", data={"csrf_token": token}).status_code == 303
    resp = thief.get("/projects")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_logging_out_one_browser_keeps_the_others(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    token = web_login(client, alice.email)
    other = app.test_client()
    web_login(other, alice.email)
    client.post("/logout", data={"csrf_token": token})
    assert other.get("/projects").status_code == 200


def age_sessions(app: Flask, **ago: timedelta) -> None:
    now = datetime.now(UTC)
    with app.app_context():
        db.session.execute(
            sa.update(LoginSession).values({name: now - delta for name, delta in ago.items()})
        )
        db.session.commit()


def test_idle_and_absolute_timeouts(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    web_login(client, alice.email)
    age_sessions(app, last_seen_at=timedelta(days=13), created_at=timedelta(days=13))
    assert client.get("/projects").status_code == 200  # used within 14 days
    age_sessions(app, last_seen_at=timedelta(days=15))
    assert client.get("/projects").status_code == 302  # idle too long

    web_login(client, alice.email)
    assert client.get("/projects").status_code == 200
    age_sessions(app, created_at=timedelta(days=31), last_seen_at=timedelta(minutes=1))
    assert client.get("/projects").status_code == 302  # in use, but past 30 days


def test_use_is_noted_at_most_hourly_and_the_cookie_not_renewed(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    web_login(client, alice.email)
    age_sessions(app, last_seen_at=timedelta(hours=2))
    resp = client.get("/projects")
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers  # the cookie ends 30 days after login
    with app.app_context():
        seen = db.session.scalars(sa.select(LoginSession.last_seen_at)).one()
    assert datetime.now(UTC) - seen < timedelta(minutes=1)


def test_a_cookie_from_before_login_sessions_is_refused(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    web_login(client, alice.email)
    with client.session_transaction() as sess:
        sess["_user_id"] = sess["_user_id"].rsplit(":", 1)[0]  # `<user>:<version>` only
    assert client.get("/projects").status_code == 302


def test_session_timeouts_are_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from taskboard import config as settings

    monkeypatch.setenv("SESSION_IDLE_DAYS", "2")
    monkeypatch.setenv("SESSION_MAX_DAYS", "5")
    loaded = settings.load(tmp_path)
    assert (loaded["SESSION_IDLE_DAYS"], loaded["SESSION_MAX_DAYS"]) == (2, 5)
    assert loaded["PERMANENT_SESSION_LIFETIME"] == timedelta(days=5)
    monkeypatch.setenv("SESSION_IDLE_DAYS", "9")
    with pytest.raises(settings.ConfigError, match="SESSION_IDLE_DAYS"):
        settings.load(tmp_path)


# 5. Token families -----------------------------------------------------------------


def pair(client: FlaskClient, email: str) -> dict[str, str]:
    resp = client.post(f"{API}/auth/tokens", json={"email": email, "password": PASSWORD})
    assert resp.status_code == 201
    return resp.json


def refresh(client: FlaskClient, token: str) -> Any:
    return client.post(f"{API}/auth/tokens/refresh", json={"refresh_token": token})


def me(client: FlaskClient, access: str) -> int:
    return client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {access}"}).status_code


def test_a_reused_refresh_token_revokes_its_whole_login(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    first = pair(client, alice.email)
    second = refresh(client, first["refresh_token"]).json
    assert me(client, second["access_token"]) == 200
    # The spent refresh token comes back (stolen): refused, and the pair made from it too.
    assert refresh(client, first["refresh_token"]).status_code == 401
    assert me(client, second["access_token"]) == 401
    assert refresh(client, second["refresh_token"]).status_code == 401
    assert me(client, first["access_token"]) == 401
    # Other logins of the same account are not touched.
    assert me(client, alice.token) == 200


def test_logout_ends_every_access_token_of_that_login(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    first = pair(client, alice.email)
    second = refresh(client, first["refresh_token"]).json
    assert me(client, first["access_token"]) == 200  # still within its 30 minutes
    out = client.delete(
        f"{API}/auth/tokens", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert out.status_code == 204
    assert me(client, first["access_token"]) == 401
    assert me(client, second["access_token"]) == 401
    assert me(client, alice.token) == 200


# 6. Unreadable JSON ----------------------------------------------------------------

UNREADABLE = [
    b'{"email":' + b"[" * 1000 + b"]" * 1000 + b"}",
    b"[" * 100_000,
    b'{"email": "a@example.com", "password": ' + b"9" * 5000 + b"}",
    b'{"title": -' + b"1" * 4301 + b"}",
]


def test_unreadable_json_is_400_without_a_traceback(
    app: Flask, client: FlaskClient, alice: ApiUser, caplog: pytest.LogCaptureFixture
) -> None:
    project = alice.create_project()
    paths = [
        f"{API}/auth/register",
        f"{API}/auth/tokens",
        f"{API}/auth/password-reset",
        f"{API}/projects",
        f"{API}/projects/{project['id']}/tasks",
    ]
    for path in paths:
        for body in UNREADABLE:
            resp = client.post(
                path, data=body, headers={**alice.headers, "Content-Type": "application/json"}
            )
            assert resp.status_code == 400, (path, body[:20], resp.status_code)
            assert resp.json["message"].startswith("The request body cannot be read")
    assert "Traceback" not in caplog.text


json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(max_size=20).map(lambda s: '"' + s.replace("\\", "").replace('"', "") + '"'),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    depth=st.integers(min_value=0, max_value=3000),
    digits=st.integers(min_value=1, max_value=9000),
    opener=st.sampled_from(["[", '{"a":']),
    path=st.sampled_from(["/auth/register", "/auth/tokens", "/auth/tokens/refresh",
                          "/auth/password-reset", "/auth/email/confirm"]),
)
def test_fuzzed_bodies_never_get_a_server_error(
    depth: int, digits: int, opener: str, path: str
) -> None:
    """Bodies nested to any depth and numbers of any length, on the routes anyone can
    reach: always a 4xx with a JSON message, never a 500."""
    app = _fuzz_app()
    closer = "]" if opener == "[" else "}"
    body = '{"email": ' + opener * depth + "1" * digits + closer * depth + "}"
    resp = app.test_client().post(f"{API}{path}", data=body, content_type="application/json")
    assert 400 <= resp.status_code < 500, resp.status_code
    assert resp.is_json


_FUZZ_APP: list[Flask] = []


def _fuzz_app() -> Flask:
    if not _FUZZ_APP:
        app = create_app(
            {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": "sqlite://", "PROPAGATE_EXCEPTIONS": False}
        )
        with app.app_context():
            db.create_all()
        _FUZZ_APP.append(app)
    return _FUZZ_APP[0]


# 7. One log line per record ----------------------------------------------------------


def formatted(records: list[logging.LogRecord]) -> list[str]:
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_taskboard", False))
    assert handler.formatter is not None
    return [handler.formatter.format(record) for record in records]


def test_control_characters_cannot_split_a_log_line(
    app: Flask, client: FlaskClient, alice: ApiUser, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("taskboard.request", "taskboard.mail"):  # whatever earlier tests set
        caplog.set_level(logging.INFO, logger=name)
    client.get("/nothing%0a2026-12-02 INFO taskboard.request: GET /forged 200")
    project = alice.create_project("Project\r\nINFO forged")
    bob = alice.client.post(
        f"{API}/auth/register",
        json={"email": "bob@example.com", "name": "Bob", "password": PASSWORD},
    )
    assert bob.status_code == 201
    alice.add_member(project["id"], ApiUser(alice.client, bob.json["id"], "bob@example.com",
                                            "Bob", "", ""))
    lines = formatted(caplog.records)
    assert any("/nothing\\n2026-12-02" in line for line in lines), lines
    assert any("mail to bob@example.com" in line for line in lines), lines
    for line in lines:
        assert "\n" not in line and "\r" not in line, line


# 8. Caching and transport headers ---------------------------------------------------


def test_secrets_are_not_stored_and_private_answers_not_shared(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    issued = client.post(f"{API}/auth/tokens", json={"email": alice.email, "password": PASSWORD})
    assert issued.headers["Cache-Control"] == "no-store"
    refreshed = refresh(client, issued.json["refresh_token"])
    assert refreshed.headers["Cache-Control"] == "no-store"
    made = alice.post(f"{API}/users/me/tokens", json={"name": "ci", "scope": "read"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    assert alice.get(f"{API}/projects").headers["Cache-Control"] == "private, no-cache"
    assert alice.get(f"{API}/users/me").headers["Cache-Control"] == "private, no-cache"
    anonymous = app.test_client()
    assert "Cache-Control" not in anonymous.get("/login").headers
    assert "Cache-Control" not in anonymous.get(f"{API}/openapi.json").headers
    web_login(client, alice.email)
    assert client.get("/projects").headers["Cache-Control"] == "private, no-cache"
    assert client.get("/account").headers["Cache-Control"] == "private, no-cache"
    assert "Strict-Transport-Security" not in client.get("/projects").headers


def test_production_sends_hsts(tmp_path: Path) -> None:
    app = create_app(
        {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}", "HSTS": True}
    )
    assert app.test_client().get("/login").headers["Strict-Transport-Security"] == (
        "max-age=31536000"
    )


def test_production_settings_turn_hsts_on(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from taskboard import config as settings

    assert settings.load(tmp_path)["HSTS"] is False
    monkeypatch.setenv("TASKBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("BASE_URL", "https://tasks.example.com")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/taskboard")
    assert settings.load(tmp_path)["HSTS"] is True


def test_the_compose_proxy_sends_hsts() -> None:
    compose = (Path(__file__).resolve().parent.parent / "docker-compose.yml").read_text()
    assert 'Strict-Transport-Security "max-age=31536000"' in compose


# 9. Reset mail caps, invisible text, bidi controls ---------------------------------


def test_reset_mail_per_address_is_capped_whatever_the_clients(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    for n in range(12):
        resp = client.post(
            f"{API}/auth/password-reset",
            json={"email": alice.email},
            environ_base={"REMOTE_ADDR": f"10.9.{n}.1"},
        )
        assert resp.status_code == 202  # the same answer every time
    outbox = Path(app.config["MAIL_OUTBOX_DIR"])
    assert len(list(outbox.glob("*.eml"))) == 3  # three links that still work, at most


@pytest.mark.parametrize("blank", ["\u200b", "\u200b\u200c\u2060", " \u3164 ", "\u2800", "\u202e"])
def test_text_that_shows_nothing_counts_as_empty(app: Flask, alice: ApiUser, blank: str) -> None:
    project = alice.create_project()
    resp = alice.post(f"{API}/projects/{project['id']}/tasks", json={"title": blank})
    assert resp.status_code == 422
    assert resp.json["errors"]["json"]["title"] == ["Title must not be empty."]
    assert alice.post(f"{API}/projects", json={"title": blank}).status_code == 422
    assert alice.patch(f"{API}/users/me", json={"name": blank}).status_code == 422
    task = alice.create_task(project["id"])
    comment = alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": blank})
    assert comment.status_code == 422
    made = alice.post(f"{API}/users/me/tokens", json={"name": blank, "scope": "read"})
    assert made.status_code == 422


def test_bidi_controls_are_kept_but_not_shown(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project("Plan\u202eexe.fdp")
    task = alice.create_task(project["id"], "Invoice\u202egnp.exe")
    assert task["title"] == "Invoice\u202egnp.exe"  # the API gives back what was stored
    web_login(client, alice.email)
    for url in (f"/projects/{project['id']}", f"/tasks/{task['id']}", "/projects"):
        html = text(client.get(url))
        assert "\u202e" not in html, url
    assert "Invoicegnp.exe" in text(client.get(f"/projects/{project['id']}"))
    token = csrf_from(text(client.get("/projects")))
    assert token

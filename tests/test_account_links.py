"""Password reset by mail and email change with confirmation, through the API (SPEC §4).

The mail goes through the real outbox: jobs run inline (HUEY_IMMEDIATE) and, with no
MAIL_SERVER, each mail is written as an .eml file; the links are read from those files.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, ApiUser, table_counts
from flask import Flask
from test_limits import limited_app

from taskboard.extensions import db
from taskboard.models import Notification, User, utcnow
from taskboard.services import account_links

API = "/api/v1"
NEW_PASSWORD = "a brand new secret"
RESET_LINK = re.compile(r"http://testserver/reset-password/([A-Za-z0-9_.-]+)")
CONFIRM_LINK = re.compile(r"http://testserver/confirm-email/([A-Za-z0-9_.-]+)")


def mails(app: Flask) -> list[EmailMessage]:
    folder = Path(app.config["MAIL_OUTBOX_DIR"])
    files = sorted(folder.glob("*.eml"), key=lambda f: f.stat().st_mtime) if folder.exists() else []
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]


def mails_to(app: Flask, address: str) -> list[EmailMessage]:
    return [m for m in mails(app) if m["To"] == address]


def body(message: EmailMessage, kind: str = "plain") -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


def link_in(message: EmailMessage, pattern: re.Pattern[str]) -> str:
    text_token = pattern.search(body(message))
    html_token = pattern.search(body(message, "html"))
    assert text_token and html_token, body(message)
    assert text_token.group(1) == html_token.group(1)
    return text_token.group(1)


def request_reset(client: Any, email: str) -> Any:
    return client.post(f"{API}/auth/password-reset", json={"email": email})


def reset_token(app: Flask, client: Any, email: str) -> str:
    before = len(mails_to(app, email))
    assert request_reset(client, email).status_code == 202
    found = mails_to(app, email)
    assert len(found) == before + 1
    return link_in(found[-1], RESET_LINK)


def confirm_reset(client: Any, token: str, password: str = NEW_PASSWORD) -> Any:
    return client.post(
        f"{API}/auth/password-reset/confirm", json={"token": token, "password": password}
    )


def log_in(client: Any, email: str, password: str) -> Any:
    return client.post(f"{API}/auth/tokens", json={"email": email, "password": password})


def personal_token(user: ApiUser, scope: str = "write") -> str:
    made = user.post(f"{API}/users/me/tokens", json={"name": "script", "scope": scope})
    assert made.status_code == 201, made.json
    return made.json["token"]


def outbox_rows(app: Flask) -> list[Notification]:
    with app.app_context():
        notes = list(db.session.scalars(sa.select(Notification).order_by(Notification.created_at)))
        db.session.expunge_all()
        return notes


# Password reset ----------------------------------------------------------------------


def test_reset_answer_is_the_same_for_known_and_unknown_addresses(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    known = request_reset(client, alice.email)
    unknown = request_reset(client, "nobody@example.com")
    assert known.status_code == unknown.status_code == 202
    assert known.get_data() == unknown.get_data()
    strip = {"Date"}
    assert [(k, v) for k, v in known.headers if k not in strip] == [
        (k, v) for k, v in unknown.headers if k not in strip
    ]
    assert "on its way" in known.json["message"]
    # The same work for both: one outbox row with the address; which it was is settled at
    # sending time, when the unknown one is skipped.
    rows = outbox_rows(app)
    assert [(r.kind, r.email, r.user_id) for r in rows] == [
        ("password_reset", alice.email, None),
        ("password_reset", "nobody@example.com", None),
    ]
    assert [r.status for r in rows] == ["sent", "skipped"]
    assert [m["To"] for m in mails(app)] == [alice.email]


def test_reset_request_is_answered_before_any_mail_work(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    from taskboard.queue import huey

    huey.immediate = False
    try:
        resp = request_reset(client, alice.email)
    finally:
        huey.immediate = True
    assert resp.status_code == 202
    assert mails(app) == []
    assert [r.status for r in outbox_rows(app)] == ["pending"]


def test_reset_flow_ends_every_session_and_token(app: Flask, client: Any, alice: ApiUser) -> None:
    personal = personal_token(alice)
    second = log_in(client, alice.email, PASSWORD).json
    token = reset_token(app, client, alice.email)
    [message] = mails_to(app, alice.email)
    assert message["Subject"] == "[Taskboard] Set a new password"
    assert "Hello Alice Adams" in body(message)

    resp = confirm_reset(client, token)
    assert resp.status_code == 204, resp.json
    for bearer in (alice.token, second["access_token"], personal):
        me = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {bearer}"})
        assert me.status_code == 401, bearer[:4]
    refresh = client.post(f"{API}/auth/tokens/refresh", json={"refresh_token": alice.refresh_token})
    assert refresh.status_code == 401
    assert log_in(client, alice.email, PASSWORD).status_code == 401
    assert log_in(client, alice.email, NEW_PASSWORD).status_code == 201
    with app.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        assert user is not None and user.session_version == 1


def test_a_reset_link_works_once(app: Flask, client: Any, alice: ApiUser) -> None:
    token = reset_token(app, client, alice.email)
    assert confirm_reset(client, token).status_code == 204
    again = confirm_reset(client, token, "yet another secret")
    assert again.status_code == 422
    assert again.json["errors"]["json"]["token"] == [account_links.BAD_RESET_LINK]
    assert log_in(client, alice.email, NEW_PASSWORD).status_code == 201


def test_older_links_die_when_the_password_changes(app: Flask, client: Any, alice: ApiUser) -> None:
    first = reset_token(app, client, alice.email)
    second = reset_token(app, client, alice.email)
    assert confirm_reset(client, second).status_code == 204
    assert confirm_reset(client, first, "yet another secret").status_code == 422
    # A password changed on the account page kills a pending link too.
    third = reset_token(app, client, alice.email)
    fresh = log_in(client, alice.email, NEW_PASSWORD).json["access_token"]
    changed = client.patch(
        f"{API}/users/me",
        json={"password": "changed by hand", "current_password": NEW_PASSWORD},
        headers={"Authorization": f"Bearer {fresh}"},
    )
    assert changed.status_code == 200
    assert confirm_reset(client, third).status_code == 422


def test_an_expired_link_is_refused(app: Flask, client: Any, alice: ApiUser) -> None:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        assert user is not None
        now = utcnow()
        old = account_links.make_token(account_links.RESET_SALT, user, now - timedelta(minutes=61))
        fresh = account_links.make_token(
            account_links.RESET_SALT, user, now - timedelta(minutes=59)
        )
    resp = confirm_reset(client, old)
    assert resp.status_code == 422
    assert resp.json["errors"]["json"]["token"] == [account_links.BAD_RESET_LINK]
    assert confirm_reset(client, fresh).status_code == 204


def test_forged_and_tampered_tokens_are_refused(app: Flask, client: Any, alice: ApiUser) -> None:
    before = table_counts(app)
    token = reset_token(app, client, alice.email)
    with app.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        assert user is not None
        other_salt = account_links.make_token(account_links.EMAIL_SALT, user, utcnow(), e="x@y.z")
    payload, _, signature = token.rpartition(".")
    # The first character: the last one carries bits base64 decoding ignores.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    forged_key = account_links.URLSafeSerializer("not-the-secret", salt=account_links.RESET_SALT)
    forged = forged_key.dumps({"u": alice.id, "f": "0" * 24, "t": int(utcnow().timestamp())})
    for bad in (f"{payload}.{flipped}", other_salt, forged, "garbage", token + "x", "." * 5):
        resp = confirm_reset(client, bad)
        assert resp.status_code == 422, bad
        assert resp.json["errors"]["json"]["token"] == [account_links.BAD_RESET_LINK]
    assert log_in(client, alice.email, PASSWORD).status_code == 201
    after = table_counts(app)
    assert {k: v for k, v in after.items() if k not in ("notifications", "auth_tokens")} == {
        k: v for k, v in before.items() if k not in ("notifications", "auth_tokens")
    }


def test_a_weak_password_is_refused_and_the_link_still_works(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    token = reset_token(app, client, alice.email)
    for weak in ("short", "x" * 129):
        resp = confirm_reset(client, token, weak)
        assert resp.status_code == 422
        assert "password" in resp.json["errors"]["json"]
    assert alice.get(f"{API}/users/me").status_code == 200
    assert confirm_reset(client, token).status_code == 204


@pytest.mark.parametrize(
    "payload",
    [{"email": "not-an-address"}, {"email": ""}, {}, {"email": 5}, {"email": "a@b.co", "x": 1}],
)
def test_malformed_reset_requests_are_422_and_write_nothing(
    app: Flask, client: Any, payload: dict[str, Any]
) -> None:
    before = table_counts(app)
    resp = client.post(f"{API}/auth/password-reset", json=payload)
    assert resp.status_code == 422
    assert table_counts(app) == before


def test_no_reset_mail_for_a_deactivated_account(
    app: Flask, client: Any, runner: Any, alice: ApiUser
) -> None:
    assert runner.invoke(args=["users", "deactivate", alice.email]).exit_code == 0
    assert request_reset(client, alice.email).status_code == 202
    assert mails(app) == []
    [row] = outbox_rows(app)
    assert row.status == "skipped" and row.last_error == "no active account uses this address"


def test_reset_mail_ignores_the_notification_preference_and_uses_any_case(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    alice.patch(f"{API}/users/me", json={"notifications": False})
    token = reset_token(app, client, "ALICE@Example.com".lower())
    assert confirm_reset(client, token).status_code == 204
    assert request_reset(client, "Alice@EXAMPLE.com").status_code == 202
    assert len(mails_to(app, alice.email)) == 2


def test_reset_requests_are_rate_limited_per_account_though_each_succeeds(tmp_path: Path) -> None:
    app = limited_app(tmp_path, HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    client = app.test_client()
    for n in range(3):
        resp = client.post(
            f"{API}/auth/password-reset",
            json={"email": "ann@example.com"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
        assert resp.status_code == 202
    limited = client.post(
        f"{API}/auth/password-reset",
        json={"email": "ann@example.com"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    # Another address from a fresh client still gets through: the counter is per account.
    other = client.post(
        f"{API}/auth/password-reset",
        json={"email": "bob@example.com"},
        environ_base={"REMOTE_ADDR": "10.0.1.1"},
    )
    assert other.status_code == 202
    # Log in counts on its own.
    login = client.post(
        f"{API}/auth/tokens",
        json={"email": "ann@example.com", "password": "whatever"},
        environ_base={"REMOTE_ADDR": "10.0.2.1"},
    )
    assert login.status_code == 401


# Email change --------------------------------------------------------------------------


def change_email(user: ApiUser, email: str, password: str = PASSWORD) -> Any:
    return user.post(f"{API}/users/me/email", json={"email": email, "current_password": password})


def confirm_email(client: Any, token: str) -> Any:
    return client.post(f"{API}/auth/email/confirm", json={"token": token})


def test_email_change_flow(app: Flask, client: Any, alice: ApiUser) -> None:
    resp = change_email(alice, "Alice.New@Example.com")
    assert resp.status_code == 202, resp.json
    assert "alice.new@example.com" in resp.json["message"]
    # Nothing changes until the link is opened.
    assert alice.get(f"{API}/users/me").json["email"] == alice.email
    [confirm] = mails_to(app, "alice.new@example.com")
    [notice] = mails_to(app, alice.email)
    assert confirm["Subject"] == "[Taskboard] Confirm your new email address"
    assert notice["Subject"] == "[Taskboard] Your email address is being changed"
    assert "alice.new@example.com" in body(notice) and "alice.new@example.com" in body(
        notice, "html"
    )
    assert "/confirm-email/" not in body(notice)
    token = link_in(confirm, CONFIRM_LINK)

    done = confirm_email(client, token)  # no login needed: the token is the proof
    assert done.status_code == 200, done.json
    assert done.json == {"id": alice.id, "email": "alice.new@example.com", "name": "Alice Adams"}
    assert alice.get(f"{API}/users/me").json["email"] == "alice.new@example.com"
    assert log_in(client, "alice.new@example.com", PASSWORD).status_code == 201
    assert log_in(client, alice.email, PASSWORD).status_code == 401
    again = confirm_email(client, token)
    assert again.status_code == 422
    assert again.json["errors"]["json"]["token"] == [account_links.BAD_EMAIL_LINK]


@pytest.mark.parametrize(
    ("email", "password", "status"),
    [
        ("new@example.com", "wrong password", 403),
        ("not-an-address", PASSWORD, 422),
        ("alice@example.com", PASSWORD, 422),
    ],
)
def test_email_change_refusals_change_nothing(
    app: Flask, alice: ApiUser, bob: ApiUser, email: str, password: str, status: int
) -> None:
    before = table_counts(app)
    resp = change_email(alice, email, password)
    assert resp.status_code == status, resp.json
    assert table_counts(app) == before
    assert mails(app) == []


@pytest.mark.parametrize("taken", ["bob@example.com", "BOB@example.com"])
def test_an_address_in_use_gets_the_same_answer_and_a_notice(
    app: Flask, alice: ApiUser, bob: ApiUser, taken: str
) -> None:
    """No enumeration oracle: the answer is the one for a free address; the mail to that
    address says it is in use, and nothing changes."""
    free = change_email(alice, "free@example.com")
    resp = change_email(alice, taken)
    assert resp.status_code == 202, resp.json
    assert resp.json["message"] == free.json["message"].replace("free@example.com", taken.lower())
    [notice] = mails_to(app, "bob@example.com")
    assert "already belongs to a Taskboard account" in body(notice)
    assert "/confirm-email/" not in body(notice) + body(notice, "html")
    assert alice.get(f"{API}/users/me").json["email"] == alice.email
    assert bob.get(f"{API}/users/me").json["email"] == bob.email
    assert len(mails_to(app, alice.email)) == 1  # the notice of the change to the free one


def test_email_change_needs_the_current_password_field(app: Flask, alice: ApiUser) -> None:
    resp = alice.post(f"{API}/users/me/email", json={"email": "new@example.com"})
    assert resp.status_code == 422
    assert "current_password" in resp.json["errors"]["json"]


def test_address_taken_meanwhile_is_409(app: Flask, client: Any, alice: ApiUser, make_user: Any):
    assert change_email(alice, "wanted@example.com").status_code == 202
    token = link_in(mails_to(app, "wanted@example.com")[0], CONFIRM_LINK)
    make_user("wanted@example.com", "Someone Else")
    resp = confirm_email(client, token)
    assert resp.status_code == 409
    assert alice.get(f"{API}/users/me").json["email"] == alice.email


def test_a_password_reset_kills_a_pending_email_change(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    assert change_email(alice, "attacker@example.com").status_code == 202
    token = link_in(mails_to(app, "attacker@example.com")[0], CONFIRM_LINK)
    reset = reset_token(app, client, alice.email)
    assert confirm_reset(client, reset).status_code == 204
    assert confirm_email(client, token).status_code == 422
    assert log_in(client, alice.email, NEW_PASSWORD).status_code == 201


def test_expired_and_forged_confirmation_links_are_refused(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    with app.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        assert user is not None
        now = utcnow()
        old = account_links.make_token(
            account_links.EMAIL_SALT, user, now - timedelta(hours=25), e="late@example.com"
        )
        wrong_salt = account_links.make_token(account_links.RESET_SALT, user, now)
    for bad in (old, wrong_salt, "nonsense"):
        resp = confirm_email(client, bad)
        assert resp.status_code == 422, bad
        assert resp.json["errors"]["json"]["token"] == [account_links.BAD_EMAIL_LINK]
    assert alice.get(f"{API}/users/me").json["email"] == alice.email


def test_a_confirmation_is_not_mailed_once_the_account_changed(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    from taskboard.queue import huey

    huey.immediate = False
    try:
        assert change_email(alice, "later@example.com").status_code == 202
        resp = alice.patch(
            f"{API}/users/me", json={"password": NEW_PASSWORD, "current_password": PASSWORD}
        )
        assert resp.status_code == 200
    finally:
        huey.immediate = True
    with app.app_context():
        from taskboard.services import delivery

        assert delivery.sweep().outcomes == {"sent": 1, "skipped": 1}
    assert [m["To"] for m in mails(app)] == [alice.email]  # the notice still goes out


# Personal tokens ---------------------------------------------------------------------


def test_personal_tokens_cannot_change_password_email_or_tokens(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    secret = personal_token(alice)
    headers = {"Authorization": f"Bearer {secret}"}
    before = table_counts(app)
    refused = [
        client.post(
            f"{API}/users/me/email",
            json={"email": "new@example.com", "current_password": PASSWORD},
            headers=headers,
        ),
        client.patch(
            f"{API}/users/me",
            json={"password": NEW_PASSWORD, "current_password": PASSWORD},
            headers=headers,
        ),
        client.get(f"{API}/users/me/tokens", headers=headers),
        client.post(f"{API}/users/me/tokens", json={"name": "x", "scope": "read"}, headers=headers),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert table_counts(app) == before
    assert mails(app) == []
    assert client.get(f"{API}/users/me", headers=headers).status_code == 200


def test_last_use_shows_at_once_then_at_most_once_a_minute(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    secret = personal_token(alice)
    headers = {"Authorization": f"Bearer {secret}"}

    def last_used() -> Any:
        [token] = alice.get(f"{API}/users/me/tokens").json
        return token["last_used_at"]

    assert last_used() is None
    assert client.get(f"{API}/projects", headers=headers).status_code == 200
    first = last_used()
    assert first is not None
    assert client.get(f"{API}/projects", headers=headers).status_code == 200
    assert last_used() == first
    with app.app_context():
        db.session.execute(
            sa.text("UPDATE personal_tokens SET last_used_at = :t"),
            {"t": (utcnow() - timedelta(minutes=2)).replace(tzinfo=None)},
        )
        db.session.commit()
    stale = last_used()
    assert client.get(f"{API}/projects", headers=headers).status_code == 200
    assert last_used() > stale


def test_tokens_revoke_command_revokes_personal_tokens(
    app: Flask, client: Any, runner: Any, alice: ApiUser
) -> None:
    secret = personal_token(alice)
    result = runner.invoke(args=["tokens", "revoke", alice.email])
    assert result.exit_code == 0, result.output
    assert "1 personal" in result.output
    me = client.get(f"{API}/users/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 401

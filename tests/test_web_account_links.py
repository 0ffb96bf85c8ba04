"""The pages of SPEC §5 for recovery and the account: forgot and reset password, confirm
email, change email and API tokens on /account. Mail is read from the outbox folder."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conftest import PASSWORD, ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from test_account_links import CONFIRM_LINK, RESET_LINK, link_in, mails, mails_to
from test_web_pages import assert_strict
from webutil import HX, csrf, csrf_from, text, web_login

from taskboard.services import account_links

NEW_PASSWORD = "a brand new secret"
SECRET = re.compile(r'id="new-token-secret" value="(tbp_[^"]+)"')


def forgot(client: FlaskClient, email: str) -> Any:
    token = csrf(client, "/forgot-password")
    return client.post("/forgot-password", data={"csrf_token": token, "email": email})


def test_login_links_to_forgot_password_with_the_named_fields(client: FlaskClient) -> None:
    login = text(client.get("/login"))
    assert '<a href="/forgot-password">Forgot password?</a>' in login
    page = client.get("/forgot-password")
    html = text(page)
    assert page.status_code == 200
    assert ">Email</label>" in html and ">Send reset link</button>" in html
    assert_strict(html, "/forgot-password")


def test_forgot_password_answers_alike_for_any_address(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    known = forgot(client, alice.email)
    unknown = forgot(app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/forgot-password"
    assert account_links.RESET_ACCEPTED in text(client.get("/forgot-password"))
    assert [m["To"] for m in mails(app)] == [alice.email]


def test_forgot_password_says_what_is_wrong_with_a_malformed_address(
    app: Flask, client: FlaskClient
) -> None:
    before = table_counts(app)
    resp = forgot(client, "not-an-address")
    assert resp.status_code == 422
    assert "Not a valid email address." in text(resp) and 'value="not-an-address"' in text(resp)
    assert table_counts(app) == before


def reset_path(app: Flask, client: FlaskClient, email: str) -> str:
    assert forgot(client, email).status_code == 303
    return "/reset-password/" + link_in(mails_to(app, email)[-1], RESET_LINK)


def test_reset_page_sets_the_password_once(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    path = reset_path(app, client, alice.email)
    page = client.get(path)
    html = text(page)
    assert page.status_code == 200
    for label in ("New password", "Confirm password"):
        assert f">{label}</label>" in html
    assert ">Set password</button>" in html and alice.email in html
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert_strict(html, "reset page")
    token = csrf_from(html)

    mismatch = client.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": "something else"}
    )
    assert mismatch.status_code == 422 and "The passwords do not match." in text(mismatch)
    short = client.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert "Password must be between 8 and 128 characters." in text(short)

    done = client.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    web_login(app.test_client(), alice.email, NEW_PASSWORD)
    assert alice.get("/api/v1/users/me").status_code == 401

    used = client.get(path)
    assert used.status_code == 200
    assert account_links.BAD_RESET_LINK in text(used)
    assert 'href="/forgot-password"' in text(used) and ">Set password</button>" not in text(used)
    again = client.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert again.status_code == 422 and account_links.BAD_RESET_LINK in text(again)


def test_a_reset_ends_the_browser_sessions_of_the_account(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    web_login(client, alice.email)
    path = reset_path(app, app.test_client(), alice.email)
    other = app.test_client()
    token = csrf(other, path)
    other.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    resp = client.get("/account")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")


def test_a_forged_reset_link_says_so_and_offers_a_new_one(client: FlaskClient) -> None:
    page = client.get("/reset-password/forged.token")
    assert page.status_code == 200
    assert account_links.BAD_RESET_LINK in text(page)
    assert "Get a new reset link" in text(page)


def change_email(client: FlaskClient, token: str, email: str, password: str = PASSWORD) -> Any:
    return client.post(
        "/account/email", data={"csrf_token": token, "email": email, "current_password": password}
    )


def test_email_change_on_the_account_page_and_the_confirm_page(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    token = web_login(client, alice.email)
    html = text(client.get("/account"))
    assert ">New email</label>" in html and ">Change email</button>" in html
    assert 'for="email-current">Current password</label>' in html

    wrong = change_email(client, token, "new@example.com", "wrong password")
    assert wrong.status_code == 422
    assert "The current password is wrong." in text(wrong)
    assert 'value="new@example.com"' in text(wrong)
    assert mails(app) == []
    # An address in use: the same answer as any other (no oracle), a notice to it.
    taken = change_email(client, token, bob.email)
    assert taken.status_code == 303
    assert f"confirmation link to {bob.email}" in text(client.get("/account"))
    [notice] = mails(app)
    assert notice["To"] == bob.email and "already belongs" in str(notice.get_body(("plain",)))
    for path in Path(app.config["MAIL_OUTBOX_DIR"]).glob("*.eml"):
        path.unlink()

    sent = change_email(client, token, "New@Example.com")
    assert sent.status_code == 303
    assert "confirmation link to new@example.com" in text(client.get("/account"))
    assert len(mails_to(app, alice.email)) == 1
    path = "/confirm-email/" + link_in(mails_to(app, "new@example.com")[0], CONFIRM_LINK)

    # Opening the link (as a mail scanner would) changes nothing; the button does.
    anonymous = app.test_client()
    page = anonymous.get(path)
    assert page.status_code == 200 and ">Confirm email</button>" in text(page)
    assert_strict(text(page), "confirm page")
    assert alice.get("/api/v1/users/me").json["email"] == alice.email
    done = anonymous.post(path, data={"csrf_token": csrf_from(text(page))})
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert alice.get("/api/v1/users/me").json["email"] == "new@example.com"
    assert "Signed in as new@example.com" in text(client.get("/account"))
    used = anonymous.get(path)
    assert account_links.BAD_EMAIL_LINK in text(used) and "Confirm email" not in text(used)


def test_confirm_without_csrf_token_is_refused(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    alice.post(
        "/api/v1/users/me/email", json={"email": "n@example.com", "current_password": PASSWORD}
    )
    path = "/confirm-email/" + link_in(mails_to(app, "n@example.com")[0], CONFIRM_LINK)
    assert client.post(path, data={}).status_code == 400
    assert alice.get("/api/v1/users/me").json["email"] == alice.email


def create_token(client: FlaskClient, token: str, headers: Any = None, **fields: str) -> Any:
    data = {"csrf_token": token, "name": "backup", "scope": "read", "expires_in_days": "", **fields}
    return client.post("/account/tokens", data=data, headers=headers or {})


def test_api_tokens_on_the_account_page(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    token = web_login(client, alice.email)
    html = text(client.get("/account"))
    assert '<h2 id="a-tokens">API tokens</h2>' in html
    for label in ("Token name", "Scope", "Expires after (days)"):
        assert f">{label}</label>" in html
    assert ">Create token</button>" in html and "No tokens yet." in html

    made = create_token(client, token, HX, name="ci script", scope="write", expires_in_days="30")
    assert made.status_code == 200
    fragment = text(made)
    assert '<section class="panel" aria-labelledby="a-tokens" id="tokens">' in fragment
    assert made.headers["Cache-Control"] == "no-store"
    secret = SECRET.search(fragment)
    assert secret, fragment
    assert 'data-copy="new-token-secret"' in fragment and "not shown again" in fragment
    assert_strict(fragment, "tokens fragment")
    # The secret works on the API, and is never shown again.
    bearer = {"Authorization": f"Bearer {secret.group(1)}"}
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200
    page = text(client.get("/account"))
    assert secret.group(1) not in page
    assert "ci script" in page and "write" in page
    assert "Last used" in page and "never" not in page.split("ci script")[1].split("Expires")[0]

    # Without htmx the whole page comes back, with the secret shown this once.
    plain = create_token(client, token, name="reader")
    assert plain.status_code == 200 and SECRET.search(text(plain))
    assert "reader" in text(plain) and ">Log out</button>" in text(plain)

    [listed_reader, listed_ci] = alice.get("/api/v1/users/me/tokens").json
    ask = client.post(f"/account/tokens/{listed_ci['id']}/revoke", data={"csrf_token": token})
    assert ask.status_code == 200 and "Revoke the token “ci script”?" in text(ask)
    assert client.get("/api/v1/projects", headers=bearer).status_code == 200  # not yet
    revoke = client.post(
        f"/account/tokens/{listed_ci['id']}/revoke",
        data={"csrf_token": token, "confirm": "yes"},
        headers=HX,
    )
    assert revoke.status_code == 200 and "Token revoked" in text(revoke)
    assert "ci script" not in text(revoke)
    assert client.get("/api/v1/projects", headers=bearer).status_code == 401
    plain_revoke = client.post(
        f"/account/tokens/{listed_reader['id']}/revoke",
        data={"csrf_token": token, "confirm": "yes"},
    )
    assert plain_revoke.status_code == 303
    assert "No tokens yet." in text(client.get("/account"))


def test_token_form_errors_keep_the_input(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    token = web_login(client, alice.email)
    before = table_counts(app)
    for fields, message in (
        ({"name": "   "}, "Token name must be between 1 and 100 characters."),
        ({"expires_in_days": "400"}, "Expiry must be between 1 and 365 days."),
        ({"expires_in_days": "soon"}, "Expiry must be a whole number of days"),
        ({"expires_in_days": "\u00b2"}, "Expiry must be a whole number of days"),
        ({"expires_in_days": "9" * 5000}, "Expiry must be a whole number of days"),
        ({"scope": "admin"}, "Scope must be"),
        ({"name": "nul\u0000name"}, "Token name contains characters that are not allowed."),
    ):
        resp = create_token(client, token, HX, **fields)
        assert resp.status_code == 422, fields
        assert message in text(resp)
        assert not SECRET.search(text(resp))
    assert table_counts(app) == before


def test_someone_elses_token_cannot_be_revoked(
    client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    made = bob.post("/api/v1/users/me/tokens", json={"name": "bobs", "scope": "read"})
    token = web_login(client, alice.email)
    resp = client.post(f"/account/tokens/{made.json['id']}/revoke", data={"csrf_token": token})
    assert resp.status_code == 303
    assert "No such token." in text(client.get("/account"))
    assert len(bob.get("/api/v1/users/me/tokens").json) == 1


def test_the_page_and_the_api_share_the_reset_limit(tmp_path: Any) -> None:
    from test_limits import limited_app

    app = limited_app(tmp_path, HUEY_SQLITE_PATH=str(tmp_path / "huey.db"))
    client = app.test_client()
    for n in range(3):
        resp = client.post(
            "/api/v1/auth/password-reset",
            json={"email": "ann@example.com"},
            environ_base={"REMOTE_ADDR": f"10.0.0.{n}"},
        )
        assert resp.status_code == 202
    token = csrf(client, "/forgot-password")
    page = client.post(
        "/forgot-password",
        data={"csrf_token": token, "email": "ann@example.com"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert page.status_code == 429
    assert "text/html" in page.content_type
    other = client.post(
        "/forgot-password",
        data={"csrf_token": token, "email": "bob@example.com"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert other.status_code == 303

"""Rough edges a team hit in daily use: links in mail, forms that keep what was typed,
what a reset ends, where the API docs are."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import PASSWORD, ApiUser
from flask import Flask
from flask.testing import FlaskClient
from test_account_links import body, mails_to
from test_web_account_links import reset_path
from webutil import csrf, csrf_from, text, web_login

from taskboard import config as settings


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, "8333", "http://127.0.0.1:8333"),
        ("0.0.0.0", "8080", "http://127.0.0.1:8080"),
        ("192.0.2.7", "9000", "http://192.0.2.7:9000"),
        ("::1", "8000", "http://[::1]:8000"),
    ],
)
def test_the_embedded_base_url_follows_host_and_port(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, host: str | None, port: str, expected: str
) -> None:
    """`PORT=8333 bash scripts/run.sh` mails links to port 8333, not 8000."""
    monkeypatch.delenv("BASE_URL", raising=False)
    if host is None:
        monkeypatch.delenv("HOST", raising=False)
    else:
        monkeypatch.setenv("HOST", host)
    monkeypatch.setenv("PORT", port)
    assert settings.load(tmp_path)["BASE_URL"] == expected
    monkeypatch.setenv("BASE_URL", "https://tasks.example.com")
    assert settings.load(tmp_path)["BASE_URL"] == "https://tasks.example.com"


def test_a_wrong_current_password_keeps_the_new_one_typed(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    web_login(client, alice.email)
    token = csrf(client, "/account")
    resp = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not my password",
            "password": "a brand new secret",
            "confirm": "a brand new secret",
        },
    )
    assert resp.status_code == 422
    html = text(resp)
    assert "The current password is wrong." in html
    assert html.count('value="a brand new secret"') == 2  # new and confirm, kept
    assert 'value="not my password"' not in html  # the wrong one is not shown again
    assert resp.headers["Cache-Control"] == "no-store"  # a page holding a password


def test_a_reset_says_it_ends_the_api_tokens(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    path = reset_path(app, client, alice.email)
    [mail] = mails_to(app, alice.email)
    for part in ("plain", "html"):
        assert "personal tokens for scripts included" in body(mail, part)
    token = csrf_from(text(client.get(path)))
    done = client.post(
        path, data={"csrf_token": token, "password": "new password 1", "confirm": "new password 1"}
    )
    assert done.status_code == 303
    page = text(client.get("/login"))
    assert "Every session and API token of the account has ended" in page
    assert "personal tokens for scripts included" in page


def test_the_account_page_links_to_the_api_docs(
    client: FlaskClient, alice: ApiUser
) -> None:
    web_login(client, alice.email, PASSWORD)
    html = text(client.get("/account"))
    assert 'href="/api/docs/"' in html and 'href="/api/redoc/"' in html
    assert client.get("/api/docs/").status_code == 200

"""Accounts in the browser: sign up, log in and out, the login redirect, CSRF, sessions."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa
from conftest import PASSWORD, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, csrf, text, web_login

from taskboard.extensions import db
from taskboard.models import User


def register(client: FlaskClient, **fields: str) -> Any:
    data = {
        "email": "new@example.com",
        "name": "New Person",
        "password": PASSWORD,
        "confirm": PASSWORD,
        **fields,
    }
    return client.post("/register", data={"csrf_token": csrf(client, "/register"), **data})


def test_register_page_has_the_named_fields(client: FlaskClient) -> None:
    html = text(client.get("/register"))
    for label in ("Email", "Name", "Password", "Confirm password"):
        assert f">{label}</label>" in html
    assert ">Create account</button>" in html


def test_register_logs_in_and_lands_on_projects(client: FlaskClient) -> None:
    resp = register(client, email="Mixed@Example.com")
    assert resp.status_code == 303
    assert resp.headers["Location"] == "/projects"
    page = text(client.get("/projects"))
    assert "New Person" in page and ">Log out</button>" in page


def test_register_errors_sit_next_to_the_field_and_keep_the_input(
    client: FlaskClient, alice: Any, app: Flask
) -> None:
    before = table_counts(app)
    resp = register(client, email="ALICE@example.com", name="Second Alice")
    assert resp.status_code == 422
    html = text(resp)
    assert 'id="email-error"' in html and "already exists" in html
    assert 'value="ALICE@example.com"' in html and 'value="Second Alice"' in html
    assert 'aria-invalid="true"' in html
    assert table_counts(app) == before


def test_register_rules_come_from_the_service(client: FlaskClient) -> None:
    short = register(client, password="short", confirm="short")
    assert short.status_code == 422
    assert "Password must be between 8 and 128 characters." in text(short)
    bad_email = register(client, email="not-an-address")
    assert "Not a valid email address." in text(bad_email)


def test_register_confirmation_must_match(client: FlaskClient, app: Flask) -> None:
    resp = register(client, confirm="something else")
    assert resp.status_code == 422
    assert "The passwords do not match." in text(resp)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_login_with_wrong_password_says_so_without_telling_which(
    client: FlaskClient, alice: Any
) -> None:
    token = csrf(client)
    wrong = client.post(
        "/login", data={"csrf_token": token, "email": alice.email, "password": "nope-nope"}
    )
    unknown = client.post(
        "/login", data={"csrf_token": token, "email": "who@example.com", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert "Invalid email or password." in text(wrong)
    assert "Invalid email or password." in text(unknown)
    assert f'value="{alice.email}"' in text(wrong)


def test_protected_page_redirects_to_login_and_back(client: FlaskClient, alice: Any) -> None:
    project = alice.create_project("Back to me")
    target = f"/projects/{project['id']}?q=x"
    resp = client.get(target)
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=%2Fprojects%2F" + project["id"] + "%3Fq%3Dx"
    login = client.post(
        resp.headers["Location"],
        data={"csrf_token": csrf(client), "email": alice.email, "password": PASSWORD},
    )
    assert login.status_code == 303
    assert login.headers["Location"] == target


def test_login_never_sends_you_elsewhere(client: FlaskClient, alice: Any) -> None:
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"):
        resp = client.post(
            "/login?next=" + evil,
            data={"csrf_token": csrf(client), "email": alice.email, "password": PASSWORD},
        )
        assert resp.status_code == 303
        assert resp.headers["Location"] == "/projects", evil
        client.post("/logout", data={"csrf_token": csrf(client, "/projects")})


def test_htmx_request_without_session_is_sent_to_login(client: FlaskClient) -> None:
    resp = client.get(
        "/projects", headers={**HX, "HX-Current-URL": "http://localhost/projects?x=1"}
    )
    assert resp.status_code == 401
    assert resp.headers["HX-Redirect"] == "/login?next=%2Fprojects%3Fx%3D1"
    plain = client.get("/projects")
    assert "HX-Request" in resp.headers["Vary"] and "HX-Request" in plain.headers["Vary"]


def test_login_starts_a_fresh_session(client: FlaskClient, alice: Any) -> None:
    csrf(client)
    with client.session_transaction() as sess:
        sess["planted"] = "by someone else"
    web_login(client, alice.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"].startswith(alice.id + ":")


def test_logout_is_a_post_with_csrf(client: FlaskClient, alice: Any) -> None:
    token = web_login(client, alice.email)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/projects").status_code == 200
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 303
    assert client.get("/projects").status_code == 302


def test_form_without_csrf_token_is_refused_and_changes_nothing(
    client: FlaskClient, app: Flask
) -> None:
    before = table_counts(app)
    resp = client.post(
        "/register",
        data={"email": "x@example.com", "name": "X", "password": PASSWORD, "confirm": PASSWORD},
    )
    assert resp.status_code == 400
    assert "text/html" in resp.content_type and "Reload the page" in text(resp)
    assert table_counts(app) == before


def test_deactivated_user_loses_the_session(client: FlaskClient, alice: Any, app: Flask) -> None:
    web_login(client, alice.email)
    with app.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        user.is_active = False
        db.session.commit()
    assert client.get("/projects").status_code == 302


def test_root_sends_you_to_login_or_projects(client: FlaskClient, alice: Any) -> None:
    assert client.get("/").headers["Location"] == "/login"
    web_login(client, alice.email)
    assert client.get("/").headers["Location"] == "/projects"

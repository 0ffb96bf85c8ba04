"""Rough edges a team hit in daily use: links in mail, forms that keep what was typed,
what a reset ends, where the API docs are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


# Due time and "Due soon" ----------------------------------------------------------------


def save(client: FlaskClient, task_id: str, token: str, **fields: str) -> Any:
    data = {"csrf_token": token, "title": "Dated", "status": "todo", **fields}
    return client.post(f"/tasks/{task_id}", data=data, headers={"HX-Request": "true"})


def test_the_detail_takes_a_due_time(app: Flask, client: FlaskClient, alice: ApiUser) -> None:
    project = alice.create_project()
    task = alice.create_task(project["id"], "Dated")
    web_login(client, alice.email)
    client.set_cookie("tz", "America/New_York")
    token = csrf(client, f"/tasks/{task['id']}")
    html = text(client.get(f"/tasks/{task['id']}"))
    assert 'for="task-due-time">Due time</label>' in html and 'type="time"' in html

    saved = save(client, task["id"], token, due_date="2031-03-04", due_time="14:30")
    assert saved.status_code == 200
    # 14:30 in New York in March (EST) is 19:30 UTC.
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["due_date"] == "2031-03-04T19:30:00+00:00"
    detail = text(client.get(f"/tasks/{task['id']}"))
    assert 'value="14:30"' in detail and 'value="2031-03-04"' in detail
    assert "set the due date to 4 Mar 2031, 14:30" in detail  # as the card shows dates
    assert "4 Mar 2031, 14:30" in text(client.get(f"/projects/{project['id']}"))

    # Without a time: the end of that day where the viewer is.
    assert save(client, task["id"], token, due_date="2031-03-05", due_time="").status_code == 200
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["due_date"] == "2031-03-06T04:59:00+00:00"
    after = text(client.get(f"/tasks/{task['id']}")).split('id="task-due-time"')[1]
    assert 'value=""' in after[:80]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"due_date": "", "due_time": "10:00"}, "Give a date for the time, or clear the time."),
        ({"due_date": "2031-03-04", "due_time": "25:00"}, "Enter the time as HH:MM"),
        ({"due_date": "2031-03-04", "due_time": "noon"}, "Enter the time as HH:MM"),
    ],
)
def test_a_bad_due_time_is_refused_next_to_its_field(
    app: Flask, client: FlaskClient, alice: ApiUser, fields: dict[str, str], message: str
) -> None:
    project = alice.create_project()
    task = alice.create_task(project["id"], "Dated")
    web_login(client, alice.email)
    token = csrf(client, f"/tasks/{task['id']}")
    resp = save(client, task["id"], token, **fields)
    assert resp.status_code == 422
    assert message in text(resp) and 'id="task-due-time-error"' in text(resp)
    assert f'value="{fields["due_time"]}"' in text(resp)  # what was typed stays
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["due_date"] is None


def test_cards_due_within_a_day_say_due_soon(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    from datetime import UTC, datetime, timedelta

    project = alice.create_project()
    now = datetime.now(UTC)
    alice.create_task(project["id"], "Soon", due_date=(now + timedelta(hours=3)).isoformat())
    alice.create_task(project["id"], "Later", due_date=(now + timedelta(days=3)).isoformat())
    alice.create_task(project["id"], "Late", due_date=(now - timedelta(hours=3)).isoformat())
    alice.create_task(
        project["id"], "Finished", status="done", due_date=(now + timedelta(hours=2)).isoformat()
    )
    web_login(client, alice.email)
    html = text(client.get(f"/projects/{project['id']}"))

    def card(title: str) -> str:
        start = html.index(f">{title}</a>")
        return html[start : html.index("</li>", start)]

    assert "Due soon" in card("Soon") and "Overdue" not in card("Soon")
    assert "Due soon" not in card("Later") and "Due soon" not in card("Finished")
    assert "Overdue" in card("Late") and "Due soon" not in card("Late")

"""Bad input on every form of the pages: a clear 4xx, the database unchanged; hostile text
is stored as typed and rendered escaped.

The POST routes come from the app's URL map, so a new form is covered (or this test asks
for the ids of its path) without anyone remembering to add it here.
"""

from __future__ import annotations

import io
import uuid
from typing import Any

import pytest
from conftest import PASSWORD, ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, csrf, text, web_login

from taskboard.extensions import db
from taskboard.models import Invitation, User, utcnow
from taskboard.services import account_links, invitations, unsubscribe

LONG = "x" * 300
NUL = "a\x00b"
# Per form: field values that break a rule (each row sent on its own, with a valid CSRF token).
BAD_FIELDS: dict[str, list[dict[str, str]]] = {
    "/register": [
        {"email": "not-an-email", "name": "N", "password": PASSWORD, "confirm": PASSWORD},
        {"email": "new@example.com", "name": "", "password": PASSWORD, "confirm": PASSWORD},
        {"email": "new@example.com", "name": "N", "password": "short", "confirm": "short"},
        {"email": "new@example.com", "name": "N", "password": PASSWORD, "confirm": "other one"},
        {"email": "new@example.com", "name": NUL, "password": PASSWORD, "confirm": PASSWORD},
        {"email": "alice@example.com", "name": "N", "password": PASSWORD, "confirm": PASSWORD},
    ],
    "/login": [{"email": "", "password": ""}, {"email": "alice@example.com", "password": "x"}],
    "/account/profile": [{"name": ""}, {"name": LONG}, {"name": NUL}],
    "/account/password": [
        {
            "current_password": "wrong password",
            "password": "new password!",
            "confirm": "new password!",
        },
        {"current_password": PASSWORD, "password": "short", "confirm": "short"},
        {"current_password": PASSWORD, "password": "new password!", "confirm": "different!!"},
    ],
    "/projects": [{"title": ""}, {"title": "   "}, {"title": LONG}, {"title": NUL}],
    "/projects/<uuid:project_id>/settings": [{"title": ""}, {"title": LONG}],
    "/projects/<uuid:project_id>/members": [
        {"email": ""},
        {"email": "nobody@example"},
        {"email": "bob@example.com"},
        {"email": NUL},
    ],
    "/projects/<uuid:project_id>/members/<uuid:user_id>/remove": [],
    "/projects/import": [{"source": "trello"}, {"source": "taskboard"}, {"source": "asana"}],
    "/projects/<uuid:project_id>/import.csv": [{}, {"file": "not a file"}],
    "/tasks/<uuid:task_id>/restore": [{}],
    "/projects/<uuid:project_id>/restore": [{}],
    "/trash/<uuid:item_id>/delete": [{"confirm": "yes"}],
    "/projects/<uuid:project_id>/tasks": [{"title": ""}, {"title": LONG}, {"title": NUL}],
    "/tasks/<uuid:task_id>": [
        {"title": "", "status": "todo"},
        {"title": LONG, "status": "todo"},
        {"title": "ok", "status": "archived"},
        {"title": "ok", "status": "todo", "due_date": "soon"},
        {"title": "ok", "status": "todo", "assignees": "not-a-uuid"},
        {"title": "ok", "status": "todo", "description": "d" * 10_001},
    ],
    "/tasks/<uuid:task_id>/comments": [{"body": ""}, {"body": "  "}, {"body": "c" * 10_001}],
    "/tasks/<uuid:task_id>/move": [
        {"status": "archived", "position": "0"},
        {"status": "done", "position": "minus one"},
        {"status": "done", "position": "-1"},
    ],
    "/tasks/<uuid:task_id>/delete": [],
    "/comments/<uuid:comment_id>": [{"body": ""}, {"body": "  "}, {"body": "c" * 10_001}],
    "/comments/<uuid:comment_id>/delete": [],
    "/projects/<uuid:project_id>/delete": [],
    "/projects/<uuid:project_id>/columns": [
        {"name": "", "category": "todo"},
        {"name": LONG, "category": "todo"},
        {"name": NUL, "category": "todo"},
        {"name": "to do", "category": "todo"},
        {"name": "Later", "category": "archived"},
        {"name": "Later", "category": "todo", "wip_limit": "0"},
        {"name": "Later", "category": "todo", "wip_limit": "1000"},
        {"name": "Later", "category": "todo", "wip_limit": "many"},
    ],
    "/columns/<uuid:column_id>": [
        {"name": "", "category": "in_progress"},
        {"name": "DONE", "category": "in_progress"},
        {"name": "Review", "category": "archived"},
        {"name": "Review", "category": "in_progress", "wip_limit": "-3"},
    ],
    "/columns/<uuid:column_id>/move": [{"position": "first"}, {"direction": "up"}],
    "/columns/<uuid:column_id>/delete": [],
    "/projects/<uuid:project_id>/labels": [
        {"name": "", "color": "red"},
        {"name": "x" * 41, "color": "red"},
        {"name": "bug", "color": "red"},
        {"name": "Later", "color": "black"},
    ],
    "/labels/<uuid:label_id>": [{"name": "", "color": "red"}, {"name": "Bug", "color": "black"}],
    "/labels/<uuid:label_id>/delete": [],
    "/tasks/<uuid:task_id>/checklist": [{"text": ""}, {"text": "x" * 501}, {"text": NUL}],
    "/checklist/<uuid:item_id>": [],
    "/checklist/<uuid:item_id>/delete": [],
    "/logout": [],
    "/forgot-password": [{"email": ""}, {"email": "not-an-email"}, {"email": NUL}],
    "/reset-password/<reset_token>": [
        {"password": "short", "confirm": "short"},
        {"password": PASSWORD, "confirm": "other one"},
        {"password": NUL * 5, "confirm": NUL * 5},
    ],
    "/confirm-email/<email_token>": [],
    "/account/email": [
        {"email": "not-an-email", "current_password": PASSWORD},
        {"email": "new@example.com", "current_password": "wrong password"},
        {"email": "alice@example.com", "current_password": PASSWORD},
        {"email": NUL, "current_password": PASSWORD},
    ],
    "/account/tokens": [
        {"name": "", "scope": "read"},
        {"name": LONG, "scope": "read"},
        {"name": NUL, "scope": "read"},
        {"name": "script", "scope": "admin"},
        {"name": "script", "scope": "read", "expires_in_days": "400"},
        {"name": "script", "scope": "read", "expires_in_days": "soon"},
    ],
    "/account/tokens/<uuid:token_id>/revoke": [],
    "/projects/<uuid:project_id>/invitations/<uuid:invitation_id>/resend": [],
    "/projects/<uuid:project_id>/invitations/<uuid:invitation_id>/revoke": [],
    "/invitations/<invite_token>": [],
    "/tasks/<uuid:task_id>/attachments": [{}, {"file": ""}],
    "/account/calendar": [],
    "/account/notifications": [
        {"mode": "hourly"},
        {"mode": "digest", "time_zone": "Mars/Olympus"},
        {"mode": "digest", "digest_hour": "25"},
    ],
    "/notifications/read": [],
    "/projects/<uuid:project_id>/follow": [],
    "/tasks/<uuid:task_id>/watch": [],
    "/unsubscribe/<unsubscribe_token>": [],
    "/account/calendar/revoke": [],
    "/projects/<uuid:project_id>/share": [],
    "/projects/<uuid:project_id>/share/off": [],
    "/projects/<uuid:project_id>/webhooks": [
        {"url": "", "events": "task.created"},
        {"url": "ftp://example.com/x", "events": "task.created"},
        {"url": "http://127.0.0.1:9/x", "events": "task.exploded"},
        {"url": "http://127.0.0.1:9/x", "events": "task.created", "secret": "short"},
        {"url": "http://" + "x" * 2100, "events": "task.created"},
    ],
    "/webhooks/<uuid:webhook_id>": [
        {"url": "gopher://x", "events": "task.created"},
        {"url": "http://127.0.0.1:9/hook", "events": ""},
    ],
    "/webhooks/<uuid:webhook_id>/active": [],
    "/webhooks/<uuid:webhook_id>/test": [],
    "/webhooks/<uuid:webhook_id>/delete": [],
    "/attachments/<uuid:attachment_id>/delete": [],
    "/invitations/<invite_token>/register": [
        {"email": "not-an-email", "name": "N", "password": PASSWORD, "confirm": PASSWORD},
        {"email": "new@example.com", "name": "", "password": PASSWORD, "confirm": PASSWORD},
        {"email": "new@example.com", "name": "N", "password": "short", "confirm": "short"},
        {"email": "new@example.com", "name": "N", "password": PASSWORD, "confirm": "other one"},
        {"email": "alice@example.com", "name": "N", "password": PASSWORD, "confirm": PASSWORD},
    ],
    "/invitations/<invite_token>/login": [
        {"email": "", "password": ""},
        {"email": "alice@example.com", "password": "x"},
    ],
}
# Free-text fields a person types (passwords are never shown again; choices are not typed).
TYPED = {"title", "description", "body", "name", "email", "due_date"}
HOSTILE = '<script>alert("pwned")</script><img src=x onerror="alert(1)">'


def post_routes(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or set()) and not rule.rule.startswith("/api/")
    )


@pytest.fixture
def world(client: FlaskClient, alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    project = alice.create_project("Launch")
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "One", assignee_ids=[bob.id])
    made = alice.post("/api/v1/users/me/tokens", json={"name": "script", "scope": "read"})
    comment = alice.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "A comment"})
    column = alice.post(
        f"/api/v1/projects/{project['id']}/columns", json={"name": "Review", "category": "done"}
    )
    label = alice.post(
        f"/api/v1/projects/{project['id']}/labels", json={"name": "Bug", "color": "red"}
    )
    item = alice.post(f"/api/v1/tasks/{task['id']}/checklist", json={"text": "Check"})
    assert column.status_code == label.status_code == item.status_code == 201
    invitation = alice.post(
        f"/api/v1/projects/{project['id']}/invitations", json={"email": "invited@example.com"}
    )
    assert invitation.status_code == 201
    attachment = alice.post(
        f"/api/v1/tasks/{task['id']}/attachments",
        data={"file": (io.BytesIO(b"notes"), "notes.txt")},
        content_type="multipart/form-data",
    )
    assert attachment.status_code == 201
    client.application.config["WEBHOOK_ALLOW_PRIVATE"] = True
    webhook = alice.post(
        f"/api/v1/projects/{project['id']}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["comment.created"]},
    )
    assert webhook.status_code == 201
    token = web_login(client, alice.email)
    with client.application.app_context():
        user = db.session.get(User, uuid.UUID(alice.id))
        reset = account_links.make_token(account_links.RESET_SALT, user, utcnow())
        confirm = account_links.make_token(
            account_links.EMAIL_SALT, user, utcnow(), e="alice.new@example.com"
        )
        invite = invitations.make_token(
            db.session.get(Invitation, uuid.UUID(invitation.json["id"]))
        )
        stop = unsubscribe.link(user, ["watching"]).rsplit("/", 1)[1]
    return {
        "ids": {
            "project_id": project["id"],
            "task_id": task["id"],
            "user_id": alice.id,
            "token_id": made.json["id"],
            "comment_id": comment.json["id"],
            "column_id": column.json["id"],
            "label_id": label.json["id"],
            "item_id": item.json["id"],
            "reset_token": reset,
            "email_token": confirm,
            "invite_token": invite,
            "unsubscribe_token": stop,
            "invitation_id": invitation.json["id"],
            "attachment_id": attachment.json["id"],
            "webhook_id": webhook.json["id"],
        },
        "csrf": token,
        "project": project["id"],
        "task": task["id"],
    }


def fill(rule: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        rule = rule.replace(f"<uuid:{name}>", value).replace(f"<{name}>", value)
    assert "<" not in rule, f"no id for a parameter of {rule}: add it to the world fixture"
    return rule


def test_every_form_is_in_the_table(app: Flask) -> None:
    assert set(post_routes(app)) <= set(BAD_FIELDS), set(post_routes(app)) - set(BAD_FIELDS)


# RFC 8058: mail clients POST the one-click unsubscribe link with no token to give; the
# signed link itself is the proof (tests/test_notify_settings.py).
CSRF_EXEMPT = {"/unsubscribe/<unsubscribe_token>"}


def test_forms_without_a_csrf_token_get_400_and_change_nothing(
    client: FlaskClient, app: Flask, world: dict
) -> None:
    for rule in post_routes(app):
        if rule in CSRF_EXEMPT:
            continue
        for headers in ({}, HX):
            before = table_counts(app)
            resp = client.post(fill(rule, world["ids"]), data={"title": "x"}, headers=headers)
            assert resp.status_code == 400, f"{rule}: {resp.status_code}"
            assert table_counts(app) == before, rule


def test_oversized_forms_get_413_and_change_nothing(
    client: FlaskClient, app: Flask, world: dict
) -> None:
    for rule in post_routes(app):
        before = table_counts(app)
        data = {"csrf_token": world["csrf"], "title": "t" * (1024 * 1024 + 1)}
        resp = client.post(fill(rule, world["ids"]), data=data)
        assert resp.status_code == 413, f"{rule}: {resp.status_code}"
        assert table_counts(app) == before, rule


def test_bad_fields_get_a_clear_4xx_keep_the_typing_and_change_nothing(
    client: FlaskClient, app: Flask, world: dict
) -> None:
    checked = 0
    for rule, rows in BAD_FIELDS.items():
        for row in rows:
            if rule in ("/register", "/login"):
                page = client.application.test_client()  # logged out
                token = csrf(page, rule)
            else:
                page, token = client, world["csrf"]
            for headers in ({}, HX):
                before = table_counts(app)
                resp = page.post(
                    fill(rule, world["ids"]), data={**row, "csrf_token": token}, headers=headers
                )
                where = f"{rule} {row} {headers}"
                assert 400 <= resp.status_code < 500, f"{where}: {resp.status_code}"
                assert table_counts(app) == before, where
                body = text(resp)
                assert "Traceback" not in body
                typed = [v for k, v in row.items() if k in TYPED and v and v != NUL]
                if headers == {} and resp.status_code == 422:
                    for value in typed:
                        if len(value) < 400 and value.strip():
                            assert value in body, f"{where}: typed {value!r} lost"
                checked += 1
    assert checked > 60


def test_removing_the_owner_and_deleting_without_confirmation_change_nothing(
    client: FlaskClient, app: Flask, world: dict
) -> None:
    before = table_counts(app)
    ids = world["ids"]
    resp = client.post(
        fill("/projects/<uuid:project_id>/members/<uuid:user_id>/remove", ids),
        data={"csrf_token": world["csrf"]},
    )
    assert resp.status_code == 409
    for rule in ("/tasks/<uuid:task_id>/delete", "/projects/<uuid:project_id>/delete"):
        resp = client.post(fill(rule, ids), data={"csrf_token": world["csrf"]})
        assert resp.status_code == 200 and "trash" in text(resp) and "confirm" in text(resp)
    assert table_counts(app) == before


def test_hostile_text_is_rendered_escaped_everywhere(
    client: FlaskClient, app: Flask, world: dict, alice: ApiUser
) -> None:
    resp = client.post(
        f"/projects/{world['project']}/tasks", data={"csrf_token": world["csrf"], "title": HOSTILE}
    )
    assert resp.status_code in (200, 201, 303)
    client.post(
        f"/tasks/{world['task']}/comments", data={"csrf_token": world["csrf"], "body": HOSTILE}
    )
    alice.patch(f"/api/v1/tasks/{world['task']}", json={"description": HOSTILE})
    client.post(
        f"/projects/{world['project']}/settings",
        data={"csrf_token": world["csrf"], "title": HOSTILE},
    )
    pages = [
        f"/projects/{world['project']}",
        f"/tasks/{world['task']}",
        "/projects",
        f"/projects/{world['project']}/settings",
    ]
    for url in pages:
        for headers in ({}, HX):
            body = text(client.get(url, headers=headers))
            assert "<script>alert" not in body and "<img src=x" not in body, url
            assert "&lt;script&gt;alert(" in body, url

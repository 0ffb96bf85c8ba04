"""Bad input on every API write route: a clear 4xx and an unchanged database.

The routes come from the app's URL map, so a new write route is covered (or this test
fails asking for its ids) without anyone remembering to add it here.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import table_counts

API = "/api/v1"
WRITE_METHODS = {"POST", "PATCH", "PUT", "DELETE"}
# Routes that take no bearer token: signing up and in.
PUBLIC = {
    "/api/v1/auth/register",
    "/api/v1/auth/tokens/refresh",
    "/api/v1/auth/password-reset",
    "/api/v1/auth/password-reset/confirm",
    "/api/v1/auth/email/confirm",
}

# Routes that take no body at all: whatever is sent is not read.
BODYLESS = {
    ("POST", "/api/v1/invitations/<uuid:invitation_id>/resend"),
    ("POST", "/api/v1/users/me/calendar"),
    ("PUT", "/api/v1/projects/<uuid:project_id>/share"),
    ("POST", "/api/v1/webhooks/<uuid:webhook_id>/test"),
    ("PUT", "/api/v1/tasks/<uuid:task_id>/watch"),
    ("PUT", "/api/v1/projects/<uuid:project_id>/watch"),
    ("PUT", "/api/v1/projects/<uuid:project_id>/mute"),
    ("POST", "/api/v1/tasks/<uuid:task_id>/restore"),
    ("POST", "/api/v1/projects/<uuid:project_id>/restore"),
}

MALFORMED_BODIES: list[tuple[str, bytes, str]] = [
    ("broken-json", b'{"title": ', "application/json"),
    ("array", b"[1, 2]", "application/json"),
    ("string", b'"title"', "application/json"),
    ("number", b"42", "application/json"),
    ("null", b"null", "application/json"),
    ("empty", b"", "application/json"),
    ("form-encoded", b"title=x&body=y", "application/x-www-form-urlencoded"),
    ("text", b"title", "text/plain"),
    ("unknown-field", b'{"no_such_field": 1}', "application/json"),
    (
        "nul-text",
        json.dumps(
            {"title": "a\u0000b", "body": "a\u0000b", "name": "a\u0000b", "email": "a\u0000@b.c"}
        ).encode(),
        "application/json",
    ),
    (
        "lone-surrogate",
        b'{"title": "\\ud800", "body": "\\ud800", "name": "\\ud800"}',
        "application/json",
    ),
    (
        "wrong-types",
        json.dumps(
            {
                "title": 1,
                "body": [],
                "name": {},
                "email": 5,
                "status": 1,
                "position": "2",
                "assignee_ids": "x",
                "due_date": 7,
                "notifications": "yes",
                "scope": 2,
                "password": 1,
                "refresh_token": 3,
                "description": False,
            }
        ).encode(),
        "application/json",
    ),
    ("oversized", json.dumps({"title": "x" * (1024 * 1024 + 10)}).encode(), "application/json"),
]


def write_routes(app: Any) -> list[tuple[str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API):
            continue
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            routes.append((method, rule.rule))
    return sorted(set(routes))


@pytest.fixture
def world(app: Any, alice: Any, bob: Any) -> dict[str, Any]:
    """Real ids for every path parameter, so requests reach validation, not a 404."""
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], assignee_ids=[bob.id])
    token = alice.post(f"{API}/users/me/tokens", json={"name": "script", "scope": "write"})
    assert token.status_code == 201
    comment = alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "a comment"})
    assert comment.status_code == 201
    column = alice.post(
        f"{API}/projects/{project['id']}/columns", json={"name": "Review", "category": "done"}
    )
    label = alice.post(
        f"{API}/projects/{project['id']}/labels", json={"name": "Bug", "color": "red"}
    )
    item = alice.post(f"{API}/tasks/{task['id']}/checklist", json={"text": "Check"})
    assert column.status_code == label.status_code == item.status_code == 201
    invitation = alice.post(
        f"{API}/projects/{project['id']}/invitations", json={"email": "invited@example.com"}
    )
    attachment = alice.post(
        f"{API}/tasks/{task['id']}/attachments",
        data={"file": (io.BytesIO(b"notes"), "notes.txt")},
        content_type="multipart/form-data",
    )
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    webhook = alice.post(
        f"{API}/projects/{project['id']}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["comment.created"]},
    )
    assert invitation.status_code == attachment.status_code == webhook.status_code == 201
    return {
        "webhook_id": webhook.json["id"],
        "invitation_id": invitation.json["id"],
        "attachment_id": attachment.json["id"],
        "comment_id": comment.json["id"],
        "column_id": column.json["id"],
        "label_id": label.json["id"],
        "item_id": item.json["id"],
        "project_id": project["id"],
        "task_id": task["id"],
        "user_id": bob.id,
        "token_id": token.json["id"],
    }


def fill(rule: str, ids: dict[str, str]) -> str:
    path = rule
    for name, value in ids.items():
        path = path.replace(f"<uuid:{name}>", value)
    assert "<" not in path, f"no id for a parameter of {rule}: add it to the world fixture"
    return path


def test_there_are_write_routes_to_check(app):
    routes = write_routes(app)
    assert ("PATCH", "/api/v1/tasks/<uuid:task_id>") in routes
    assert len(routes) >= 14


def test_malformed_bodies_get_a_clear_4xx_and_change_nothing(app, alice, world):
    for method, rule in write_routes(app):
        if method == "DELETE" or (method, rule) in BODYLESS:
            continue
        path = fill(rule, world)
        for name, body, content_type in MALFORMED_BODIES:
            before = table_counts(app)
            resp = alice.client.open(
                path,
                method=method,
                data=body,
                headers={**alice.headers, "Content-Type": content_type},
            )
            where = f"{method} {rule} with {name}"
            assert 400 <= resp.status_code < 500, f"{where}: {resp.status_code}"
            assert resp.status_code in (400, 401, 413, 415, 422), f"{where}: {resp.status_code}"
            assert resp.mimetype == "application/json", where
            problem = resp.json
            assert problem["code"] == resp.status_code and problem["status"], where
            assert table_counts(app) == before, where


def test_malformed_ids_in_paths_are_404_and_change_nothing(app, alice, world):
    for method, rule in write_routes(app):
        if "<" not in rule:
            continue
        path = rule
        for name in world:
            path = path.replace(f"<uuid:{name}>", "not-a-uuid")
        before = table_counts(app)
        resp = alice.client.open(path, method=method, json={}, headers=alice.headers)
        assert resp.status_code == 404, f"{method} {rule}: {resp.status_code}"
        assert table_counts(app) == before


def test_read_token_gets_403_on_every_write_and_changes_nothing(app, client, alice, world):
    made = alice.post(f"{API}/users/me/tokens", json={"name": "reader", "scope": "read"})
    read = {"Authorization": f"Bearer {made.json['token']}"}
    checked = 0
    for method, rule in write_routes(app):
        if rule in PUBLIC or (rule == "/api/v1/auth/tokens" and method == "POST"):
            continue
        before = table_counts(app)
        resp = client.open(fill(rule, world), method=method, json={"title": "x"}, headers=read)
        assert resp.status_code == 403, f"{method} {rule}: {resp.status_code}"
        assert table_counts(app) == before, f"{method} {rule}"
        checked += 1
    assert checked >= 10
    assert client.get(f"{API}/projects", headers=read).status_code == 200


HOSTILE = (
    '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes" \' ; DROP TABLE tasks;--'
)


def test_hostile_text_is_stored_and_returned_verbatim_as_data(alice, world):
    task = alice.create_task(world["project_id"], HOSTILE, description=HOSTILE)
    assert task["title"] == HOSTILE[:255].strip()
    comment = alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": HOSTILE})
    assert comment.status_code == 201 and comment.json["body"] == HOSTILE.strip()
    resp = alice.get(f"{API}/tasks/{task['id']}")
    assert resp.mimetype == "application/json"
    assert resp.json["description"] == HOSTILE.strip()
    assert resp.headers["X-Content-Type-Options"] == "nosniff"

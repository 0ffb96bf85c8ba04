"""API contract: projects and members (SPEC §3 rules, §4 /projects…)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from conftest import assert_error, table_counts

API = "/api/v1"


def user_shape(user: Any) -> dict:
    return {"id": user.id, "email": user.email, "name": user.name}


# Create, read, list ------------------------------------------------------------------


def test_create_project_makes_the_caller_owner_and_only_member(alice):
    resp = alice.post(f"{API}/projects", json={"title": "  Launch  ", "description": "Q3"})
    assert resp.status_code == 201
    project = resp.json
    assert set(project) == {
        "id",
        "title",
        "description",
        "owner",
        "members",
        "created_at",
        "updated_at",
    }
    assert project["title"] == "Launch"
    assert project["description"] == "Q3"
    assert project["owner"] == user_shape(alice)
    assert project["members"] == [user_shape(alice)]
    uuid.UUID(project["id"])
    assert project["created_at"].endswith("+00:00")


def test_create_project_without_description(alice):
    project = alice.create_project("Solo")
    assert project["description"] == ""


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": 5}, "title"),
        ({"title": None}, "title"),
        ({"title": "ok", "description": 3}, "description"),
        ({"title": "ok", "description": "d" * 10_001}, "description"),
        ({"title": "ok", "owner": "someone"}, "owner"),
    ],
    ids=[
        "missing",
        "empty",
        "blank",
        "too-long",
        "number",
        "null",
        "desc-number",
        "desc-long",
        "unknown-field",
    ],
)
def test_create_project_invalid_is_422_and_writes_nothing(alice, app, payload, field):
    before = table_counts(app)
    assert_error(alice.post(f"{API}/projects", json=payload), 422, field)
    assert table_counts(app) == before


def test_title_of_255_characters_is_accepted(alice):
    assert alice.create_project("t" * 255)["title"] == "t" * 255


def test_list_shows_only_projects_the_caller_is_a_member_of(alice, bob, carol):
    mine = alice.create_project("Mine")
    shared = bob.create_project("Shared")
    bob.add_member(shared["id"], alice)
    carol.create_project("Not mine")
    resp = alice.get(f"{API}/projects")
    assert resp.status_code == 200
    assert {p["id"] for p in resp.json} == {mine["id"], shared["id"]}
    pagination = json.loads(resp.headers["X-Pagination"])
    assert pagination["total"] == 2


def test_get_project_as_member_and_as_stranger(alice, bob):
    project = alice.create_project()
    assert alice.get(f"{API}/projects/{project['id']}").json["id"] == project["id"]
    assert_error(bob.get(f"{API}/projects/{project['id']}"), 404)


def test_unknown_project_is_404_and_malformed_id_is_404(alice):
    assert_error(alice.get(f"{API}/projects/{uuid.uuid4()}"), 404)
    assert alice.get(f"{API}/projects/not-a-uuid").status_code == 404


def test_projects_need_a_token(client):
    resp = client.get(f"{API}/projects")
    assert_error(resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


# Update and delete -------------------------------------------------------------------


def test_owner_renames_and_describes(alice):
    project = alice.create_project()
    resp = alice.patch(f"{API}/projects/{project['id']}", json={"title": "Renamed"})
    assert resp.status_code == 200
    assert resp.json["title"] == "Renamed"
    assert resp.json["updated_at"] >= project["updated_at"]
    resp = alice.patch(f"{API}/projects/{project['id']}", json={"description": "New"})
    assert resp.json["title"] == "Renamed" and resp.json["description"] == "New"


def test_member_who_is_not_owner_gets_403_on_owner_operations(alice, bob, carol, app):
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    pid = project["id"]
    before = table_counts(app)
    assert_error(bob.patch(f"{API}/projects/{pid}", json={"title": "Mine now"}), 403)
    assert_error(bob.delete(f"{API}/projects/{pid}"), 403)
    assert_error(bob.post(f"{API}/projects/{pid}/members", json={"email": carol.email}), 403)
    assert_error(bob.delete(f"{API}/projects/{pid}/members/{alice.id}"), 403)
    assert table_counts(app) == before
    assert alice.get(f"{API}/projects/{pid}").json["title"] == "Launch"


def test_stranger_gets_404_not_403_on_owner_operations(alice, bob, app):
    pid = alice.create_project()["id"]
    before = table_counts(app)
    assert_error(bob.patch(f"{API}/projects/{pid}", json={"title": "x"}), 404)
    assert_error(bob.delete(f"{API}/projects/{pid}"), 404)
    assert_error(bob.get(f"{API}/projects/{pid}/members"), 404)
    assert_error(bob.post(f"{API}/projects/{pid}/members", json={"email": bob.email}), 404)
    assert_error(bob.delete(f"{API}/projects/{pid}/members/{alice.id}"), 404)
    assert_error(bob.get(f"{API}/projects/{pid}/tasks"), 404)
    assert_error(bob.post(f"{API}/projects/{pid}/tasks", json={"title": "x"}), 404)
    assert table_counts(app) == before


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"title": ""}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": None}, "title"),
        ({"title": ["a"]}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_patch_project_invalid_is_422_and_changes_nothing(alice, payload, field):
    project = alice.create_project()
    assert_error(alice.patch(f"{API}/projects/{project['id']}", json=payload), 422, field)
    assert alice.get(f"{API}/projects/{project['id']}").json == project


def test_delete_project_deletes_its_tasks_comments_and_activity(alice, bob, app):
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], assignee_ids=[bob.id])
    alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "hi"})
    other = alice.create_project("Keep")
    alice.create_task(other["id"])
    resp = alice.delete(f"{API}/projects/{project['id']}")
    assert resp.status_code == 204 and resp.data == b""
    assert_error(alice.get(f"{API}/projects/{project['id']}"), 404)
    assert_error(alice.get(f"{API}/tasks/{task['id']}"), 404)
    counts = table_counts(app)
    assert counts["tasks"] == 1 and counts["comments"] == 0
    assert counts["projects"] == 1 and counts["task_assignees"] == 0
    assert [p["id"] for p in bob.get(f"{API}/projects").json] == []


# Members ------------------------------------------------------------------------------


def test_add_member_by_email_any_case(alice, bob):
    pid = alice.create_project()["id"]
    resp = alice.post(f"{API}/projects/{pid}/members", json={"email": bob.email.upper()})
    assert resp.status_code == 201
    assert resp.json == user_shape(bob)
    members = alice.get(f"{API}/projects/{pid}/members")
    assert members.status_code == 200
    assert {m["id"] for m in members.json} == {alice.id, bob.id}
    assert bob.get(f"{API}/projects/{pid}").status_code == 200


def test_add_unknown_email_is_422_and_existing_member_is_409(alice, bob, app):
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    before = table_counts(app)
    assert_error(
        alice.post(f"{API}/projects/{pid}/members", json={"email": "x@example.com"}), 422, "email"
    )
    assert_error(alice.post(f"{API}/projects/{pid}/members", json={"email": bob.email}), 409)
    assert_error(alice.post(f"{API}/projects/{pid}/members", json={"email": alice.email}), 409)
    assert table_counts(app) == before


@pytest.mark.parametrize("payload", [{}, {"email": 1}, {"email": None}, {"email": "a", "x": 1}])
def test_add_member_malformed_is_422(alice, app, payload):
    pid = alice.create_project()["id"]
    before = table_counts(app)
    assert_error(alice.post(f"{API}/projects/{pid}/members", json=payload), 422)
    assert table_counts(app) == before


def test_owner_cannot_be_removed(alice, app):
    pid = alice.create_project()["id"]
    before = table_counts(app)
    assert_error(alice.delete(f"{API}/projects/{pid}/members/{alice.id}"), 409)
    assert table_counts(app) == before


def test_removing_a_member_unassigns_them_and_hides_the_project(alice, bob, carol):
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    alice.add_member(pid, carol)
    task = alice.create_task(pid, assignee_ids=[bob.id, carol.id])
    resp = alice.delete(f"{API}/projects/{pid}/members/{bob.id}")
    assert resp.status_code == 204
    after = alice.get(f"{API}/tasks/{task['id']}").json
    assert [a["id"] for a in after["assignees"]] == [carol.id]
    verbs = [a["verb"] for a in alice.get(f"{API}/tasks/{task['id']}/activity").json]
    assert verbs[0] == "assignee_removed"
    assert_error(bob.get(f"{API}/projects/{pid}"), 404)
    assert_error(bob.get(f"{API}/tasks/{task['id']}"), 404)


def test_remove_non_member_or_unknown_user_is_404(alice, bob):
    pid = alice.create_project()["id"]
    assert_error(alice.delete(f"{API}/projects/{pid}/members/{bob.id}"), 404)
    assert_error(alice.delete(f"{API}/projects/{pid}/members/{uuid.uuid4()}"), 404)
    assert alice.delete(f"{API}/projects/{pid}/members/nope").status_code == 404


def test_member_can_list_members(alice, bob):
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    resp = bob.get(f"{API}/projects/{pid}/members")
    assert resp.status_code == 200
    assert {m["email"] for m in resp.json} == {alice.email, bob.email}
    assert all(set(m) == {"id", "email", "name"} for m in resp.json)


def test_member_can_work_on_tasks_but_a_removed_one_cannot(alice, bob):
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    task = bob.create_task(pid, "Bob's task")
    assert bob.patch(f"{API}/tasks/{task['id']}", json={"status": "done"}).status_code == 200
    alice.delete(f"{API}/projects/{pid}/members/{bob.id}")
    assert_error(bob.patch(f"{API}/tasks/{task['id']}", json={"status": "todo"}), 404)
    assert_error(bob.delete(f"{API}/tasks/{task['id']}"), 404)
    assert alice.get(f"{API}/tasks/{task['id']}").json["status"] == "done"

"""Lost updates are refused: ETag on tasks and projects, If-Match optional, 412 when stale."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import table_counts

API = "/api/v1"


@pytest.fixture
def pid(alice: Any, bob: Any) -> str:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    return project["id"]


def etag(resp: Any) -> str:
    assert resp.status_code in (200, 201), resp.json
    value = resp.headers["ETag"]
    assert value.startswith('"') and value.endswith('"')
    return value


def test_task_etag_changes_with_every_write(alice, pid):
    created = alice.post(f"{API}/projects/{pid}/tasks", json={"title": "a"})
    first = etag(created)
    url = f"{API}/tasks/{created.json['id']}"
    assert etag(alice.get(url)) == first
    assert etag(alice.get(url)) == first
    patched = alice.patch(url, json={"title": "b"}, headers={**alice.headers, "If-Match": first})
    second = etag(patched)
    assert second != first
    assert etag(alice.get(url)) == second


def test_stale_if_match_is_412_and_changes_nothing(alice, bob, pid, app):
    task = alice.create_task(pid, "original")
    url = f"{API}/tasks/{task['id']}"
    seen = etag(alice.get(url))
    assert bob.patch(url, json={"title": "bob was here"}).status_code == 200
    before = table_counts(app)
    stale = {**alice.headers, "If-Match": seen}
    resp = alice.patch(url, json={"title": "alice overwrites"}, headers=stale)
    assert resp.status_code == 412
    assert resp.json["code"] == 412 and "changed" in resp.json["message"]
    resp = alice.delete(url, headers=stale)
    assert resp.status_code == 412
    assert table_counts(app) == before
    assert alice.get(url).json["title"] == "bob was here"


def test_without_if_match_writes_go_ahead_as_before(alice, bob, pid):
    task = alice.create_task(pid)
    url = f"{API}/tasks/{task['id']}"
    assert bob.patch(url, json={"title": "x"}).status_code == 200
    assert alice.patch(url, json={"title": "y"}).status_code == 200
    assert alice.delete(url).status_code == 204


def test_if_match_star_and_lists(alice, pid):
    task = alice.create_task(pid)
    url = f"{API}/tasks/{task['id']}"
    current = etag(alice.get(url))
    star = {**alice.headers, "If-Match": "*"}
    assert alice.patch(url, json={"title": "star"}, headers=star).status_code == 200
    current = etag(alice.get(url))
    listed = {**alice.headers, "If-Match": f'"nothing-1", {current}'}
    assert alice.patch(url, json={"title": "listed"}, headers=listed).status_code == 200
    other = {**alice.headers, "If-Match": '"0123456789ab-1"'}
    assert alice.patch(url, json={"title": "other"}, headers=other).status_code == 412
    fresh = {**alice.headers, "If-Match": etag(alice.get(url))}
    assert alice.delete(url, headers=fresh).status_code == 204


def test_a_move_of_another_card_changes_the_etag_of_cards_it_shifts(alice, pid):
    first = alice.create_task(pid, "first")
    second = alice.create_task(pid, "second")
    url = f"{API}/tasks/{second['id']}"
    seen = etag(alice.get(url))
    alice.patch(f"{API}/tasks/{first['id']}", json={"status": "done"})
    assert alice.get(url).json["position"] == 0
    stale = {**alice.headers, "If-Match": seen}
    assert alice.patch(url, json={"title": "x"}, headers=stale).status_code == 412


def test_project_etag_and_if_match(alice, bob, carol, pid, app):
    url = f"{API}/projects/{pid}"
    seen = etag(alice.get(url))
    alice.add_member(pid, carol)
    after_member = etag(alice.get(url))
    assert after_member != seen
    stale = {**alice.headers, "If-Match": seen}
    before = table_counts(app)
    assert alice.patch(url, json={"title": "Renamed"}, headers=stale).status_code == 412
    assert alice.delete(url, headers=stale).status_code == 412
    assert table_counts(app) == before
    fresh = {**alice.headers, "If-Match": after_member}
    resp = alice.patch(url, json={"title": "Renamed"}, headers=fresh)
    assert resp.status_code == 200 and etag(resp) != after_member
    assert alice.delete(url, headers={**alice.headers, "If-Match": etag(resp)}).status_code == 204


def test_if_match_is_documented_optional_with_412(client):
    spec = client.get("/api/openapi.json").json
    patch = spec["paths"]["/api/v1/tasks/{task_id}"]["patch"]
    assert "If-Match" in patch["description"]
    assert not any(p["name"] == "If-Match" for p in patch.get("parameters", []))
    assert "412" in patch["responses"]
    get = spec["paths"]["/api/v1/tasks/{task_id}"]["get"]
    assert "ETag" in get["responses"]["200"]["headers"]

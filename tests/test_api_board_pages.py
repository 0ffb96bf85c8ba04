"""Pages of a whole board: the column sizes give the total and where each page starts."""

from __future__ import annotations

import json
from typing import Any

API = "/api/v1"


def _board(alice: Any) -> tuple[str, list[str]]:
    """A board of 3 + 4 + 2 cards after some moves and a delete; its ids in board order."""
    pid = alice.create_project()["id"]
    ids = {s: [] for s in ("todo", "in_progress", "done")}
    for i, status in enumerate(["todo"] * 4 + ["in_progress"] * 4 + ["done"] * 3):
        ids[status].append(alice.create_task(pid, f"t{i}", status=status)["id"])
    moved = ids["done"].pop(0)
    resp = alice.patch(f"{API}/tasks/{moved}", json={"status": "in_progress", "position": 1})
    assert resp.status_code == 200
    ids["in_progress"].insert(1, moved)
    gone = ids["todo"].pop(1)
    assert alice.delete(f"{API}/tasks/{gone}").status_code == 204
    ids["in_progress"].pop()  # moved to the front of Done below
    last = alice.get(f"{API}/projects/{pid}/tasks?status=in_progress&per_page=100").json[-1]["id"]
    alice.patch(f"{API}/tasks/{last}", json={"status": "done", "position": 0})
    ids["done"].insert(0, last)
    order = ids["todo"] + ids["in_progress"] + ids["done"]
    return pid, order


def test_every_page_size_walks_the_board_in_order(alice):
    pid, order = _board(alice)
    assert len(order) == 10
    for per_page in (1, 2, 3, 4, 7, 9, 10, 11):
        seen: list[str] = []
        page = 1
        while True:
            resp = alice.get(f"{API}/projects/{pid}/tasks?per_page={per_page}&page={page}")
            assert resp.status_code == 200
            meta = json.loads(resp.headers["X-Pagination"])
            assert meta["total"] == len(order)
            if not resp.json:
                break
            seen += [t["id"] for t in resp.json]
            page += 1
        assert seen == order, per_page


def test_positions_and_statuses_match_the_filtered_lists(alice):
    pid, _ = _board(alice)
    whole = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    for status in ("todo", "in_progress", "done"):
        column = alice.get(f"{API}/projects/{pid}/tasks?status={status}&per_page=100").json
        assert [t for t in whole if t["status"] == status] == column
        assert [t["position"] for t in column] == list(range(len(column)))


def test_pages_past_the_end_and_empty_boards(alice, bob):
    pid, order = _board(alice)
    resp = alice.get(f"{API}/projects/{pid}/tasks?per_page=5&page=3")
    assert resp.status_code == 200 and resp.json == []
    assert json.loads(resp.headers["X-Pagination"])["total"] == len(order)
    empty = alice.create_project("empty")["id"]
    resp = alice.get(f"{API}/projects/{empty}/tasks")
    assert resp.status_code == 200 and resp.json == []
    assert json.loads(resp.headers["X-Pagination"])["total"] == 0
    assert bob.get(f"{API}/projects/{pid}/tasks").status_code == 404


def test_every_page_carries_each_cards_assignees(alice, bob, carol):
    """A board page reads its cards' assignees by the page's own position ranges: every
    card on every page has the assignees the single task shows, in the same order."""
    pid = alice.create_project()["id"]
    alice.add_member(pid, bob)
    alice.add_member(pid, carol)
    people = [[], [bob.id], [alice.id, carol.id], [alice.id, bob.id, carol.id]]
    for i, status in enumerate(["todo"] * 5 + ["in_progress"] * 3 + ["done"] * 4):
        alice.create_task(pid, f"t{i}", status=status, assignee_ids=people[i % len(people)])
    expected = {
        t["id"]: alice.get(f"{API}/tasks/{t['id']}").json["assignees"]
        for t in alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    }
    assert sum(bool(a) for a in expected.values()) == 9
    for per_page in (1, 3, 5, 12):
        seen = 0
        for page in range(1, 12 // per_page + 2):
            url = f"{API}/projects/{pid}/tasks?per_page={per_page}&page={page}"
            for task in alice.get(url).json:
                assert task["assignees"] == expected[task["id"]], (per_page, page)
                seen += 1
        assert seen == 12

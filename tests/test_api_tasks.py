"""API contract: tasks, moves, filters, pagination, comments, activity (SPEC §3, §4)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import assert_error, table_counts

API = "/api/v1"
STATUSES = ("todo", "in_progress", "done")


def iso(dt: datetime) -> str:
    return dt.isoformat()


def board(user: Any, pid: str) -> dict[str, list[str]]:
    """Titles per column, in position order, checking positions are 0…n-1."""
    resp = user.get(f"{API}/projects/{pid}/tasks?per_page=100")
    assert resp.status_code == 200
    columns: dict[str, list[str]] = {s: [] for s in STATUSES}
    for task in resp.json:
        assert task["position"] == len(columns[task["status"]]), resp.json
        columns[task["status"]].append(task["title"])
    return columns


@pytest.fixture
def project(alice: Any, bob: Any) -> dict:
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    return project


# Create --------------------------------------------------------------------------------


def test_create_task_full_shape(alice, bob, project):
    due = datetime(2030, 1, 2, 15, 30, tzinfo=UTC)
    resp = alice.post(
        f"{API}/projects/{project['id']}/tasks",
        json={
            "title": " Ship it ",
            "description": "All of it",
            "status": "in_progress",
            "assignee_ids": [bob.id, alice.id],
            "due_date": "2030-01-02T17:30:00+02:00",
        },
    )
    assert resp.status_code == 201, resp.json
    task = resp.json
    assert set(task) == {
        "id",
        "project_id",
        "column_id",
        "title",
        "description",
        "status",
        "position",
        "assignees",
        "labels",
        "checklist",
        "attachment_count",
        "due_date",
        "created_by",
        "created_at",
        "updated_at",
    }
    assert task["title"] == "Ship it"
    assert task["labels"] == [] and task["checklist"] == {"done": 0, "total": 0}
    assert task["project_id"] == project["id"]
    assert task["status"] == "in_progress" and task["position"] == 0
    assert {a["id"] for a in task["assignees"]} == {alice.id, bob.id}
    assert datetime.fromisoformat(task["due_date"]) == due
    assert task["due_date"].endswith("+00:00")
    assert task["created_by"]["id"] == alice.id
    history = alice.get(f"{API}/tasks/{task['id']}/activity").json
    assert [a["verb"] for a in history] == ["assignee_added", "assignee_added", "created"]
    assert {a["detail"]["user_id"] for a in history[:2]} == {alice.id, bob.id}


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"description": "  Notes  ", "due_date": "2030-01-02T17:30:00.123456+02:00"},
        {"status": "done", "assignees": 1, "labels": 1},
        {"assignees": 2, "labels": 2},  # several: read back in the database's order
    ],
    ids=["plain", "described", "one-each", "several"],
)
def test_a_creates_answer_is_what_reading_the_card_gives(alice, bob, project, extra):
    """A create answers with the card it wrote, without reading it back where it can:
    the answer is exactly what a GET of the card gives next, every field."""
    pid = project["id"]
    body: dict[str, Any] = {"title": " Fresh card ", **extra}
    people = [bob.id, alice.id][: body.pop("assignees", 0)]
    if people:
        body["assignee_ids"] = people
    count = body.pop("labels", 0)
    if count:
        made = [
            alice.post(f"{API}/projects/{pid}/labels", json={"name": name, "color": color})
            for name, color in (("urgent", "red"), ("Backend", "blue"))[:count]
        ]
        body["label_ids"] = [resp.json["id"] for resp in made]
    alice.create_task(pid, "already there")
    created = alice.post(f"{API}/projects/{pid}/tasks", json=body)
    assert created.status_code == 201, created.json
    read = alice.get(f"{API}/tasks/{created.json['id']}")
    assert read.status_code == 200
    assert created.json == read.json
    assert created.headers.get("ETag") == read.headers.get("ETag")
    assert len(created.json["assignees"]) == len(people)
    assert len(created.json["labels"]) == count


def test_new_tasks_are_appended_to_their_column_in_creation_order(alice, project):
    pid = project["id"]
    for title in ("a", "b", "c"):
        alice.create_task(pid, title)
    alice.create_task(pid, "d", status="done")
    alice.create_task(pid, "e")
    assert board(alice, pid) == {"todo": ["a", "b", "c", "e"], "in_progress": [], "done": ["d"]}


@pytest.mark.parametrize(
    "payload, field",
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 256}, "title"),
        ({"title": 1}, "title"),
        ({"title": "t", "status": "blocked"}, "status"),
        ({"title": "t", "status": None}, "status"),
        ({"title": "t", "assignee_ids": "nope"}, "assignee_ids"),
        ({"title": "t", "assignee_ids": ["not-a-uuid"]}, "assignee_ids"),
        ({"title": "t", "due_date": "2030-01-02T10:00:00"}, "due_date"),
        ({"title": "t", "due_date": "tomorrow"}, "due_date"),
        ({"title": "t", "due_date": 17}, "due_date"),
        ({"title": "t", "position": 0}, "position"),
        ({"title": "t", "project_id": str(uuid.uuid4())}, "project_id"),
        ({"title": "t", "description": "d" * 10_001}, "description"),
    ],
)
def test_create_task_invalid_is_422_and_writes_nothing(alice, app, project, payload, field):
    before = table_counts(app)
    assert_error(alice.post(f"{API}/projects/{project['id']}/tasks", json=payload), 422, field)
    assert table_counts(app) == before


def test_assignee_must_be_a_member(alice, carol, app, project):
    before = table_counts(app)
    for ids in ([carol.id], [str(uuid.uuid4())], [alice.id, carol.id]):
        resp = alice.post(
            f"{API}/projects/{project['id']}/tasks", json={"title": "t", "assignee_ids": ids}
        )
        assert_error(resp, 422, "assignee_ids")
    assert table_counts(app) == before


def test_duplicate_assignee_ids_count_once(alice, project):
    task = alice.create_task(project["id"], assignee_ids=[alice.id, alice.id])
    assert [a["id"] for a in task["assignees"]] == [alice.id]


def test_assignees_read_alike_by_name_in_every_answer(alice, bob, carol, project):
    """One task (a single statement) and lists (assignees fetched per page) agree."""
    alice.add_member(project["id"], carol)
    ids = [carol.id, alice.id, bob.id]  # Carol Chen, Alice Adams, Bob Brown
    task = alice.create_task(project["id"], assignee_ids=ids)
    alice.create_task(project["id"], "unassigned")
    by_name = ["Alice Adams", "Bob Brown", "Carol Chen"]
    assert [a["name"] for a in task["assignees"]] == by_name
    single = alice.get(f"{API}/tasks/{task['id']}").json
    listed = alice.get(f"{API}/projects/{project['id']}/tasks").json
    mine = alice.get(f"{API}/tasks?assignee=me").json
    assert single == listed[0] == mine[0] == task
    assert listed[1]["assignees"] == []
    assert alice.get(f"{API}/tasks/{listed[1]['id']}").json["assignees"] == []


def test_stranger_cannot_see_or_touch_a_task(alice, carol, project, app):
    task = alice.create_task(project["id"])
    tid = task["id"]
    before = table_counts(app)
    assert_error(carol.get(f"{API}/tasks/{tid}"), 404)
    assert_error(carol.patch(f"{API}/tasks/{tid}", json={"title": "x"}), 404)
    assert_error(carol.delete(f"{API}/tasks/{tid}"), 404)
    assert_error(carol.get(f"{API}/tasks/{tid}/comments"), 404)
    assert_error(carol.post(f"{API}/tasks/{tid}/comments", json={"body": "x"}), 404)
    assert_error(carol.get(f"{API}/tasks/{tid}/activity"), 404)
    assert carol.get(f"{API}/tasks").json == []
    assert table_counts(app) == before


def test_malformed_task_id_is_404(alice):
    for method in ("get", "patch", "delete"):
        assert getattr(alice, method)(f"{API}/tasks/123").status_code == 404
    assert_error(alice.get(f"{API}/tasks/{uuid.uuid4()}"), 404)


# Edit and move --------------------------------------------------------------------------


def test_patch_edits_fields_and_records_activity(alice, bob, project):
    task = alice.create_task(project["id"], "Old", description="d")
    resp = alice.patch(
        f"{API}/tasks/{task['id']}",
        json={
            "title": "New",
            "description": "e",
            "assignee_ids": [bob.id],
            "due_date": "2031-05-06T07:08:09+00:00",
        },
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["title"] == "New" and resp.json["description"] == "e"
    assert [a["id"] for a in resp.json["assignees"]] == [bob.id]
    history = alice.get(f"{API}/tasks/{task['id']}/activity").json
    verbs = {a["verb"] for a in history}
    assert {"title_changed", "description_changed", "assignee_added", "due_date_changed"} <= verbs
    assert history[-1]["verb"] == "created"
    title = next(a for a in history if a["verb"] == "title_changed")
    assert title["actor"]["id"] == alice.id and title["task_id"] == task["id"]
    assert title["detail"] == {"from": "Old", "to": "New"}
    resp = alice.patch(f"{API}/tasks/{task['id']}", json={"due_date": None, "assignee_ids": []})
    assert resp.json["due_date"] is None and resp.json["assignees"] == []


def test_patch_with_same_values_records_nothing(alice, project):
    task = alice.create_task(project["id"], "Same")
    alice.patch(f"{API}/tasks/{task['id']}", json={"title": "Same", "status": "todo"})
    assert len(alice.get(f"{API}/tasks/{task['id']}/activity").json) == 1


def test_status_change_without_position_goes_to_the_end(alice, project):
    pid = project["id"]
    tasks = {t: alice.create_task(pid, t) for t in ("a", "b", "c")}
    alice.create_task(pid, "x", status="done")
    resp = alice.patch(f"{API}/tasks/{tasks['a']['id']}", json={"status": "done"})
    assert resp.json["status"] == "done" and resp.json["position"] == 1
    assert board(alice, pid) == {"todo": ["b", "c"], "in_progress": [], "done": ["x", "a"]}
    verbs = [a["verb"] for a in alice.get(f"{API}/tasks/{tasks['a']['id']}/activity").json]
    assert verbs[0] == "status_changed"


def test_move_to_a_position_in_another_column_makes_room(alice, project):
    pid = project["id"]
    a = alice.create_task(pid, "a")
    for t in ("x", "y", "z"):
        alice.create_task(pid, t, status="in_progress")
    resp = alice.patch(f"{API}/tasks/{a['id']}", json={"status": "in_progress", "position": 1})
    assert resp.json["position"] == 1
    assert board(alice, pid)["in_progress"] == ["x", "a", "y", "z"]


@pytest.mark.parametrize(
    "start, to, expected",
    [
        (0, 2, ["b", "c", "a", "d"]),
        (3, 0, ["d", "a", "b", "c"]),
        (1, 1, ["a", "b", "c", "d"]),
        (0, 99, ["b", "c", "d", "a"]),
        (2, 3, ["a", "b", "d", "c"]),
    ],
)
def test_reorder_within_a_column(alice, project, start, to, expected):
    pid = project["id"]
    tasks = [alice.create_task(pid, t) for t in "abcd"]
    resp = alice.patch(f"{API}/tasks/{tasks[start]['id']}", json={"position": to})
    assert resp.status_code == 200
    assert resp.json["position"] == min(to, 3)
    assert board(alice, pid)["todo"] == expected


def test_position_past_the_end_of_another_column_means_the_end(alice, project):
    pid = project["id"]
    a = alice.create_task(pid, "a")
    alice.create_task(pid, "d1", status="done")
    resp = alice.patch(f"{API}/tasks/{a['id']}", json={"status": "done", "position": 50})
    assert resp.json["position"] == 1
    assert board(alice, pid) == {"todo": [], "in_progress": [], "done": ["d1", "a"]}


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"position": -1}, "position"),
        ({"position": "1"}, "position"),
        ({"position": 1.5}, "position"),
        ({"position": None}, "position"),
        ({"status": "archived"}, "status"),
        ({"title": ""}, "title"),
        ({"title": None}, "title"),
        ({"assignee_ids": None}, "assignee_ids"),
        ({"assignee_ids": [1]}, "assignee_ids"),
        ({"due_date": "2030-01-01"}, "due_date"),
        ({"created_by": str(uuid.uuid4())}, "created_by"),
    ],
)
def test_patch_invalid_is_422_and_changes_nothing(alice, app, project, payload, field):
    task = alice.create_task(project["id"])
    before = table_counts(app)
    assert_error(alice.patch(f"{API}/tasks/{task['id']}", json=payload), 422, field)
    assert table_counts(app) == before
    assert alice.get(f"{API}/tasks/{task['id']}").json == task


def test_patch_with_a_non_member_assignee_changes_nothing(alice, carol, project, app):
    task = alice.create_task(project["id"], "t")
    before = table_counts(app)
    resp = alice.patch(
        f"{API}/tasks/{task['id']}", json={"title": "changed", "assignee_ids": [carol.id]}
    )
    assert_error(resp, 422, "assignee_ids")
    assert alice.get(f"{API}/tasks/{task['id']}").json["title"] == "t"
    assert table_counts(app) == before


def test_delete_task_closes_the_gap(alice, bob, project):
    pid = project["id"]
    tasks = [alice.create_task(pid, t) for t in "abc"]
    resp = bob.delete(f"{API}/tasks/{tasks[0]['id']}")
    assert resp.status_code == 204 and resp.data == b""
    assert board(alice, pid)["todo"] == ["b", "c"]
    assert_error(alice.get(f"{API}/tasks/{tasks[0]['id']}"), 404)
    assert_error(alice.delete(f"{API}/tasks/{tasks[0]['id']}"), 404)


# Lists: filters and pagination ---------------------------------------------------------


@pytest.fixture
def filled(alice: Any, bob: Any, project: dict) -> dict[str, Any]:
    """A board with due dates, assignees and text to filter on."""
    pid = project["id"]
    now = datetime.now(UTC)
    made = {
        "past": alice.create_task(
            pid, "Past due", due_date=iso(now - timedelta(days=2)), assignee_ids=[bob.id]
        ),
        "past_done": alice.create_task(
            pid, "Finished late", status="done", due_date=iso(now - timedelta(days=1))
        ),
        "soon": alice.create_task(
            pid,
            "Soon",
            description="needle inside",
            due_date=iso(now + timedelta(hours=5)),
            assignee_ids=[alice.id, bob.id],
        ),
        "later": alice.create_task(
            pid, "Later 100% sure", status="in_progress", due_date=iso(now + timedelta(days=10))
        ),
        "none": alice.create_task(pid, "No date NEEDLE"),
    }
    return {"pid": pid, "now": now, "tasks": made}


def titles(resp: Any) -> list[str]:
    assert resp.status_code == 200, resp.json
    return [t["title"] for t in resp.json]


def test_list_is_ordered_by_status_then_position(alice, filled):
    got = titles(alice.get(f"{API}/projects/{filled['pid']}/tasks"))
    assert got == ["Past due", "Soon", "No date NEEDLE", "Later 100% sure", "Finished late"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=done", {"Finished late"}),
        ("q=needle", {"Soon", "No date NEEDLE"}),
        ("q=100%25", {"Later 100% sure"}),
        ("q=_", set()),
        ("overdue=true", {"Past due"}),
        ("overdue=false", {"Finished late", "Soon", "Later 100% sure", "No date NEEDLE"}),
        ("status=todo&q=due", {"Past due"}),
    ],
)
def test_filters(alice, filled, query, expected):
    resp = alice.get(f"{API}/projects/{filled['pid']}/tasks?{query}")
    assert set(titles(resp)) == expected


def test_assignee_filters(alice, bob, filled):
    pid = filled["pid"]
    assert set(titles(alice.get(f"{API}/projects/{pid}/tasks?assignee=me"))) == {"Soon"}
    assert set(titles(bob.get(f"{API}/projects/{pid}/tasks?assignee=me"))) == {"Past due", "Soon"}
    by_id = alice.get(f"{API}/projects/{pid}/tasks?assignee={bob.id}")
    assert set(titles(by_id)) == {"Past due", "Soon"}
    soon = next(t for t in by_id.json if t["title"] == "Soon")
    assert {a["id"] for a in soon["assignees"]} == {alice.id, bob.id}


def test_due_bounds_are_exclusive_and_need_an_offset(alice, filled):
    pid, now = filled["pid"], filled["now"]
    soon_due = filled["tasks"]["soon"]["due_date"]
    before = (now + timedelta(days=1)).isoformat()
    resp = alice.get(f"{API}/projects/{pid}/tasks", query_string={"due_before": before})
    assert set(titles(resp)) == {"Past due", "Finished late", "Soon"}
    resp = alice.get(f"{API}/projects/{pid}/tasks", query_string={"due_after": now.isoformat()})
    assert set(titles(resp)) == {"Soon", "Later 100% sure"}
    exact = alice.get(f"{API}/projects/{pid}/tasks", query_string={"due_before": soon_due})
    assert "Soon" not in titles(exact)
    exact = alice.get(f"{API}/projects/{pid}/tasks", query_string={"due_after": soon_due})
    assert "Soon" not in titles(exact)
    naive = alice.get(
        f"{API}/projects/{pid}/tasks", query_string={"due_before": "2030-01-01T00:00:00"}
    )
    assert_error(naive, 422, "due_before", "query")


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=nope", "status"),
        ("assignee=someone", "assignee"),
        ("overdue=maybe", "overdue"),
        ("due_after=yesterday", "due_after"),
        ("per_page=101", "per_page"),
        ("per_page=0", "per_page"),
        ("page=0", "page"),
        ("page=x", "page"),
    ],
)
def test_bad_filters_are_422(alice, filled, query, field):
    assert_error(alice.get(f"{API}/projects/{filled['pid']}/tasks?{query}"), 422, field, "query")
    assert_error(alice.get(f"{API}/tasks?{query}"), 422, field, "query")


def test_pagination_with_per_page_and_x_pagination_header(alice, project):
    pid = project["id"]
    for i in range(7):
        alice.create_task(pid, f"t{i}")
    resp = alice.get(f"{API}/projects/{pid}/tasks?per_page=3&page=2")
    assert titles(resp) == ["t3", "t4", "t5"]
    pagination = json.loads(resp.headers["X-Pagination"])
    assert pagination["total"] == 7 and pagination["total_pages"] == 3
    assert pagination["page"] == 2
    assert titles(alice.get(f"{API}/projects/{pid}/tasks?per_page=3&page=3")) == ["t6"]
    default = alice.get(f"{API}/projects/{pid}/tasks")
    assert len(default.json) == 7
    assert json.loads(default.headers["X-Pagination"])["total"] == 7


def test_default_page_is_20_and_max_is_100(alice, project):
    pid = project["id"]
    for i in range(21):
        alice.create_task(pid, f"t{i:02}")
    assert len(alice.get(f"{API}/projects/{pid}/tasks").json) == 20
    assert len(alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json) == 21


def test_my_tasks_across_projects(alice, bob, carol, project):
    other = carol.create_project("Carol's")
    carol.add_member(other["id"], bob)
    alice.create_task(project["id"], "alice only")
    alice.create_task(project["id"], "for bob", assignee_ids=[bob.id])
    carol.create_task(other["id"], "carol for bob", assignee_ids=[bob.id])
    carol.create_task(other["id"], "carol alone")
    assert set(titles(bob.get(f"{API}/tasks?assignee=me"))) == {"for bob", "carol for bob"}
    assert set(titles(bob.get(f"{API}/tasks"))) == {
        "alice only",
        "for bob",
        "carol for bob",
        "carol alone",
    }
    assert set(titles(alice.get(f"{API}/tasks"))) == {"alice only", "for bob"}
    assert set(titles(bob.get(f"{API}/tasks?assignee=me&q=carol"))) == {"carol for bob"}
    resp = bob.get(f"{API}/tasks?assignee=me&per_page=1")
    assert json.loads(resp.headers["X-Pagination"])["total"] == 2


# Comments and activity -----------------------------------------------------------------


def test_comments_oldest_first_with_author(alice, bob, project):
    task = alice.create_task(project["id"])
    tid = task["id"]
    first = alice.post(f"{API}/tasks/{tid}/comments", json={"body": "  first  "})
    assert first.status_code == 201
    assert set(first.json) == {"id", "task_id", "author", "body", "created_at", "edited_at"}
    assert first.json["author"]["id"] == alice.id and first.json["task_id"] == tid
    bob.post(f"{API}/tasks/{tid}/comments", json={"body": "second"})
    resp = alice.get(f"{API}/tasks/{tid}/comments")
    assert [c["body"] for c in resp.json] == ["first", "second"]
    assert json.loads(resp.headers["X-Pagination"])["total"] == 2
    history = alice.get(f"{API}/tasks/{tid}/activity").json
    assert [a["verb"] for a in history] == ["commented", "commented", "created"]
    assert history[0]["actor"]["id"] == bob.id


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"body": ""},
        {"body": "   "},
        {"body": "x" * 10_001},
        {"body": 3},
        {"body": "ok", "author": "me"},
    ],
)
def test_invalid_comment_is_422_and_writes_nothing(alice, app, project, payload):
    task = alice.create_task(project["id"])
    before = table_counts(app)
    assert_error(alice.post(f"{API}/tasks/{task['id']}/comments", json=payload), 422)
    assert table_counts(app) == before


def test_comment_of_10000_characters_is_accepted(alice, project):
    task = alice.create_task(project["id"])
    resp = alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "x" * 10_000})
    assert resp.status_code == 201


def test_activity_is_newest_first_and_shaped(alice, project):
    task = alice.create_task(project["id"])
    alice.patch(f"{API}/tasks/{task['id']}", json={"status": "in_progress"})
    alice.patch(f"{API}/tasks/{task['id']}", json={"status": "done"})
    history = alice.get(f"{API}/tasks/{task['id']}/activity").json
    assert [a["verb"] for a in history] == ["status_changed", "status_changed", "created"]
    assert set(history[0]) == {"id", "task_id", "actor", "verb", "detail", "created_at"}
    assert history[0]["detail"].get("to") == "done"
    assert history[0]["created_at"] >= history[-1]["created_at"]

"""SPEC §9 through the API: named columns with WIP limits, labels, checklists."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import table_counts

API = "/api/v1"


@pytest.fixture
def board(alice: Any, bob: Any) -> dict[str, Any]:
    project = alice.create_project("Shaped")
    alice.add_member(project["id"], bob)
    columns = alice.get(f"{API}/projects/{project['id']}/columns").json
    return {"pid": project["id"], "columns": columns}


def add_column(user: Any, pid: str, **body: Any) -> Any:
    return user.post(f"{API}/projects/{pid}/columns", json=body)


def test_a_new_project_has_the_three_default_columns(alice, board):
    names = [(c["name"], c["category"], c["position"], c["wip_limit"]) for c in board["columns"]]
    assert names == [
        ("To Do", "todo", 0, None),
        ("In Progress", "in_progress", 1, None),
        ("Done", "done", 2, None),
    ]
    assert all(c["task_count"] == 0 and c["project_id"] == board["pid"] for c in board["columns"])


def test_tasks_land_in_columns_and_status_is_the_category(alice, bob, board):
    pid = board["pid"]
    review = add_column(bob, pid, name="Review", category="in_progress", wip_limit=1, position=2)
    assert review.status_code == 201, review.json
    assert review.json["position"] == 2
    names = [c["name"] for c in alice.get(f"{API}/projects/{pid}/columns").json]
    assert names == ["To Do", "In Progress", "Review", "Done"]

    first = alice.create_task(pid, "first")
    assert first["column_id"] == board["columns"][0]["id"] and first["status"] == "todo"
    placed = alice.post(
        f"{API}/projects/{pid}/tasks", json={"title": "r", "column_id": review.json["id"]}
    )
    assert placed.status_code == 201
    assert placed.json["status"] == "in_progress" and placed.json["position"] == 0

    # A status alone: the end of the first column of that category (In Progress, not Review).
    moved = alice.patch(f"{API}/tasks/{first['id']}", json={"status": "in_progress"})
    assert moved.json["column_id"] == board["columns"][1]["id"]
    # A column: its category becomes the status; past the end means the end.
    moved = alice.patch(
        f"{API}/tasks/{first['id']}", json={"column_id": review.json["id"], "position": 99}
    )
    assert moved.status_code == 200, moved.json
    assert (moved.json["status"], moved.json["position"]) == ("in_progress", 1)
    over = alice.get(f"{API}/columns/{review.json['id']}").json
    assert over["task_count"] == 2 and over["wip_limit"] == 1  # a signal, not a wall

    # The filter by column, and positions 0..n-1 everywhere.
    listed = alice.get(f"{API}/projects/{pid}/tasks?column={review.json['id']}").json
    assert [t["position"] for t in listed] == [0, 1]
    verbs = [a["verb"] for a in alice.get(f"{API}/tasks/{first['id']}/activity").json]
    assert verbs[:2] == ["column_changed", "status_changed"]


def test_recategorising_a_column_changes_its_cards_status(alice, board):
    pid = board["pid"]
    review = add_column(alice, pid, name="Review", category="in_progress").json
    task = alice.post(f"{API}/projects/{pid}/tasks", json={"title": "t", "column_id": review["id"]})
    changed = alice.patch(f"{API}/columns/{review['id']}", json={"category": "done"})
    assert changed.status_code == 200 and changed.json["category"] == "done"
    assert alice.get(f"{API}/tasks/{task.json['id']}").json["status"] == "done"


def test_reordering_columns_closes_up(alice, board):
    done = board["columns"][2]
    moved = alice.patch(f"{API}/columns/{done['id']}", json={"position": 0})
    assert moved.status_code == 200 and moved.json["position"] == 0
    names = [c["name"] for c in alice.get(f"{API}/projects/{board['pid']}/columns").json]
    assert names == ["Done", "To Do", "In Progress"]
    positions = [c["position"] for c in alice.get(f"{API}/projects/{board['pid']}/columns").json]
    assert positions == [0, 1, 2]


def test_deleting_a_column_moves_its_cards_to_the_end_of_another(app, alice, board):
    pid = board["pid"]
    todo, doing = board["columns"][0], board["columns"][1]
    later = add_column(alice, pid, name="Later", category="todo").json
    kept = alice.create_task(pid, "already in progress", status="in_progress")
    moving = [
        alice.post(f"{API}/projects/{pid}/tasks", json={"title": f"m{i}", "column_id": later["id"]})
        for i in range(2)
    ]
    before = table_counts(app)
    refused = alice.delete(f"{API}/columns/{later['id']}")
    assert refused.status_code == 409 and refused.json["errors"]["query"]["move_to"]
    assert table_counts(app) == before
    gone = alice.delete(f"{API}/columns/{later['id']}?move_to={doing['id']}")
    assert gone.status_code == 204
    listed = alice.get(f"{API}/projects/{pid}/tasks?column={doing['id']}").json
    assert [t["title"] for t in listed] == [kept["title"], "m0", "m1"]
    assert [t["position"] for t in listed] == [0, 1, 2]
    assert all(t["status"] == "in_progress" for t in listed)
    assert alice.get(f"{API}/columns/{later['id']}").status_code == 404
    assert moving[0].status_code == 201
    # The last column of a category stays.
    last = alice.delete(f"{API}/columns/{todo['id']}")
    assert last.status_code == 409


def test_bad_column_input_is_a_clear_4xx_and_changes_nothing(app, alice, bob, carol, board):
    pid = board["pid"]
    other = carol.create_project("Carol's")
    other_column = carol.get(f"{API}/projects/{other['id']}/columns").json[0]
    task = alice.create_task(pid, "t")
    before = table_counts(app)
    cases = [
        (add_column(alice, pid, name="to do", category="todo"), 409, "name"),
        (add_column(alice, pid, name="", category="todo"), 422, "name"),
        (add_column(alice, pid, name="x" * 61, category="todo"), 422, "name"),
        (add_column(alice, pid, name="Later", category="archived"), 422, "category"),
        (add_column(alice, pid, name="Later", category="todo", wip_limit=0), 422, "wip_limit"),
        (add_column(alice, pid, name="Later", category="todo", wip_limit=1000), 422, "wip_limit"),
        (
            alice.delete(f"{API}/columns/{board['columns'][1]['id']}?move_to={other_column['id']}"),
            None,
            None,
        ),
        (
            alice.patch(f"{API}/tasks/{task['id']}", json={"column_id": other_column["id"]}),
            422,
            "column_id",
        ),
        (
            alice.patch(
                f"{API}/tasks/{task['id']}",
                json={"column_id": board["columns"][2]["id"], "status": "todo"},
            ),
            422,
            "status",
        ),
        (add_column(carol, pid, name="Mine", category="todo"), 404, None),
    ]
    for resp, status, field in cases:
        if status is None:  # the last In Progress column: 409 before move_to is looked at
            assert resp.status_code in (409, 422), resp.json
            continue
        assert resp.status_code == status, (resp.status_code, resp.json)
        if field:
            assert field in resp.json["errors"]["json"], resp.json
    assert table_counts(app) == before


def test_move_to_in_another_project_is_422(app, alice, carol, board):
    extra = add_column(alice, board["pid"], name="Extra", category="todo").json
    alice.post(
        f"{API}/projects/{board['pid']}/tasks", json={"title": "x", "column_id": extra["id"]}
    )
    other = carol.create_project("Carol's")
    foreign = carol.get(f"{API}/projects/{other['id']}/columns").json[0]
    before = table_counts(app)
    resp = alice.delete(f"{API}/columns/{extra['id']}?move_to={foreign['id']}")
    assert resp.status_code == 422 and "move_to" in resp.json["errors"]["query"]
    assert table_counts(app) == before


def test_labels_on_cards_filters_and_bad_input(app, alice, carol, board):
    pid = board["pid"]
    bug = alice.post(f"{API}/projects/{pid}/labels", json={"name": "Bug", "color": "red"})
    assert bug.status_code == 201 and bug.json["color"] == "red"
    ux = alice.post(f"{API}/projects/{pid}/labels", json={"name": "UX", "color": "blue"}).json
    task = alice.post(
        f"{API}/projects/{pid}/tasks", json={"title": "t", "label_ids": [ux["id"], bug.json["id"]]}
    ).json
    assert [tag["name"] for tag in task["labels"]] == ["Bug", "UX"]
    alice.create_task(pid, "unlabelled")
    found = alice.get(f"{API}/projects/{pid}/tasks?label={ux['id']}").json
    assert [t["id"] for t in found] == [task["id"]]
    renamed = alice.patch(f"{API}/labels/{ux['id']}", json={"name": "Design"})
    assert renamed.status_code == 200
    assert alice.get(f"{API}/tasks/{task['id']}").json["labels"][1]["name"] == "Design"

    other = carol.create_project("Carol's")
    foreign = carol.post(f"{API}/projects/{other['id']}/labels", json={"name": "X", "color": "red"})
    before = table_counts(app)
    dup = alice.post(f"{API}/projects/{pid}/labels", json={"name": "bug", "color": "red"})
    assert dup.status_code == 409 and "name" in dup.json["errors"]["json"]
    color = alice.post(f"{API}/projects/{pid}/labels", json={"name": "New", "color": "black"})
    assert color.status_code == 422 and "color" in color.json["errors"]["json"]
    long = alice.post(f"{API}/projects/{pid}/labels", json={"name": "x" * 41, "color": "red"})
    assert long.status_code == 422
    wrong = alice.patch(f"{API}/tasks/{task['id']}", json={"label_ids": [foreign.json["id"]]})
    assert wrong.status_code == 422 and "label_ids" in wrong.json["errors"]["json"]
    assert table_counts(app) == before

    assert alice.delete(f"{API}/labels/{bug.json['id']}").status_code == 204
    assert [t["name"] for t in alice.get(f"{API}/tasks/{task['id']}").json["labels"]] == ["Design"]


def test_checklists_count_on_the_card_and_in_the_history(app, alice, bob, board):
    task = alice.create_task(board["pid"], "t")
    url = f"{API}/tasks/{task['id']}/checklist"
    first = alice.post(url, json={"text": "one"}).json
    second = bob.post(url, json={"text": "zero", "position": 0}).json
    assert [i["text"] for i in alice.get(url).json] == ["zero", "one"]
    assert [i["position"] for i in alice.get(url).json] == [0, 1]
    ticked = alice.patch(f"{API}/checklist/{first['id']}", json={"done": True})
    assert ticked.status_code == 200 and ticked.json["done"] is True
    assert alice.get(f"{API}/tasks/{task['id']}").json["checklist"] == {"done": 1, "total": 2}
    assert alice.delete(f"{API}/checklist/{second['id']}").status_code == 204
    card = alice.get(f"{API}/tasks/{task['id']}").json
    assert card["checklist"] == {"done": 1, "total": 1}
    verbs = [a["verb"] for a in alice.get(f"{API}/tasks/{task['id']}/activity").json]
    assert verbs[:4] == [
        "checklist_item_removed",
        "checklist_item_checked",
        "checklist_item_added",
        "checklist_item_added",
    ]
    before = table_counts(app)
    for body in ({"text": ""}, {"text": "   "}, {"text": "x" * 501}, {"text": 5}):
        assert alice.post(url, json=body).status_code == 422, body
    assert alice.patch(f"{API}/checklist/{first['id']}", json={"done": "yes"}).status_code == 422
    assert table_counts(app) == before


def test_a_board_read_stays_constant_with_labels_and_checklists(alice, board, count_queries):
    pid = board["pid"]
    url = f"{API}/projects/{pid}/tasks?per_page=100"

    def cost() -> int:
        with count_queries() as counter:
            assert alice.get(url).status_code == 200
        return counter.count

    alice.create_task(pid, "t")
    small = cost()
    labels = [
        alice.post(f"{API}/projects/{pid}/labels", json={"name": f"l{i}", "color": "teal"}).json
        for i in range(5)
    ]
    for i in range(4):
        column = add_column(alice, pid, name=f"c{i}", category="in_progress").json
        for j in range(3):
            made = alice.post(
                f"{API}/projects/{pid}/tasks",
                json={"title": f"{i}.{j}", "column_id": column["id"],
                      "label_ids": [tag["id"] for tag in labels]},
            ).json
            alice.post(f"{API}/tasks/{made['id']}/checklist", json={"text": "x"})
    assert cost() == small
    listed = alice.get(url).json
    assert len(listed) == 13 and all(len(t["labels"]) == 5 for t in listed[1:])


def test_moving_a_card_costs_the_same_statements_whatever_the_columns_size(
    alice, board, count_queries
):
    pid = board["pid"]
    todo, doing = (c["id"] for c in alice.get(f"{API}/projects/{pid}/columns").json[:2])

    def cost(task_id: str, column: str) -> int:
        with count_queries() as counter:
            resp = alice.patch(f"{API}/tasks/{task_id}", json={"column_id": column, "position": 0})
            assert resp.status_code == 200, resp.json
        return counter.count

    # Both columns hold cards after the moved one's old and new places, small or large:
    # a move to an empty column's end or from a column's end skips closing a gap.
    first = alice.create_task(pid, "first")["id"]
    alice.create_task(pid, "second")
    alice.create_task(pid, "doing", column_id=doing)
    small = [cost(first, doing), cost(first, todo)]
    for i in range(40):
        alice.create_task(pid, f"filler {i}")
        alice.create_task(pid, f"doing {i}", column_id=doing)
    assert [cost(first, doing), cost(first, todo)] == small


def test_moves_from_and_to_a_columns_ends_keep_its_order(alice, board):
    """The moves that skip closing or opening a gap (from a column's last place, to an
    empty column, to the end) leave every column numbered 0..n-1 in the order shown."""
    pid = board["pid"]
    todo, doing = (c["id"] for c in board["columns"][:2])
    ids = {name: alice.create_task(pid, name)["id"] for name in ("a", "b", "c")}

    def order(column: str) -> list[tuple[str, int]]:
        tasks = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
        mine = sorted((t for t in tasks if t["column_id"] == column), key=lambda t: t["position"])
        return [(t["title"], t["position"]) for t in mine]

    def move(name: str, **body: Any) -> None:
        assert alice.patch(f"{API}/tasks/{ids[name]}", json=body).status_code == 200

    move("c", column_id=doing)  # the last card, to an empty column
    assert order(todo) == [("a", 0), ("b", 1)] and order(doing) == [("c", 0)]
    move("a", column_id=doing)  # the first card, to the end
    assert order(todo) == [("b", 0)] and order(doing) == [("c", 0), ("a", 1)]
    move("b", column_id=doing, position=1)  # the only card, into the middle
    assert order(todo) == [] and order(doing) == [("c", 0), ("b", 1), ("a", 2)]
    move("c", column_id=todo, position=5)  # past the end of an empty column
    assert order(todo) == [("c", 0)] and order(doing) == [("b", 0), ("a", 1)]
    move("a", status="todo")  # a status alone: the end of its first column
    assert order(todo) == [("c", 0), ("a", 1)] and order(doing) == [("b", 0)]

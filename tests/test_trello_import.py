"""POST /projects/import/trello: a Trello board export becomes a project, whole or not at
all (the conversion alone is tested in test_trello_convert.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from trello_exports import build_export, export_bytes, minimal_export

API = "/api/v1"


def _send(user: ApiUser, data: bytes, name: str = "board.json") -> Any:
    return user.post(
        f"{API}/projects/import/trello",
        data={"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def _with_email(board: dict[str, Any], index: int, email: str) -> str:
    member = board["members"][index]
    member["email"] = email
    return member["id"]


def test_a_board_becomes_a_project_with_its_lists_cards_and_people(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    board = build_export(
        lists=3,
        cards_per_list=5,
        archived_lists=1,
        closed_per_list=1,
        checklists_per_card=1,
        comments_per_card=2,
        list_names=("Backlog", "Doing", "Done"),
        unicode=True,
        seed=11,
    )
    bob_trello = _with_email(board, 0, bob.email)
    card = next(c for c in board["cards"] if not c["closed"] and bob_trello in c["idMembers"])
    made = _send(alice, export_bytes(board))
    assert made.status_code == 201, made.json
    project = made.json
    assert project["title"] == board["name"] and project["owner"]["id"] == alice.id
    pid = project["id"]

    columns = alice.get(f"{API}/projects/{pid}/columns").json
    assert [(c["name"], c["category"]) for c in columns] == [
        ("Backlog", "todo"),
        ("Doing", "in_progress"),
        ("Done", "done"),
    ]
    tasks = alice.get(f"{API}/projects/{pid}/tasks?per_page=100").json
    assert len(tasks) == 12  # 3 open lists of 5 cards less 1 closed; the archived list skipped
    by_column = {c["id"]: [t for t in tasks if t["column_id"] == c["id"]] for c in columns}
    for cards in by_column.values():
        assert [t["position"] for t in sorted(cards, key=lambda t: t["position"])] == [0, 1, 2, 3]

    members = {m["email"] for m in alice.get(f"{API}/projects/{pid}/members").json}
    assert members == {alice.email, bob.email}  # the others have no email in the export
    imported = next(t for t in tasks if t["title"] == card["name"].strip())
    assert bob.id in [a["id"] for a in imported["assignees"]]
    assert imported["description"] == card["desc"].strip()
    assert imported["checklist"]["total"] == len(
        next(c for c in board["checklists"] if c["idCard"] == card["id"])["checkItems"]
    )
    label_names = {label["id"]: label["name"] for label in board["labels"]}
    got = {label["name"] for label in imported["labels"]}
    assert got == {label_names[i] or "" for i in card["idLabels"]} - {""} or got
    comments = alice.get(f"{API}/tasks/{imported['id']}/comments").json
    actions = [
        a
        for a in board["actions"]
        if a["type"] == "commentCard" and a["data"]["card"]["id"] == card["id"]
    ]
    assert len(comments) == len(actions)
    for comment in comments:
        if comment["author"]["id"] == bob.id:  # a member matched by email keeps their words
            assert any(a["idMemberCreator"] == bob_trello for a in actions)
        else:  # the others' are kept under the importer's name, with theirs and the date
            assert comment["author"]["id"] == alice.id
            assert any(a["memberCreator"]["fullName"] in comment["body"] for a in actions)

    trashed = alice.get(f"{API}/projects/{pid}/trash").json
    assert len(trashed) == 3 and {e["kind"] for e in trashed} == {"task"}
    back = alice.post(f"{API}/tasks/{trashed[0]['task_id']}/restore")
    assert back.status_code == 200, back.json


def test_a_board_without_a_done_list_gets_the_missing_categories(
    app: Flask, alice: ApiUser
) -> None:
    board = build_export(lists=2, cards_per_list=2, list_names=("Ideas", "Next"), seed=5)
    made = _send(alice, export_bytes(board))
    assert made.status_code == 201, made.json
    columns = alice.get(f"{API}/projects/{made.json['id']}/columns").json
    assert [c["category"] for c in columns] == ["todo", "todo", "in_progress", "done"]
    # Cards can be made in any category, as on every board.
    assert alice.create_task(made.json["id"], "Shipped", status="done")["status"] == "done"


def test_the_least_a_board_can_be_imports(app: Flask, alice: ApiUser) -> None:
    made = _send(alice, export_bytes(minimal_export()))
    assert made.status_code == 201, made.json
    assert len(alice.get(f"{API}/projects/{made.json['id']}/tasks").json) == 1


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not json at all", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b'{"name": "x"}', "not a Trello board export"),
        (b'{"format": "taskboard.project", "version": 1}', "not a Trello board export"),
        (b"[1, 2, 3]", "not a Trello board export"),
    ],
)
def test_what_is_not_a_trello_export_is_422_and_imports_nothing(
    app: Flask, alice: ApiUser, body: bytes, message: str
) -> None:
    before = table_counts(app)
    resp = _send(alice, body)
    assert_error(resp, 422)
    assert message in resp.json["message"] + str(resp.json.get("errors", ""))
    assert table_counts(app) == before


def test_a_broken_card_midway_imports_nothing_and_says_which(app: Flask, alice: ApiUser) -> None:
    board = build_export(lists=2, cards_per_list=50, seed=9)
    board["cards"][61]["name"] = 12345
    before = table_counts(app)
    resp = _send(alice, export_bytes(board))
    assert_error(resp, 422)
    assert "cards[61].name" in resp.json["message"]
    assert table_counts(app) == before


def test_an_upload_over_import_max_bytes_is_413_before_it_is_read(
    app: Flask, alice: ApiUser
) -> None:
    app.config["IMPORT_MAX_BYTES"] = 64 * 1024
    board = export_bytes(build_export(lists=3, cards_per_list=200, seed=2))
    assert len(board) > 128 * 1024
    before = table_counts(app)
    assert_error(_send(alice, board), 413)
    assert table_counts(app) == before
    assert_error(alice.post(f"{API}/projects/import/trello", data={}), 422)


@pytest.mark.slow
def test_a_board_of_thousands_of_cards_imports_whole(app: Flask, alice: ApiUser) -> None:
    board = build_export(
        lists=6, cards_per_list=600, closed_per_list=50, comments_per_card=1, seed=21
    )
    data = export_bytes(board)
    made = _send(alice, data)
    assert made.status_code == 201, made.json
    pid = made.json["id"]
    total = alice.get(f"{API}/projects/{pid}/tasks?per_page=1")
    assert json.loads(total.headers["X-Pagination"])["total"] == 6 * 550
    assert len(alice.get(f"{API}/projects/{pid}/trash?per_page=100").json) == 100

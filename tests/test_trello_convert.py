"""Trello board exports converted to the project document (`services.trello.to_document`).

No database: the converter reads bytes and answers a dict, checked here field by field
and against the limits of docs/export-format.md.
"""

from __future__ import annotations

import copy
import io
import json
import time
import tracemalloc
from datetime import datetime
from typing import Any

import pytest
from trello_exports import (
    build_export,
    export_bytes,
    minimal_export,
    sized_export,
    stamp,
)

from taskboard.errors import Invalid, TooLarge
from taskboard.models import LABEL_COLORS
from taskboard.services.trello import guess_category, to_document

MAX = 50 * 1024 * 1024
LIST_ID, CARD_ID = "5f0c1a2b3c4d5e6f70819204", "5f0c1a2b3c4d5e6f70819205"


def convert(board: Any, max_bytes: int = MAX) -> dict[str, Any]:
    return to_document(export_bytes(board), max_bytes=max_bytes)


def refused(board: Any) -> str:
    with pytest.raises(Invalid) as caught:
        convert(board)
    assert caught.value.field == "file"
    return caught.value.message


def hex_id(n: int, when: int = 0x5F0C1A2B) -> str:
    return f"{when:08x}{n:016x}"


def board_of(*cards: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A hand-made board: one open list holding `cards` (each gets the list's id)."""
    board = minimal_export()
    board["cards"] = [{"idList": LIST_ID, **card} for card in cards]
    board.update(extra)
    return board


def only_task(board: dict[str, Any]) -> dict[str, Any]:
    (task,) = convert(board)["tasks"]
    return task


def check_contract(doc: dict[str, Any]) -> None:
    """What the importer requires of any document (docs/export-format.md)."""
    assert json.loads(json.dumps(doc)) == doc
    assert doc["format"] == "taskboard.project" and doc["version"] == 1
    assert 1 <= len(doc["project"]["title"]) <= 255
    assert len(doc["project"]["description"]) <= 10_000
    columns = doc["columns"]
    assert columns
    column_ids = [c["id"] for c in columns]
    assert len(set(column_ids)) == len(column_ids)
    assert len({c["name"].casefold() for c in columns}) == len(columns)
    for column in columns:
        assert 1 <= len(column["name"]) <= 60 and column["name"] == column["name"].strip()
        assert column["category"] in ("todo", "in_progress", "done")
    label_ids = {label["id"] for label in doc["labels"]}
    assert len(label_ids) == len(doc["labels"])
    assert len({label["name"].casefold() for label in doc["labels"]}) == len(doc["labels"])
    for label in doc["labels"]:
        assert 1 <= len(label["name"]) <= 40 and label["color"] in LABEL_COLORS
    task_ids = [t["id"] for t in doc["tasks"]]
    assert len(set(task_ids)) == len(task_ids)
    order = [(column_ids.index(t["column"]), t["position"]) for t in doc["tasks"]]
    assert order == sorted(order)
    for column_id in column_ids:
        positions = [t["position"] for t in doc["tasks"] if t["column"] == column_id]
        assert positions == list(range(len(positions)))
    for task in doc["tasks"]:
        assert 1 <= len(task["title"]) <= 255 and len(task["description"]) <= 10_000
        assert set(task["labels"]) <= label_ids and len(set(task["labels"])) == len(task["labels"])
        assert all(1 <= len(item["text"]) <= 500 for item in task["checklist"])
        assert all(1 <= len(c["body"]) <= 10_000 for c in task["comments"])
        assert all(person["email"] for person in task["assignees"])
        assert "attachments" not in task
        for key in ("created_at", "updated_at", "due_date"):
            if task.get(key):
                datetime.fromisoformat(task[key])
    assert all(m["email"] for m in doc["members"])


# The whole document --------------------------------------------------------------


def test_minimal_export_gives_one_column_and_one_task() -> None:
    doc = convert(minimal_export())
    assert doc["format"] == "taskboard.project" and doc["version"] == 1
    assert doc["project"] == {
        "id": "5f0c1a2b3c4d5e6f70819203",
        "title": "Minimal",
        "description": "",
        "created_at": "2020-07-13T08:24:11Z",
    }
    assert doc["members"] == [] and doc["labels"] == []
    assert doc["columns"] == [
        {
            "id": LIST_ID,
            "name": "To Do",
            "category": "todo",
            "wip_limit": None,
            "created_at": "2020-07-13T08:24:11Z",
        }
    ]
    (task,) = doc["tasks"]
    assert task == {
        "id": CARD_ID,
        "title": "First",
        "description": "",
        "column": LIST_ID,
        "position": 0,
        "due_date": None,
        "labels": [],
        "assignees": [],
        "checklist": [],
        "comments": [],
        "trashed": False,
        "created_at": "2020-07-13T08:24:11Z",
        "updated_at": "2020-07-13T08:24:11Z",
    }
    check_contract(doc)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("unicode", [False, True])
@pytest.mark.parametrize("sparse", [False, True])
def test_generated_exports_keep_the_contract(seed: int, unicode: bool, sparse: bool) -> None:
    board = build_export(
        lists=7,
        cards_per_list=6,
        archived_lists=2,
        closed_per_list=2,
        member_emails=2,
        labels=12,
        empty_label_names=2,
        null_color_labels=2,
        checklists_per_card=2,
        comments_per_card=2,
        attachments_per_card=1,
        unicode=unicode,
        sparse=sparse,
        seed=seed,
    )
    doc = convert(board)
    check_contract(doc)
    assert len(doc["columns"]) == 7
    assert len(doc["tasks"]) == 7 * 6
    assert sum(t["trashed"] for t in doc["tasks"]) == 7 * 2


def test_project_takes_the_boards_name_description_and_dates() -> None:
    board = build_export(lists=1, cards_per_list=0)
    project = convert(board)["project"]
    assert project["id"] == board["id"]
    assert project["title"] == "Website relaunch"
    assert project["description"] == "Everything for the relaunch."
    assert project["updated_at"] == board["dateLastActivity"]
    assert project["created_at"] < project["updated_at"]


@pytest.mark.parametrize(
    ("name", "title"),
    [("", "Untitled board"), ("   ", "Untitled board"), (None, "Untitled board"),
     ("\u200b", "Untitled board"), ("  Plans  ", "Plans"), ("x" * 300, "x" * 254 + "…")],
)  # fmt: skip
def test_board_names_are_cleaned(name: str | None, title: str) -> None:
    board = minimal_export()
    board["name"] = name
    assert convert(board)["project"]["title"] == title


def test_the_document_is_the_same_for_bytes_and_a_file_and_a_bom() -> None:
    board = build_export(lists=2, cards_per_list=3, comments_per_card=1)
    data = export_bytes(board)
    doc = to_document(data, max_bytes=MAX)
    assert to_document(io.BytesIO(data), max_bytes=MAX) == doc
    assert to_document(b"\xef\xbb\xbf" + data, max_bytes=MAX) == doc
    assert to_document(export_bytes(board, indent=2), max_bytes=MAX) == doc


# Columns -------------------------------------------------------------------------


def test_open_lists_become_columns_in_pos_order_and_archived_ones_are_skipped() -> None:
    board = build_export(lists=4, cards_per_list=2, archived_lists=2, shuffle=True, seed=7)
    doc = convert(board)
    open_lists = sorted((x for x in board["lists"] if not x["closed"]), key=lambda x: x["pos"])
    assert [c["id"] for c in doc["columns"]] == [x["id"] for x in open_lists]
    assert [c["name"] for c in doc["columns"]] == ["To Do", "Doing", "Done", "Backlog"]
    assert [c["category"] for c in doc["columns"]] == ["todo", "in_progress", "done", "todo"]
    archived = {x["id"] for x in board["lists"] if x["closed"]}
    kept = {t["id"] for t in doc["tasks"]}
    assert not kept & {c["id"] for c in board["cards"] if c["idList"] in archived}
    assert len(kept) == 8


def test_lists_without_pos_follow_the_others_in_file_order() -> None:
    board = minimal_export()
    board["lists"] = [
        {"id": "l1", "name": "No pos A"},
        {"id": "l2", "name": "Second", "pos": 65535.5},
        {"id": "l3", "name": "No pos B", "pos": None},
        {"id": "l4", "name": "First", "pos": 1},
    ]
    board["cards"] = []
    names = [c["name"] for c in convert(board)["columns"]]
    assert names == ["First", "Second", "No pos A", "No pos B"]


def test_column_names_are_cleaned_shortened_and_made_unique() -> None:
    board = minimal_export()
    names = ["Doing", "doing", "DOING", "Doing (2)", "", "  ", "y" * 80, "y" * 80, "Spaced  "]
    board["lists"] = [{"id": f"l{i}", "name": n, "pos": i} for i, n in enumerate(names)]
    board["cards"] = []
    got = [c["name"] for c in convert(board)["columns"]]
    assert got == [
        "Doing",
        "doing (2)",
        "DOING (3)",
        "Doing (2) (2)",
        "Untitled",
        "Untitled (2)",
        "y" * 59 + "…",
        "y" * 55 + "… (2)",
        "Spaced",
    ]
    assert all(len(name) <= 60 for name in got)


def test_a_board_without_open_lists_gets_one_to_do_column() -> None:
    board = build_export(lists=0, cards_per_list=3, archived_lists=2)
    doc = convert(board)
    assert [(c["name"], c["category"]) for c in doc["columns"]] == [("To Do", "todo")]
    assert doc["tasks"] == []
    check_contract(doc)


@pytest.mark.parametrize(
    "name",
    ["Done", "done ✅", "DONE!", "Completed", "Complete", "Finished", "Shipped", "Released",
     "Closed", "Resolved", "Deployed", "Archive", "Done this week", "Erledigt", "Fertig",
     "Terminé", "Hecho", "Concluído", "Fatto", "Klaar", "Готово", "完了", "已完成", "완료",
     "בוצע", "منجز", "Sprint 3 - Done"],
)  # fmt: skip
def test_done_names(name: str) -> None:
    assert guess_category(name) == "done"


@pytest.mark.parametrize(
    "name",
    ["Doing", "In Progress", "in-progress", "IN_PROGRESS", "Work in progress", "WIP",
     "Working on", "Review", "Code review", "Testing", "QA", "Started", "Active",
     "Ongoing", "In Arbeit", "En cours", "En progreso", "Em andamento", "In corso",
     "Bezig", "В работе", "進行中", "进行中", "قيد التنفيذ", "בתהליך", "🔨 Doing"],  # noqa: RUF001
)  # fmt: skip
def test_in_progress_names(name: str) -> None:
    assert guess_category(name) == "in_progress"


@pytest.mark.parametrize(
    "name",
    ["To Do", "todo", "To-do", "Backlog", "Ideas", "Not started", "Not done",
     "Incomplete", "Undone", "Unfinished", "Inactive", "Getting Started", "Later",
     "À faire", "Por hacer", "未着手", "未完成", "Untitled", "Reviewed?"],
)  # fmt: skip
def test_to_do_names(name: str) -> None:
    assert guess_category(name) == "todo"


# Tasks ---------------------------------------------------------------------------


def test_cards_become_tasks_in_pos_order_per_column() -> None:
    board = build_export(lists=3, cards_per_list=8, shuffle=True, seed=3)
    doc = convert(board)
    columns = [c["id"] for c in doc["columns"]]
    expected = [
        c["id"]
        for column in columns
        for c in sorted(
            (c for c in board["cards"] if c["idList"] == column), key=lambda c: c["pos"]
        )
    ]
    assert [t["id"] for t in doc["tasks"]] == expected
    assert [t["position"] for t in doc["tasks"]] == list(range(8)) * 3


def test_cards_without_pos_come_last_and_float_positions_sort() -> None:
    board = board_of(
        {"id": "c1", "name": "none"},
        {"id": "c2", "name": "b", "pos": 2.5},
        {"id": "c3", "name": "a", "pos": 2},
        {"id": "c4", "name": "c", "pos": 1e9},
    )
    assert [t["title"] for t in convert(board)["tasks"]] == ["a", "b", "c", "none"]


def test_archived_cards_go_to_the_trash_after_the_open_ones() -> None:
    board = board_of(
        {"id": "c1", "name": "archived first", "pos": 1, "closed": True},
        {"id": "c2", "name": "open", "pos": 2, "closed": False},
        {"id": "c3", "name": "archived last", "pos": 3, "closed": True},
        {"id": "c4", "name": "open too", "pos": 4},
    )
    got = [(t["title"], t["position"], t["trashed"]) for t in convert(board)["tasks"]]
    assert got == [
        ("open", 0, False),
        ("open too", 1, False),
        ("archived first", 2, True),
        ("archived last", 3, True),
    ]


def test_cards_of_unknown_lists_are_left_out() -> None:
    board = board_of({"id": "c1", "name": "kept"})
    board["cards"].append({"id": "c2", "name": "lost", "idList": "no-such-list"})
    assert [t["title"] for t in convert(board)["tasks"]] == ["kept"]


def test_a_card_maps_field_by_field() -> None:
    card = {
        "id": hex_id(9, 0x64000000),
        "name": "  Ship the thing  ",
        "desc": "## Notes\n\nMarkdown *kept*.\n",
        "due": "2024-05-01T12:00:00.000Z",
        "dueComplete": True,
        "dateLastActivity": "2024-04-02T08:30:15.250Z",
        "idMembers": [],
        "idLabels": [],
    }
    task = only_task(board_of(card))
    assert task["title"] == "Ship the thing"
    assert task["description"] == "## Notes\n\nMarkdown *kept*."
    assert task["due_date"] == "2024-05-01T12:00:00Z"
    assert task["updated_at"] == "2024-04-02T08:30:15.250Z"
    assert task["created_at"] == "2023-03-02T01:46:40Z"  # 0x64000000 as a Unix time
    assert "created_by" not in task


@pytest.mark.parametrize(
    ("due", "expected"),
    [(None, None), ("", None), ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00Z"),
     ("2024-05-01T14:00:00+02:00", "2024-05-01T12:00:00Z"),
     ("2024-05-01T12:00:00.123Z", "2024-05-01T12:00:00.123Z"),
     ("2024-05-01", "2024-05-01T00:00:00Z")],
)  # fmt: skip
def test_due_dates_in_utc(due: str | None, expected: str | None) -> None:
    assert only_task(board_of({"id": "c", "due": due}))["due_date"] == expected


@pytest.mark.parametrize(
    ("name", "title"),
    [("", "Untitled card"), (None, "Untitled card"), (" \u200b\u2060 ", "Untitled card"),
     ("a" * 255, "a" * 255), ("a" * 256, "a" * 254 + "…"), ("nul\x00here", "nulhere"),
     ("lone \ud800 surrogate", "lone \ufffd surrogate")],
)  # fmt: skip
def test_card_titles_are_cleaned(name: str | None, title: str) -> None:
    data = json.dumps(board_of({"id": "c", "name": name})).encode()  # "\ud800" escaped
    assert to_document(data, max_bytes=MAX)["tasks"][0]["title"] == title


def test_numbers_too_large_for_a_float_are_not_positions() -> None:
    data = b'{"id": "b", "name": "B", "lists": [{"id": "l", "pos": 1e400}], "cards": []}'
    with pytest.raises(Invalid, match=r"lists\[0\]\.pos must be a number"):
        to_document(data, max_bytes=MAX)


def test_long_descriptions_are_shortened_to_ten_thousand() -> None:
    task = only_task(board_of({"id": "c", "name": "x", "desc": "d" * 12_000}))
    assert task["description"] == "d" * 9_999 + "…"


def test_updated_at_is_never_before_created_at() -> None:
    task = only_task(board_of({"id": hex_id(1), "dateLastActivity": "2001-01-01T00:00:00Z"}))
    assert task["updated_at"] == task["created_at"] == "2020-07-13T08:24:11Z"


def test_ids_that_are_not_trellos_give_no_creation_time() -> None:
    task = only_task(board_of({"id": "not-hex", "name": "x"}))
    assert "created_at" not in task and "updated_at" not in task


def test_attachments_are_left_out() -> None:
    doc = convert(build_export(lists=1, cards_per_list=3, attachments_per_card=2))
    assert all("attachments" not in task for task in doc["tasks"])
    assert "attachment" not in json.dumps(doc)


def test_unicode_survives() -> None:
    names = ("📥 Входящие", "قيد التنفيذ", "完了", "👩‍💻 בעבודה")
    board = build_export(lists=4, cards_per_list=2, unicode=True, list_names=names)
    board["cards"][0]["name"] = "日本語のカード 🚀 مرحبا"
    board["cards"][0]["desc"] = "שלום 👋🏽 café"
    doc = convert(board)
    assert [c["name"] for c in doc["columns"]] == list(names)
    assert [c["category"] for c in doc["columns"]] == ["todo", "in_progress", "done", "in_progress"]
    task = next(t for t in doc["tasks"] if t["id"] == board["cards"][0]["id"])
    assert task["title"] == "日本語のカード 🚀 مرحبا"
    assert task["description"] == "שלום 👋🏽 café"
    assert doc["project"]["title"] == "Website relaunch 🚀"
    check_contract(doc)


def test_a_sparse_export_converts_with_defaults() -> None:
    board = build_export(lists=2, cards_per_list=3, sparse=True, comments_per_card=1)
    assert "pos" not in board["cards"][0] and "desc" not in board["cards"][0]
    doc = convert(board)
    check_contract(doc)
    assert all(t["description"] == "" and t["due_date"] is None for t in doc["tasks"])
    assert all(t["labels"] == [] and t["assignees"] == [] for t in doc["tasks"])
    assert "updated_at" not in doc["project"] and doc["project"]["description"] == ""


# Labels --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trello", "ours"),
    [("green", "green"), ("yellow", "yellow"), ("orange", "orange"), ("red", "red"),
     ("purple", "purple"), ("blue", "blue"), ("sky", "teal"), ("lime", "green"),
     ("pink", "pink"), ("black", "gray"), (None, "gray"), ("green_dark", "green"),
     ("red_light", "red"), ("sky_dark", "teal"), ("black_light", "gray"),
     ("lime_dark", "green"), ("mauve", "gray"), ("", "gray")],
)  # fmt: skip
def test_label_colours_map_to_the_palette(trello: str | None, ours: str) -> None:
    board = minimal_export()
    board["labels"] = [{"id": "lab", "name": "L", "color": trello}]
    assert convert(board)["labels"][0]["color"] == ours


def test_labels_without_names_are_named_by_colour_and_duplicates_merge() -> None:
    board = board_of({"id": "c1", "idLabels": ["a", "b", "c", "d", "e", "f", "missing"]})
    board["labels"] = [
        {"id": "a", "name": "", "color": "green"},
        {"id": "b", "name": "Bug", "color": "red"},
        {"id": "c", "name": "bug ", "color": "orange"},
        {"id": "d", "name": "", "color": None},
        {"id": "e", "name": "  ", "color": "sky_dark"},
        {"id": "f", "name": "L" * 50, "color": "pink"},
    ]
    doc = convert(board)
    assert [(x["id"], x["name"], x["color"]) for x in doc["labels"]] == [
        ("a", "green", "green"),
        ("b", "Bug", "red"),
        ("d", "gray", "gray"),
        ("e", "sky dark", "teal"),
        ("f", "L" * 39 + "…", "pink"),
    ]
    assert doc["tasks"][0]["labels"] == ["a", "b", "d", "e", "f"]
    check_contract(doc)


# Checklists ----------------------------------------------------------------------


def test_one_checklist_gives_its_items_in_pos_order_unprefixed() -> None:
    board = board_of({"id": "c1"})
    board["checklists"] = [
        {
            "id": "k1",
            "idCard": "c1",
            "name": "Launch",
            "checkItems": [
                {"id": "i1", "name": "second", "state": "complete", "pos": 20},
                {"id": "i2", "name": "first", "state": "incomplete", "pos": 10},
                {"id": "i3", "name": "   ", "state": "complete", "pos": 30},
                {"id": "i4", "name": "c" * 600, "state": "complete", "pos": 40},
            ],
        }
    ]
    assert only_task(board)["checklist"] == [
        {"text": "first", "done": False},
        {"text": "second", "done": True},
        {"text": "c" * 499 + "…", "done": True},
    ]


def test_several_checklists_are_joined_in_order_each_item_named() -> None:
    board = board_of({"id": "c1"}, {"id": "c2"})
    board["checklists"] = [
        {"id": "k2", "idCard": "c1", "name": "After", "pos": 2,
         "checkItems": [{"id": "i1", "name": "deploy", "state": "incomplete"}]},
        {"id": "k1", "idCard": "c1", "name": "Before", "pos": 1,
         "checkItems": [{"id": "i2", "name": "test", "state": "complete", "pos": 2},
                        {"id": "i3", "name": "build", "state": "complete", "pos": 1}]},
        {"id": "k3", "idCard": "c1", "name": "Empty", "pos": 3, "checkItems": []},
        {"id": "k4", "idCard": "c2", "name": "", "pos": 1,
         "checkItems": [{"id": "i4", "name": "a", "state": "incomplete"}]},
        {"id": "k5", "idCard": "c2", "name": "Second", "pos": 2,
         "checkItems": [{"id": "i5", "name": "b" * 499, "state": "incomplete"}]},
        {"id": "k6", "idCard": "gone", "name": "Orphan", "checkItems": [{"name": "x"}]},
    ]  # fmt: skip
    first, second = convert(board)["tasks"]
    assert first["checklist"] == [
        {"text": "Before: build", "done": True},
        {"text": "Before: test", "done": True},
        {"text": "After: deploy", "done": False},
    ]
    assert second["checklist"] == [
        {"text": "Checklist: a", "done": False},
        {"text": "Second: " + "b" * 491 + "…", "done": False},
    ]


# Comments, people ----------------------------------------------------------------


def people_board() -> dict[str, Any]:
    board = board_of({"id": "c1", "pos": 1, "idMembers": ["m1", "m2", "m3", "m1", "ghost"]})
    board["members"] = [
        {"id": "m1", "fullName": "Ann Archer", "username": "ann", "email": "ann@example.com"},
        {"id": "m2", "fullName": "", "username": "bob", "email": "bob@example.com"},
        {"id": "m3", "fullName": "Cy", "username": "cy"},
        {"id": "m4", "fullName": "Ann again", "username": "ann2", "email": "ANN@example.com"},
        {"id": "m5", "username": "bad", "email": "not an email"},
    ]
    return board


def comment(i: int, date: str, member: str | None, text: Any, **data: Any) -> dict[str, Any]:
    return {
        "id": f"a{i}",
        "type": "commentCard",
        "date": date,
        "idMemberCreator": member,
        "memberCreator": {"id": member, "fullName": f"Creator {member}", "username": "u"},
        "data": {"text": text, "card": {"id": "c1", "name": "x"}, **data},
    }


def test_members_with_an_email_become_members_and_assignees() -> None:
    doc = convert(people_board())
    assert doc["members"] == [
        {"email": "ann@example.com", "name": "Ann Archer"},
        {"email": "bob@example.com", "name": "bob"},
    ]
    assert doc["tasks"][0]["assignees"] == [
        {"email": "ann@example.com", "name": "Ann Archer"},
        {"email": "bob@example.com", "name": "bob"},
    ]


def test_real_exports_have_no_emails_so_no_members() -> None:
    doc = convert(build_export(lists=2, cards_per_list=5, members=4, comments_per_card=1))
    assert doc["members"] == []
    assert all(t["assignees"] == [] and "created_by" not in t for t in doc["tasks"])
    comments = [c for t in doc["tasks"] for c in t["comments"]]
    assert len(comments) == 10
    assert all(c["author"]["email"] is None and c["author"]["name"] for c in comments)


def test_comments_come_oldest_first_with_their_authors() -> None:
    board = people_board()
    board["actions"] = [
        comment(1, "2024-03-03T10:00:00Z", "m3", "third", dateLastEdited="2024-03-04T00:00:00Z"),
        comment(2, "2024-03-02T10:00:00.000Z", "unknown", "second"),
        comment(3, "2024-03-01T10:00:00.000Z", "m1", "first"),
        comment(4, "2024-03-01T11:00:00.000Z", "m1", "   "),
        {**comment(5, "2024-03-05T10:00:00Z", None, "no creator"), "memberCreator": None},
        {**comment(6, "2024-03-06T10:00:00Z", "m2", "gone card"),
         "data": {"text": "x", "card": {"id": "nope"}}},
        {"id": "a7", "type": "updateCard", "date": "2024-03-07T10:00:00Z", "data": "ignored"},
    ]  # fmt: skip
    comments = convert(board)["tasks"][0]["comments"]
    assert comments == [
        {"author": {"email": "ann@example.com", "name": "Ann Archer"}, "body": "first",
         "created_at": "2024-03-01T10:00:00Z", "edited_at": None},
        {"author": {"email": None, "name": "Creator unknown"}, "body": "second",
         "created_at": "2024-03-02T10:00:00Z", "edited_at": None},
        {"author": {"email": None, "name": "Cy"}, "body": "third",
         "created_at": "2024-03-03T10:00:00Z", "edited_at": "2024-03-04T00:00:00Z"},
        {"author": {"email": None, "name": "Trello member"}, "body": "no creator",
         "created_at": "2024-03-05T10:00:00Z", "edited_at": None},
    ]  # fmt: skip


def test_long_comments_are_shortened() -> None:
    board = people_board()
    board["actions"] = [comment(1, "2024-03-01T10:00:00Z", "m1", "w" * 10_500)]
    assert convert(board)["tasks"][0]["comments"][0]["body"] == "w" * 9_999 + "…"


def test_generated_comments_are_in_date_order() -> None:
    board = build_export(lists=2, cards_per_list=4, comments_per_card=5, member_emails=3)
    doc = convert(board)
    for task in doc["tasks"]:
        bodies = [c["body"].split(":")[0] for c in task["comments"]]
        assert bodies == [f"Comment {n}" for n in range(1, 6)]
        dates = [c["created_at"] for c in task["comments"]]
        assert dates == sorted(dates)
    assert any(c["edited_at"] for t in doc["tasks"] for c in t["comments"])


def test_the_create_card_action_gives_creator_and_creation_date() -> None:
    board = people_board()
    board["cards"].append({"id": "c2", "idList": LIST_ID, "pos": 9})
    board["actions"] = [
        {"id": "x1", "type": "createCard", "date": "2024-02-01T09:00:00.000Z",
         "idMemberCreator": "m1", "data": {"card": {"id": "c1"}}},
        {"id": "x2", "type": "createCard", "date": "2024-02-02T09:00:00.000Z",
         "idMemberCreator": "m3", "data": {"card": {"id": "c2"}}},
    ]  # fmt: skip
    first, second = convert(board)["tasks"]
    assert first["created_by"] == {"email": "ann@example.com", "name": "Ann Archer"}
    assert first["created_at"] == "2024-02-01T09:00:00Z"
    assert "created_by" not in second  # Cy has no email: nobody to match
    assert second["created_at"] == "2024-02-02T09:00:00Z"


def test_generated_cards_have_their_creation_dates() -> None:
    board = build_export(lists=1, cards_per_list=4, member_emails=3)
    created = {a["data"]["card"]["id"]: a["date"] for a in board["actions"]}
    for task in convert(board)["tasks"]:
        assert task["created_at"] == created[task["id"]]
        assert task["created_by"]["email"].endswith("@example.com")


# Size and speed ------------------------------------------------------------------


def test_five_thousand_cards_convert_quickly() -> None:
    board = build_export(lists=5, cards_per_list=1000, labels=10, member_emails=3, seed=5)
    data = export_bytes(board)
    started = time.perf_counter()
    doc = to_document(data, max_bytes=MAX)
    elapsed = time.perf_counter() - started
    assert len(doc["tasks"]) == 5000
    assert elapsed < 5, elapsed
    check_contract(doc)


def test_a_ten_megabyte_export_converts_in_bounded_memory() -> None:
    board = sized_export(10 * 1024 * 1024, lists=10, comments_per_card=1, checklists_per_card=1)
    data = export_bytes(board)
    del board
    assert 9 * 1024 * 1024 < len(data) < 12 * 1024 * 1024
    tracemalloc.start()
    try:
        doc = to_document(data, max_bytes=MAX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(doc["tasks"]) > 1000
    # The text once decoded, the parsed file without the keys it drops, and the document.
    assert peak < 3 * len(data), peak


def test_over_the_limit_is_too_large() -> None:
    data = export_bytes(minimal_export())
    assert to_document(data, max_bytes=len(data))["tasks"]
    with pytest.raises(TooLarge) as caught:
        to_document(data, max_bytes=len(data) - 1)
    assert caught.value.field == "file"
    with pytest.raises(TooLarge):
        to_document(io.BytesIO(data), max_bytes=len(data) - 1)
    with pytest.raises(TooLarge, match="1 MiB"):
        to_document(b" " * (1024 * 1024 + 1), max_bytes=1024 * 1024)


def test_a_file_is_read_no_further_than_the_limit() -> None:
    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            buffer[:] = b" " * len(buffer)
            return len(buffer)

    with pytest.raises(TooLarge):
        to_document(io.BufferedReader(Endless()), max_bytes=1000)


def test_a_stream_that_answers_in_small_pieces_is_read_whole() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            piece, self.data = self.data[:7], self.data[7:]
            buffer[: len(piece)] = piece
            return len(piece)

    data = export_bytes(build_export(lists=2, cards_per_list=3))
    assert to_document(Trickle(data), max_bytes=MAX) == to_document(data, max_bytes=MAX)
    with pytest.raises(TooLarge):
        to_document(Trickle(data), max_bytes=len(data) - 1)


# Files that are not Trello exports -----------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "The file is empty."), (b"  \n", "The file is empty."),
     (b"\xff\xfe{}", "not UTF-8"), (b'{"name": "caf\xe9"}', "byte 13"),
     (b"{not json", "not valid JSON: Expecting property name"), (b'{"a": 1', "line 1"),
     (b'{"id": "x", "pos": NaN}', "NaN"), (b"[" * 100_000 + b"]" * 100_000, "not valid JSON")],
)  # fmt: skip
def test_unreadable_files_are_invalid(data: bytes, message: str) -> None:
    with pytest.raises(Invalid, match=message) as caught:
        to_document(data, max_bytes=MAX)
    assert caught.value.field == "file"


@pytest.mark.parametrize(
    ("document", "why"),
    [([1, 2], "its top level is not an object"), ("board", "its top level is not an object"),
     (None, "its top level is not an object"), ({}, "it has no 'id'"),
     ({"id": "x", "name": "b", "lists": []}, "it has no 'cards'"),
     ({"title": "A CSV?", "rows": []}, "'id' and no 'name' and no 'lists' and no 'cards'"),
     ({"format": "taskboard.project", "version": 1, "project": {}},
      "Taskboard project export")],
)  # fmt: skip
def test_other_json_is_not_a_trello_export(document: Any, why: str) -> None:
    message = refused(document)
    assert message.startswith("This is not a Trello board export: ")
    assert why in message


def _set(path: list[Any], value: Any) -> Any:
    def change(board: dict[str, Any]) -> None:
        target: Any = board
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


WRONG_TYPES = [
    ("cards must be an array", _set(["cards"], 5)),
    ("lists must be an array", _set(["lists"], {"a": 1})),
    ("labels must be an array", _set(["labels"], "red")),
    ("members must be an array", _set(["members"], 3)),
    ("actions must be an array", _set(["actions"], True)),
    ("checklists must be an array", _set(["checklists"], {})),
    ("lists[0] must be an object", _set(["lists", 0], "To Do")),
    ("cards[3] must be an object", _set(["cards", 3], [])),
    ("cards[3].name must be text", _set(["cards", 3, "name"], 42)),
    ("cards[3].desc must be text", _set(["cards", 3, "desc"], ["x"])),
    ("cards[3].id must be text", _set(["cards", 3, "id"], 7)),
    ("cards[3].id must be a non-empty text", _set(["cards", 3, "id"], "")),
    ("cards[3].idList must be text", _set(["cards", 3, "idList"], None)),
    ("cards[3].closed must be true or false", _set(["cards", 3, "closed"], "yes")),
    ("cards[3].pos must be a number", _set(["cards", 3, "pos"], "top")),
    ("cards[3].pos must be a number", _set(["cards", 3, "pos"], True)),
    ("cards[3].pos must be a number", _set(["cards", 3, "pos"], [1])),
    ("cards[3].due must be a date and time", _set(["cards", 3, "due"], "tomorrow")),
    ("cards[3].due must be text", _set(["cards", 3, "due"], 1700000000)),
    (
        "cards[3].due must be a date between the years 1900 and 9000",
        _set(["cards", 3, "due"], "9999-01-01T00:00:00Z"),
    ),
    ("cards[3].dateLastActivity must be a date", _set(["cards", 3, "dateLastActivity"], "x")),
    ("cards[3].idLabels must be an array of ids", _set(["cards", 3, "idLabels"], "abc")),
    ("cards[3].idMembers must be an array of ids", _set(["cards", 3, "idMembers"], [1])),
    ("lists[1].name must be text", _set(["lists", 1, "name"], 1)),
    ("lists[1].closed must be true or false", _set(["lists", 1, "closed"], 0)),
    ("lists[1].id must be text", _set(["lists", 1, "id"], None)),
    ("labels[0].name must be text", _set(["labels", 0, "name"], False)),
    ("labels[0].color must be text or null", _set(["labels", 0, "color"], 3)),
    ("members[0].fullName must be text", _set(["members", 0, "fullName"], {})),
    ("name must be text", _set(["name"], 12)),
    ("id must be text", _set(["id"], 12)),
    ("desc must be text", _set(["desc"], 12)),
    ("checklists[0].checkItems must be an array", _set(["checklists", 0, "checkItems"], 3)),
    ("checkItems[1].name must be text", _set(["checklists", 0, "checkItems", 1, "name"], 5)),
    ("checkItems[1].state must be text", _set(["checklists", 0, "checkItems", 1, "state"], 1)),
]


@pytest.mark.parametrize(("message", "change"), WRONG_TYPES)
def test_wrong_types_name_the_culprit(message: str, change: Any) -> None:
    board = build_export(lists=2, cards_per_list=3, checklists_per_card=1, shuffle=False)
    board["cards"][3]["idList"] = board["lists"][0]["id"]
    board["checklists"].sort(key=lambda c: c["idCard"] != board["cards"][0]["id"])
    change(board)
    got = refused(board)
    assert got.startswith("This Trello export is not valid: ")
    assert message in got


def test_wrong_types_in_the_actions_that_are_read_name_the_culprit() -> None:
    board = people_board()
    board["actions"] = [comment(0, "2024-01-01T00:00:00Z", "m1", 5)]
    assert "actions[0].data.text must be text" in refused(board)
    board["actions"] = [{**comment(0, "2024-01-01T00:00:00Z", "m1", "x"), "data": "text"}]
    assert "actions[0].data must be an object" in refused(board)
    board["actions"] = [comment(0, "yesterday", "m1", "x")]
    assert "actions[0].date must be a date and time" in refused(board)
    board["actions"] = [{"type": "updateCard", "data": 5, "date": 5}]  # not read: fine
    assert convert(board)["tasks"]


def test_repeated_ids_are_refused() -> None:
    board = board_of({"id": "c1"}, {"id": "c1"})
    assert "cards[1].id repeats an earlier id" in refused(board)
    board = minimal_export()
    board["lists"].append(copy.deepcopy(board["lists"][0]))
    assert "lists[1].id repeats an earlier id" in refused(board)


def test_unknown_keys_and_types_of_unread_keys_are_ignored() -> None:
    board = build_export(lists=1, cards_per_list=2)
    board["prefs"] = 5
    board["cards"][0]["badges"] = "odd"
    board["cards"][0]["cover"] = [1, 2]
    board["somethingNew"] = {"x": [1, 2, 3]}
    assert len(convert(board)["tasks"]) == 2


def test_stamp_matches_trellos_date_format() -> None:
    assert stamp(datetime.fromisoformat("2024-01-02T03:04:05.678+00:00")) == (
        "2024-01-02T03:04:05.678Z"
    )

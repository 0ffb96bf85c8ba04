"""Tasks as CSV (SPEC §13): GET /projects/{id}/export.csv opens safely in a spreadsheet
and POST /projects/{id}/import.csv reads it back (and what spreadsheets write), all or
nothing, naming the file's line of every error."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

import pytest
from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient

API = "/api/v1"
HEADER = "title,description,column,status,labels,assignees,due_date,created_at,checklist"
BOM = b"\xef\xbb\xbf"


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.json


def export_csv(user: ApiUser, project_id: str) -> bytes:
    resp = user.get(f"{API}/projects/{project_id}/export.csv")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and resp.mimetype_params["charset"] == "utf-8"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    return resp.data


def send_csv(user: ApiUser, project_id: str, content: bytes | str, **fields: Any) -> Any:
    data = content.encode() if isinstance(content, str) else content
    return user.post(
        f"{API}/projects/{project_id}/import.csv",
        data={"file": (io.BytesIO(data), "tasks.csv"), **fields},
        content_type="multipart/form-data",
    )


def rows_of(data: bytes) -> list[list[str]]:
    """The file as a spreadsheet (or any CSV reader) sees it."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def tasks_of(user: ApiUser, project_id: str) -> list[dict[str, Any]]:
    """Every task of the project, by status then position (all pages)."""
    found: list[dict[str, Any]] = []
    while True:
        page = user.get(
            f"{API}/projects/{project_id}/tasks?per_page=100&page={len(found) // 100 + 1}"
        )
        assert page.status_code == 200, page.json
        found += page.json
        if len(page.json) < 100:
            return found


def columns_of(user: ApiUser, project_id: str) -> list[dict[str, Any]]:
    return user.get(f"{API}/projects/{project_id}/columns").json


DESCRIPTION = 'First line\nsecond line, with a comma\nthird "quoted" line; and a semicolon'


@pytest.fixture
def board(alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    """Cards whose titles and descriptions a spreadsheet would run as formulas, labels
    and assignees, a checklist, a multi-line description, several columns."""
    project = alice.create_project("Sheet")
    pid = project["id"]
    alice.add_member(pid, bob)
    todo, doing, done = (c["id"] for c in columns_of(alice, pid))
    _ok(alice.patch(f"{API}/columns/{doing}", json={"name": "Doing"}))
    label = {
        name: _ok(
            alice.post(f"{API}/projects/{pid}/labels", json={"name": name, "color": "teal"}), 201
        )["id"]
        for name in ("UX", "Bug", "=cmd")
    }
    first = alice.create_task(
        pid,
        "=SUM(A1)",
        description="+1 more\n" + DESCRIPTION,
        label_ids=[label["UX"], label["Bug"]],
        assignee_ids=[bob.id, alice.id],
        due_date="2031-05-06T09:08:07+02:00",
    )
    for text, done_ in (("One", True), ("Two", False)):
        item = _ok(alice.post(f"{API}/tasks/{first['id']}/checklist", json={"text": text}), 201)
        if done_:
            _ok(alice.patch(f"{API}/checklist/{item['id']}", json={"done": True}))
    alice.create_task(pid, "+1", description="-2", column_id=doing, label_ids=[label["=cmd"]])
    alice.create_task(pid, "-2", description="@x", column_id=doing)
    alice.create_task(pid, "@x", description="'=already quoted", column_id=doing)
    alice.create_task(pid, "Plain, with comma", column_id=done)
    return {"id": pid, "columns": {"To Do": todo, "Doing": doing, "Done": done}, "labels": label}


def test_the_export_is_one_safe_row_per_task(
    app: Flask, alice: ApiUser, bob: ApiUser, board: dict[str, Any]
) -> None:
    data = export_csv(bob, board["id"])  # any member
    assert data.startswith(BOM + HEADER.encode() + b"\r\n")
    rows = rows_of(data)
    assert rows[0] == HEADER.split(",")
    assert all(len(row) == 9 for row in rows)
    by_title = {row[0]: dict(zip(rows[0], row, strict=True)) for row in rows[1:]}
    # One row per task, in board order; every cell that starts like a formula is quoted
    # with an apostrophe, which a spreadsheet shows as text.
    assert [row[0] for row in rows[1:]] == ["'=SUM(A1)", "'+1", "'-2", "'@x", "Plain, with comma"]
    first = by_title["'=SUM(A1)"]
    assert first["description"] == "'+1 more\n" + DESCRIPTION
    assert (first["column"], first["status"]) == ("To Do", "todo")
    assert first["labels"] == "Bug, UX"  # by name, as the board shows them
    assert first["assignees"] == f"{alice.email}, {bob.email}"
    assert first["due_date"] == "2031-05-06T07:08:07Z"
    task = next(t for t in tasks_of(alice, board["id"]) if t["title"] == "=SUM(A1)")
    created = datetime.fromisoformat(task["created_at"]).replace(microsecond=0)
    assert datetime.fromisoformat(first["created_at"]) == created
    assert first["checklist"] == "1/2"
    assert by_title["'+1"]["description"] == "'-2"
    assert by_title["'+1"]["labels"] == "'=cmd"
    assert (by_title["'+1"]["column"], by_title["'+1"]["status"]) == ("Doing", "in_progress")
    assert by_title["'-2"]["description"] == "'@x"
    # Text that starts with an apostrophe before a formula sign keeps it through a round trip.
    assert by_title["'@x"]["description"] == "''=already quoted"
    plain = by_title["Plain, with comma"]
    assert (plain["column"], plain["status"], plain["checklist"]) == ("Done", "done", "")
    assert plain["labels"] == plain["assignees"] == plain["due_date"] == plain["description"] == ""
    # No cell of the file starts like a formula.
    for row in rows[1:]:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    # The multi-line description is one quoted cell over three lines of the file.
    text = data.decode("utf-8-sig")
    assert f'"\'+1 more\n{DESCRIPTION.replace(chr(34), chr(34) * 2)}"' in text


def test_the_export_reimports_into_an_equal_set_of_tasks(
    app: Flask, alice: ApiUser, bob: ApiUser, board: dict[str, Any]
) -> None:
    data = export_csv(alice, board["id"])
    other = alice.create_project("Copy")
    alice.add_member(other["id"], bob)
    result = _ok(send_csv(bob, other["id"], data), 201)  # any member may import
    assert result == {"imported": 5}

    # "Doing" was not a column of the new project: it was made, with the row's status.
    columns = columns_of(alice, other["id"])
    assert [(c["name"], c["category"], c["task_count"]) for c in columns] == [
        ("To Do", "todo", 1),
        ("In Progress", "in_progress", 0),
        ("Done", "done", 1),
        ("Doing", "in_progress", 3),
    ]
    labels = alice.get(f"{API}/projects/{other['id']}/labels").json
    assert sorted((label["name"], label["color"]) for label in labels) == [
        ("=cmd", "gray"),
        ("Bug", "gray"),
        ("UX", "gray"),
    ]
    names = {c["id"]: c["name"] for c in columns}
    names.update({c["id"]: c["name"] for c in columns_of(alice, board["id"])})

    def comparable(task: dict[str, Any]) -> dict[str, Any]:
        return {
            "title": task["title"],
            "description": task["description"],
            "column": names[task["column_id"]],
            "status": task["status"],
            "position": task["position"],
            "labels": [label["name"] for label in task["labels"]],
            "assignees": [user["id"] for user in task["assignees"]],
            "due_date": task["due_date"],
            # The file keeps whole seconds.
            "created_at": datetime.fromisoformat(task["created_at"]).replace(microsecond=0),
        }

    before = [comparable(t) for t in tasks_of(alice, board["id"])]
    after = [comparable(t) for t in tasks_of(alice, other["id"])]
    key = lambda t: (t["column"], t["position"])  # noqa: E731
    assert sorted(after, key=key) == sorted(before, key=key)
    assert "=SUM(A1)" in {t["title"] for t in after}  # the apostrophes are taken off
    copied = {t["title"]: t for t in tasks_of(alice, other["id"])}
    # The checklist cell is a count, not the items: the copy has no checklist.
    assert copied["=SUM(A1)"]["checklist"] == {"done": 0, "total": 0}
    assert copied["=SUM(A1)"]["created_by"]["id"] == bob.id
    history = alice.get(f"{API}/tasks/{copied['=SUM(A1)']['id']}/activity").json
    assert [(h["verb"], h["detail"]) for h in history] == [
        ("imported", {"source": "a CSV file", "line": 2})
    ]
    line_of_plus = alice.get(f"{API}/tasks/{copied['+1']['id']}/activity").json[0]["detail"]
    assert line_of_plus["line"] == 2 + 1 + DESCRIPTION.count("\n") + 1  # after 4 lines of cell 1

    # Importing the same file again adds the cards again, after the ones there.
    assert _ok(send_csv(alice, other["id"], data), 201) == {"imported": 5}
    doing = [t for t in tasks_of(alice, other["id"]) if t["status"] == "in_progress"]
    assert [t["position"] for t in doing] == list(range(6))
    assert len(columns_of(alice, other["id"])) == 4  # "Doing" is found, not made twice


def test_quotes_and_line_breaks_in_cells_survive_a_round_trip(app: Flask, alice: ApiUser) -> None:
    project = alice.create_project("Quotes")
    text = 'He said "hi", then\n"bye"\n\n"" and ; and , and \'='
    alice.create_task(project["id"], '"Quoted" title', description=text)
    data = export_csv(alice, project["id"])
    other = alice.create_project("Quotes 2")
    _ok(send_csv(alice, other["id"], data), 201)
    (task,) = tasks_of(alice, other["id"])
    assert (task["title"], task["description"]) == ('"Quoted" title', text)


def test_a_file_written_by_hand_with_the_columns_in_any_order(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Hand")
    alice.add_member(project["id"], bob)
    content = (
        "Assignees,Title,Status,Due_Date\n"
        f"{bob.email.upper()},Call the printer,in progress,2030-02-03\n"
        'bob@example.com,"Two, with comma",done,31.12.2030\n'
        "\n"
        ",Only a title,,\n"
    )
    assert _ok(send_csv(alice, project["id"], content), 201) == {"imported": 3}
    tasks = {t["title"]: t for t in tasks_of(alice, project["id"])}
    call = tasks["Call the printer"]
    assert call["status"] == "in_progress" and call["due_date"] == "2030-02-03T00:00:00+00:00"
    assert [u["id"] for u in call["assignees"]] == [bob.id]
    assert tasks["Two, with comma"]["due_date"] == "2030-12-31T00:00:00+00:00"
    # No column and no status: the first column of To Do.
    only = tasks["Only a title"]
    assert (
        only["status"] == "todo" and only["column_id"] == columns_of(alice, project["id"])[0]["id"]
    )
    assert only["assignees"] == [] and only["due_date"] is None


def test_semicolon_separated_windows_1252_files_from_european_excel(
    app: Flask, alice: ApiUser
) -> None:
    project = alice.create_project("Excel")
    content = (
        "title;description;column;labels;due_date\r\n"
        "Café \u2013 naïve;Preis: 5 €, „Zitat“;Erledigt;Müll, Äpfel;24.12.2030\r\n"
        '"Zwei; mit Semikolon";"Zeile 1\r\nZeile 2";In Arbeit;;\r\n'
    ).encode("cp1252")
    with pytest.raises(UnicodeDecodeError):
        content.decode("utf-8")
    assert _ok(send_csv(alice, project["id"], content), 201) == {"imported": 2}
    tasks = {t["title"]: t for t in tasks_of(alice, project["id"])}
    cafe = tasks["Café \u2013 naïve"]
    assert cafe["description"] == "Preis: 5 €, „Zitat“"
    assert sorted(label["name"] for label in cafe["labels"]) == ["Müll", "Äpfel"]
    assert cafe["due_date"] == "2030-12-24T00:00:00+00:00"
    assert cafe["status"] == "done"  # "Erledigt" was made as a done column
    second = tasks["Zwei; mit Semikolon"]
    assert second["description"] == "Zeile 1\r\nZeile 2"  # the cell as it was written
    assert second["status"] == "in_progress"
    made = {c["name"]: c["category"] for c in columns_of(alice, project["id"])}
    assert made["Erledigt"] == "done" and made["In Arbeit"] == "in_progress"


def test_tab_separated_utf8_without_bom(app: Flask, alice: ApiUser) -> None:
    project = alice.create_project("Tabs")
    content = "title\tlabels\nÜber\tA, B\n"
    assert _ok(send_csv(alice, project["id"], content), 201) == {"imported": 1}
    (task,) = tasks_of(alice, project["id"])
    assert task["title"] == "Über" and [x["name"] for x in task["labels"]] == ["A", "B"]


def test_new_columns_take_the_rows_status_or_a_category_guessed_from_the_name(
    app: Flask, alice: ApiUser
) -> None:
    project = alice.create_project("New columns")
    content = (
        "title,column,status,labels\n"
        "a,Icebox,,Later\n"
        "b,Shipped,,\n"
        "c,QA,,\n"
        "d,Waiting for client,in_progress,later\n"  # the label is found ignoring case
        "e,icebox,,\n"  # so is the column
        "f,,done,\n"  # no column: the first of its status
    )
    assert _ok(send_csv(alice, project["id"], content), 201) == {"imported": 6}
    columns = columns_of(alice, project["id"])
    assert [(c["name"], c["category"], c["task_count"]) for c in columns] == [
        ("To Do", "todo", 0),
        ("In Progress", "in_progress", 0),
        ("Done", "done", 1),
        ("Icebox", "todo", 2),
        ("Shipped", "done", 1),
        ("QA", "in_progress", 1),
        ("Waiting for client", "in_progress", 1),
    ]
    (label,) = alice.get(f"{API}/projects/{project['id']}/labels").json
    assert label["name"] == "Later"
    tasks = {t["title"]: t for t in tasks_of(alice, project["id"])}
    assert [x["name"] for x in tasks["d"]["labels"]] == ["Later"]
    assert (tasks["a"]["position"], tasks["e"]["position"]) == (0, 1)


# Refused files: 422 naming the line, nothing written --------------------------------------


def assert_refused(
    app: Flask, user: ApiUser, project_id: str, content: bytes | str, *words: str, status: int = 422
) -> dict[str, Any]:
    counts = table_counts(app)
    body = assert_error(send_csv(user, project_id, content), status)
    for word in words:
        assert word in body["message"], body
    assert table_counts(app) == counts
    return body


def test_errors_name_the_files_line_even_after_multi_line_cells(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Lines")
    alice.add_member(project["id"], bob)
    content = (
        "title,description,assignees,due_date\r\n"  # line 1
        'Fine,"line one\r\nline two\r\nline three",bob@example.com,\r\n'  # lines 2-4
        "Also fine,plain,,\r\n"  # line 5
        '  ,"no title\nhere",,\r\n'  # lines 6-7
        "\r\n"  # line 8, blank: skipped
        "Who,x,nobody@example.com,\r\n"  # line 9
        "When,x,,someday\r\n"  # line 10
        f"{'x' * 256},x,,\r\n"  # line 11
    )
    body = assert_refused(
        app,
        alice,
        project["id"],
        content,
        "line 6, column title: title must not be empty",
        "line 9, column assignees: nobody@example.com is not a member",
        "line 10, column due_date: 'someday' is not a date",
        "line 11, column title: title must be at most 255 characters",
    )
    assert body["errors"]["json"] == {"title": [body["message"]]}  # the first culprit
    assert "line 2" not in body["message"] and "line 5" not in body["message"]
    assert tasks_of(alice, project["id"]) == []


def test_error_lines_in_an_exported_file_with_an_appended_bad_row(
    app: Flask, alice: ApiUser, bob: ApiUser, board: dict[str, Any]
) -> None:
    data = export_csv(alice, board["id"])
    text = data.decode("utf-8-sig")
    lines = text.count("\r\n") + text.count("\n") - text.count("\r\n")
    content = text + "Bad status,,Done,todo,,,,,\r\n"
    other = alice.create_project("Target")
    alice.add_member(other["id"], bob)
    body = assert_refused(app, alice, other["id"], content.encode("utf-8-sig"))
    assert body["message"].startswith(
        f"The CSV file was not imported: line {lines + 1}, column status: “todo” is not the "
        "category of the column “Done”"
    ), body
    assert len(tasks_of(alice, other["id"])) == 0


def test_an_unknown_assignee_imports_nothing_not_even_new_columns_or_labels(
    app: Flask, alice: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project("Members only")
    content = (
        "title,column,labels,assignees\n"
        "First,Brand new column,Brand new label,alice@example.com\n"
        f"Second,,,{carol.email}\n"  # carol has an account, but is no member
        "Third,,,\n"
    )
    body = assert_refused(
        app,
        alice,
        project["id"],
        content,
        f"line 3, column assignees: {carol.email} is not a member",
    )
    assert body["errors"]["json"] == {"assignees": [body["message"]]}
    assert [c["name"] for c in columns_of(alice, project["id"])] == ["To Do", "In Progress", "Done"]
    assert alice.get(f"{API}/projects/{project['id']}/labels").json == []


BAD_FILES = [
    # (id, the file, words of the message, the field)
    (
        "unknown-header",
        "title,colour\nA,red\n",
        ["line 1, column colour: unknown column"],
        "colour",
    ),
    (
        "no-title-column",
        "description\nA\n",
        ["line 1, column title: the header must have"],
        "title",
    ),
    ("header-twice", "title,Title\nA,B\n", ["line 1: a column is named twice"], "file"),
    ("empty", "", ["The CSV file is empty"], "file"),
    ("only-a-bom", BOM, ["The CSV file is empty"], "file"),
    ("only-a-header", HEADER + "\r\n", ["no tasks"], "file"),
    ("header-and-blank-lines", "title\n\n\n,\n", ["no tasks"], "file"),
    (
        "bad-status",
        "title,status\nA,blocked\n",
        ["line 2, column status: must be one of"],
        "status",
    ),
    (
        "status-not-the-columns",
        "title,column,status\nA,Done,todo\n",
        ["line 2, column status: “todo” is not the category of the column “Done”"],
        "status",
    ),
    (
        "a-new-column-with-two-statuses",
        "title,column,status\nA,Later,todo\nB,Later,done\n",
        ["line 3, column status: “done” is not the category of the column “Later”"],
        "status",
    ),
    (
        "too-many-cells",
        "title,description\nA,B,C\n",
        ["line 2: 3 cells, but the header has 2"],
        "file",
    ),
    (
        "long-label",
        "title,labels\nA,ok\nB," + "L" * 41 + "\n",
        ["line 3, column labels: “" + "L" * 41 + "” is longer than 40"],
        "labels",
    ),
    ("long-column", "title,column\nA," + "C" * 61 + "\n", ["line 2, column column:"], "column"),
    (
        "long-description",
        "title,description\nA," + "d" * 10_001 + "\n",
        ["line 2, column description:"],
        "description",
    ),
    (
        "bad-created-at",
        "title,created_at\nA,0001-01-01\n",
        ["line 2, column created_at: the year"],
        "created_at",
    ),
    (
        "unclosed-quote",  # not the rest of the file read as one cell
        'title,description\nA,a\nB,"never closed\nC,c\nD,d\n',
        ["line 3: unexpected end of data"],
        "file",
    ),
    ("text-after-a-quote", 'title\nA\n"B"x\n', ["line 3: ',' expected after"], "file"),
    ("nul-character", "title\nA\x00B\n", ["line 2, column title: title contains"], "title"),
]


def test_a_wrong_file_imports_nothing(app: Flask, alice: ApiUser) -> None:
    """Each of BAD_FILES on its own: 422, the message naming the line and column, the
    first culprit as the field, and nothing written (all cases run; failures are listed
    by the case's name)."""
    project = alice.create_project("Refuses")
    wrong = []
    for name, content, words, field in BAD_FILES:
        try:
            body = assert_refused(app, alice, project["id"], content, *words)
            assert body["errors"]["json"] == {field: [body["message"]]}, body
        except AssertionError as exc:
            wrong.append(f"{name}: {exc}")
    assert wrong == [], "\n".join(wrong)
    assert tasks_of(alice, project["id"]) == []


def test_many_errors_are_listed_up_to_a_limit(app: Flask, alice: ApiUser) -> None:
    project = alice.create_project("Many")
    content = "title,status\n" + "".join(f"T{i},nope\n" for i in range(50))
    body = assert_refused(app, alice, project["id"], content, "line 2, column status", "line 21")
    assert "line 22," not in body["message"] and body["message"].endswith("(and maybe more).")


# The upload itself ------------------------------------------------------------------------


def test_the_upload_limits_and_fields(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project("Uploads")
    pid = project["id"]
    alice.add_member(pid, bob)
    good = "title\nOne\n"
    counts = table_counts(app)
    assert_error(send_csv(carol, pid, good), 404)  # not a member: no such project
    assert_error(carol.get(f"{API}/projects/{pid}/export.csv"), 404)
    resp = client.post(
        f"{API}/projects/{pid}/import.csv",
        data={"file": (io.BytesIO(good.encode()), "t.csv")},
        content_type="multipart/form-data",
    )
    assert_error(resp, 401)
    assert_error(send_csv(alice, pid, good, delimiter=";"), 422, "delimiter")
    no_file = alice.post(
        f"{API}/projects/{pid}/import.csv", data={}, content_type="multipart/form-data"
    )
    assert_error(no_file, 422, "file", location="files")
    assert_error(alice.post(f"{API}/projects/{pid}/import.csv", json={"file": good}), 422)
    app.config["IMPORT_MAX_BYTES"] = 1000
    big = "title,description\n" + "".join(f"T{i},{'x' * 90}\n" for i in range(20))
    assert 1000 < len(big) < 1000 + 64 * 1024  # past the limit, within the form's slack
    assert_error(send_csv(alice, pid, big), 413)
    huge = "title,description\n" + "".join(f"T{i},{'x' * 900}\n" for i in range(200))
    assert_error(send_csv(alice, pid, huge), 413)
    assert table_counts(app) == counts
    app.config["IMPORT_MAX_BYTES"] = 50 * 1024 * 1024
    assert _ok(send_csv(bob, pid, big), 201) == {"imported": 20}


# Scale ------------------------------------------------------------------------------------


def test_two_thousand_tasks_go_out_and_back_in(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    paragraph = "Lorem ipsum, dolor sit amet; “consectetur” adipiscing elit.\n" * 20
    doc = {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "Big"},
        "members": [{"email": bob.email}],
        "columns": [
            {"id": "a", "name": "To Do"},
            {"id": "b", "name": "Doing", "category": "in_progress"},
            {"id": "c", "name": "=Done", "category": "done"},
        ],
        "labels": [{"id": f"l{i}", "name": f"Label {i}"} for i in range(6)],
        "tasks": [
            {
                "title": f"=Card {i}" if i % 7 == 0 else f"Card {i}",
                "description": f"{i}\n{paragraph}",
                "column": "abc"[i % 3],
                "labels": [f"l{i % 6}"],
                "assignees": [{"email": bob.email}] if i % 2 else [],
                "due_date": "2031-01-01T00:00:00Z" if i % 5 == 0 else None,
            }
            for i in range(2000)
        ],
    }
    made = alice.post(
        f"{API}/projects/import",
        data={"file": (io.BytesIO(json.dumps(doc).encode()), "big.json")},
        content_type="multipart/form-data",
    )
    source = _ok(made, 201)
    data = export_csv(alice, source["id"])
    assert len(data) > 2 * 1024 * 1024
    assert len(rows_of(data)) == 2001
    target = alice.create_project("Big copy")
    alice.add_member(target["id"], bob)
    assert _ok(send_csv(alice, target["id"], data), 201) == {"imported": 2000}
    counts = {c["name"]: c["task_count"] for c in columns_of(alice, target["id"])}
    assert counts == {"To Do": 667, "In Progress": 0, "Done": 0, "Doing": 667, "=Done": 666}
    copied = tasks_of(alice, target["id"])
    assert len(copied) == 2000
    assert sum(1 for t in copied if t["assignees"]) == 1000
    assert sum(1 for t in copied if t["title"].startswith("=")) == 286
    assert export_csv(alice, target["id"]).count(b"\n") == data.count(b"\n")


def test_a_date_that_could_be_either_month_is_refused_not_guessed(
    app: Flask, alice: ApiUser
) -> None:
    project = alice.create_project("Dates")
    before = table_counts(app)
    for value in ("03/04/2026", "03/04/2026 10:00", "4/3/26"):
        resp = send_csv(alice, project["id"], f"title,due_date\nA,{value}\n")
        assert_error(resp, 422)
        assert "line 2, column due_date" in resp.json["message"], value
        assert table_counts(app) == before
    for value, day in (("31.12.2030", "2030-12-31"), ("2030/12/31", "2030-12-31")):
        made = send_csv(alice, project["id"], f"title,due_date\n{value},{value}\n")
        assert made.status_code == 201, made.json
        task = next(
            t
            for t in alice.get(f"/api/v1/projects/{project['id']}/tasks").json
            if t["title"] == value
        )
        assert task["due_date"].startswith(day)


def test_assignees_of_imported_rows_hear_of_it(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    project = alice.create_project("Told")
    alice.add_member(project["id"], bob)
    seen = len(bob.get("/api/v1/users/me/notifications").json)
    made = send_csv(alice, project["id"], f"title,assignees\nYours,{bob.email}\nNobody's,\n")
    assert made.status_code == 201, made.json
    inbox = bob.get("/api/v1/users/me/notifications").json
    assert len(inbox) == seen + 1
    assert inbox[0]["kind"] == "assigned" and "Yours" in inbox[0]["text"]

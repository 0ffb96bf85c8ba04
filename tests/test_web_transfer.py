"""The pages of moving in and out and of the trash: "Undo" after a delete (with and without
JavaScript), the trash pages, the import page, the exports and the CSV import."""

from __future__ import annotations

import io
import json

from conftest import ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from trello_exports import build_export, export_bytes
from webutil import csrf_from, new_client, text, web_login

HX = {"HX-Request": "true"}
API = "/api/v1"


def test_deleting_a_card_without_javascript_offers_undo(
    client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project("Undo")
    task = alice.create_task(project["id"], "Oops")
    token = web_login(client, alice.email)
    done = client.post(f"/tasks/{task['id']}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303
    board = text(client.get(done.headers["Location"]))
    assert "Task “Oops” deleted." in board
    form = f'action="/tasks/{task["id"]}/restore"'
    assert form in board and ">Undo</button>" in board
    undo = client.post(f"/tasks/{task['id']}/restore", data={"csrf_token": csrf_from(board)})
    assert undo.status_code == 303
    assert alice.get(f"{API}/tasks/{task['id']}").json["title"] == "Oops"
    assert "Task “Oops” restored." in text(client.get(undo.headers["Location"]))


def test_deleting_a_card_with_htmx_says_how_to_undo(client: FlaskClient, alice: ApiUser) -> None:
    project = alice.create_project("Undo")
    task = alice.create_task(project["id"], "Oops")
    token = web_login(client, alice.email)
    resp = client.post(
        f"/tasks/{task['id']}/delete", data={"csrf_token": token, "confirm": "yes"}, headers=HX
    )
    events = json.loads(resp.headers["HX-Trigger"])
    assert events["task-deleted"] == {
        "value": "Task “Oops” deleted.",
        "undo": f"/tasks/{task['id']}/restore",
    }
    undo = client.post(f"/tasks/{task['id']}/restore", headers={**HX, "X-CSRFToken": token})
    assert undo.status_code == 200
    assert "board-changed" in json.loads(undo.headers["HX-Trigger"])
    assert alice.get(f"{API}/tasks/{task['id']}").status_code == 200


def test_the_trash_pages_list_restore_and_delete_for_good(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Bin")
    alice.add_member(project["id"], bob)
    kept = alice.create_task(project["id"], "Keep <me>")
    gone = alice.create_task(project["id"], "Forget me")
    other = alice.create_project("Whole project")
    for task in (kept, gone):
        assert alice.delete(f"{API}/tasks/{task['id']}").status_code == 204
    assert alice.delete(f"{API}/projects/{other['id']}").status_code == 204

    token = web_login(client, bob.email)
    page = text(client.get(f"/projects/{project['id']}/trash"))
    assert "Keep &lt;me&gt;" in page and "Forget me" in page and "deleted" in page
    assert "Whole project" not in page
    mine = text(client.get("/trash"))
    assert "Keep &lt;me&gt;" in mine and "Whole project" not in mine  # bob owns no project

    restored = client.post(
        f"/tasks/{kept['id']}/restore", data={"csrf_token": token, "back": "trash"}
    )
    assert restored.headers["Location"] == f"/projects/{project['id']}/trash"
    entry = bob.get(f"{API}/projects/{project['id']}/trash").json[0]
    ask = client.post(f"/trash/{entry['id']}/delete", data={"csrf_token": token})
    assert ask.status_code == 200 and "Delete this for good?" in text(ask)
    done = client.post(
        f"/trash/{entry['id']}/delete",
        data={"csrf_token": token, "confirm": "yes", "back": f"/projects/{project['id']}/trash"},
    )
    assert done.status_code == 303
    assert "The trash is empty." in text(client.get(done.headers["Location"]))

    client = new_client(app)
    web_login(client, alice.email)
    mine = text(client.get("/trash"))
    assert "Whole project" in mine
    back = client.post(f"/projects/{other['id']}/restore", data={"csrf_token": csrf_from(mine)})
    assert back.headers["Location"] == f"/projects/{other['id']}"
    assert alice.get(f"{API}/projects/{other['id']}").status_code == 200


def test_deleting_a_project_offers_undo(client: FlaskClient, alice: ApiUser) -> None:
    project = alice.create_project("Short-lived")
    token = web_login(client, alice.email)
    done = client.post(
        f"/projects/{project['id']}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    page = text(client.get(done.headers["Location"]))
    assert "Project “Short-lived” deleted." in page
    assert f'action="/projects/{project["id"]}/restore"' in page


def test_the_import_page_imports_a_trello_board_and_shows_errors(
    app: Flask, client: FlaskClient, alice: ApiUser
) -> None:
    token = web_login(client, alice.email)
    page = text(client.get("/projects/import"))
    assert "Export as JSON" in page and 'name="file"' in page
    before = table_counts(app)
    bad = client.post(
        "/projects/import",
        data={"csrf_token": token, "source": "trello", "file": (io.BytesIO(b"{}"), "x.json")},
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "not a Trello board export" in text(bad)
    assert table_counts(app) == before
    none = client.post(
        "/projects/import",
        data={"csrf_token": token, "source": "trello"},
        content_type="multipart/form-data",
    )
    assert none.status_code == 422 and "Choose the file to import." in text(none)

    board = build_export(lists=2, cards_per_list=3, seed=7)
    done = client.post(
        "/projects/import",
        data={
            "csrf_token": token,
            "source": "trello",
            "file": (io.BytesIO(export_bytes(board)), "board.json"),
        },
        content_type="multipart/form-data",
        headers=HX,
    )
    assert done.status_code == 200, text(done)
    url = done.headers["HX-Redirect"]
    project_id = url.rsplit("/", 1)[1]
    assert alice.get(f"{API}/projects/{project_id}").json["title"] == board["name"]
    assert "Imported “" in text(client.get(url))


def test_exports_and_the_csv_import_from_the_pages(
    app: Flask, client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Sheets")
    alice.create_task(project["id"], '=HYPERLINK("x")')
    token = web_login(client, alice.email)
    assert "export.csv" in text(client.get(f"/projects/{project['id']}/transfer"))
    sheet = client.get(f"/projects/{project['id']}/export.csv")
    assert sheet.status_code == 200 and sheet.mimetype == "text/csv"
    assert sheet.data.startswith("\ufeff".encode()) and b"'=HYPERLINK" in sheet.data
    assert 'filename="Sheets.csv"' in sheet.headers["Content-Disposition"]
    for kind in ("json", "zip"):
        got = client.get(f"/projects/{project['id']}/export.{kind}")
        assert got.status_code == 200 and "attachment" in got.headers["Content-Disposition"]

    before = table_counts(app)
    wrong = client.post(
        f"/projects/{project['id']}/import.csv",
        data={"csrf_token": token, "file": (io.BytesIO(b"title,owner\nA,b\n"), "t.csv")},
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422 and "line 1, column owner" in text(wrong)
    assert table_counts(app) == before
    right = client.post(
        f"/projects/{project['id']}/import.csv",
        data={"csrf_token": token, "file": (io.BytesIO(b"title,column\nA,Later\nB,\n"), "t.csv")},
        content_type="multipart/form-data",
    )
    assert "Imported 2 tasks" in text(client.get(right.headers["Location"]))
    titles = [t["title"] for t in alice.get(f"{API}/projects/{project['id']}/tasks").json]
    assert sorted(titles) == sorted(['=HYPERLINK("x")', "A", "B"])

    client = new_client(app)
    web_login(client, bob.email)
    assert client.get(f"/projects/{project['id']}/export.csv").status_code == 404
    assert client.get(f"/projects/{project['id']}/trash").status_code == 404

"""The full export and its import (SPEC §13, docs/export-format.md): export.json and
export.zip give a document that imports into an equal project with new ids, matched to
the accounts of the instance that imports it; a file that is wrong anywhere imports
nothing and answers a clear 4xx."""

from __future__ import annotations

import copy
import io
import json
import struct
import tracemalloc
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from unittest.mock import ANY

import pytest
from conftest import BASE_CONFIG, ApiUser, assert_error, register, table_counts
from flask import Flask
from flask.testing import FlaskClient

from taskboard import create_app
from taskboard.extensions import db
from taskboard.storage import storage

API = "/api/v1"
MiB = 1024 * 1024


def _png(width: int = 3, height: int = 2) -> bytes:
    """A real (tiny, red) PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()
NOTES = "Meeting notes — Zürich, 3 Dec\nAgenda:\n1. Café\n".encode()
LOG = b"2026-12-03 10:00:00 build ok\n" * 40


# Building a project through the API -----------------------------------------------------


def _ok(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.json


def upload(user: ApiUser, task_id: str, content: bytes, name: str) -> dict[str, Any]:
    resp = user.post(
        f"{API}/tasks/{task_id}/attachments",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )
    return _ok(resp, 201)


def send(user: ApiUser, content: bytes, name: str = "project.json", **fields: Any) -> Any:
    """POST /projects/import of `content` as the multipart field `file`."""
    return user.post(
        f"{API}/projects/import",
        data={"file": (io.BytesIO(content), name), **fields},
        content_type="multipart/form-data",
    )


def export_json(user: ApiUser, project_id: str) -> dict[str, Any]:
    resp = user.get(f"{API}/projects/{project_id}/export.json")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/json"
    assert resp.headers["Content-Disposition"].startswith("attachment;")
    return json.loads(resp.data)


def export_zip(user: ApiUser, project_id: str) -> bytes:
    resp = user.get(f"{API}/projects/{project_id}/export.zip")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.mimetype == "application/zip"
    return resp.data


def build_rich_project(alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    """A project that uses every part of the format, made the way people make one.

    Board: Backlog | To Do | Doing (renamed "In Progress", WIP 3) | Review (custom, WIP 2)
    | Done; labels Bug, Feature, "Ops & infra"; bob is a member; cards with assignees,
    due dates, checklists, comments (one edited), history, a PNG and two text files, a
    card moved by hand, and a card in the trash."""
    project = alice.create_project("Website relaunch", description="Q1 — the new site.\nAll of it.")
    pid = project["id"]
    alice.add_member(pid, bob)
    todo, doing, done = (c["id"] for c in alice.get(f"{API}/projects/{pid}/columns").json)
    _ok(alice.patch(f"{API}/columns/{doing}", json={"name": "Doing", "wip_limit": 3}))
    review = _ok(
        bob.post(
            f"{API}/projects/{pid}/columns",
            json={"name": "Review", "category": "in_progress", "wip_limit": 2, "position": 2},
        ),
        201,
    )["id"]
    backlog = _ok(
        alice.post(
            f"{API}/projects/{pid}/columns",
            json={"name": "Backlog", "category": "todo", "position": 0},
        ),
        201,
    )["id"]
    labels = {
        name: _ok(
            alice.post(f"{API}/projects/{pid}/labels", json={"name": name, "color": color}), 201
        )["id"]
        for name, color in (("Bug", "red"), ("Feature", "green"), ("Ops & infra", "blue"))
    }

    copy_task = alice.create_task(
        pid,
        "Write cpy",
        description="Home page and *about*.\n\n“Quotes”, tabs\tand ünïcödé.",
        column_id=todo,
        assignee_ids=[bob.id],
        label_ids=[labels["Bug"]],
        due_date="2031-05-06T07:08:09+02:00",
    )
    _ok(
        alice.patch(
            f"{API}/tasks/{copy_task['id']}",
            json={"title": "Write copy", "due_date": "2031-05-07T09:00:00Z"},
        )
    )
    steps = [
        _ok(alice.post(f"{API}/tasks/{copy_task['id']}/checklist", json={"text": t}), 201)
        for t in ("Outline", "Draft", "Proofread")
    ]
    _ok(alice.patch(f"{API}/checklist/{steps[0]['id']}", json={"done": True}))
    _ok(bob.patch(f"{API}/checklist/{steps[1]['id']}", json={"done": True}))
    _ok(alice.patch(f"{API}/checklist/{steps[2]['id']}", json={"position": 0}))
    _ok(
        alice.post(f"{API}/tasks/{copy_task['id']}/comments", json={"body": "First draft is up."}),
        201,
    )
    reply = _ok(
        bob.post(f"{API}/tasks/{copy_task['id']}/comments", json={"body": "Looks god"}), 201
    )
    _ok(bob.patch(f"{API}/comments/{reply['id']}", json={"body": "Looks good!"}))
    upload(alice, copy_task["id"], PNG, "Screenshot 2026-12-03 at 10.00.png")
    upload(bob, copy_task["id"], NOTES, "notes (final).txt")

    header = alice.create_task(
        pid,
        "Design header",
        column_id=todo,
        assignee_ids=[alice.id, bob.id],
        label_ids=[labels["Feature"], labels["Bug"]],
    )
    # Moved to the top of its column by hand: positions are not the order of creation.
    _ok(alice.patch(f"{API}/tasks/{header['id']}", json={"position": 0}))
    ci = bob.create_task(pid, "Set up CI", column_id=doing, label_ids=[labels["Ops & infra"]])
    upload(bob, ci["id"], LOG, "build.log")
    pr = alice.create_task(pid, "Review PR #12", description="See the branch.")
    _ok(bob.patch(f"{API}/tasks/{pr['id']}", json={"column_id": review}))
    launch = alice.create_task(pid, "Launch", status="done", due_date="2030-01-01T00:00:00Z")
    item = _ok(alice.post(f"{API}/tasks/{launch['id']}/checklist", json={"text": "Go"}), 201)
    _ok(alice.patch(f"{API}/checklist/{item['id']}", json={"done": True}))
    bob.create_task(pid, "Someday", column_id=backlog)
    old = alice.create_task(pid, "Old idea", description="Dropped", column_id=todo)
    _ok(alice.post(f"{API}/tasks/{old['id']}/comments", json={"body": "No longer needed."}), 201)
    assert alice.delete(f"{API}/tasks/{old['id']}").status_code == 204
    return {
        "id": pid,
        "columns": {
            "Backlog": backlog,
            "To Do": todo,
            "Doing": doing,
            "Review": review,
            "Done": done,
        },
        "labels": labels,
        "tasks": {"copy": copy_task["id"], "header": header["id"], "ci": ci["id"], "pr": pr["id"]},
        "trashed": old["id"],
    }


# Comparing two documents ----------------------------------------------------------------


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Every place where `a` and `b` differ, by its path in the document."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            if key not in b:
                out.append(f"{path}.{key}: missing from the second")
            elif key not in a:
                out.append(f"{path}.{key}: missing from the first")
            else:
                out += differences(a[key], b[key], f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = [f"{path}: {len(a)} items, then {len(b)}"] if len(a) != len(b) else []
        for index, (x, y) in enumerate(zip(a, b, strict=False)):
            out += differences(x, y, f"{path}[{index}]")
        return out
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def comparable(doc: dict[str, Any]) -> dict[str, Any]:
    """The document without what an import gives anew: ids (references become places in
    the document: a task's column its column's index, its labels theirs), the export time,
    the project's id and times, its owner, and when members joined."""
    doc = copy.deepcopy(doc)
    column_at = {column.pop("id"): index for index, column in enumerate(doc["columns"])}
    label_at = {label.pop("id"): index for index, label in enumerate(doc["labels"])}
    for task in doc["tasks"]:
        del task["id"]
        task["column"] = column_at[task["column"]]
        task["labels"] = [label_at[key] for key in task["labels"]]
        for file in task["attachments"]:
            del file["id"]
    del doc["exported_at"]
    for key in ("id", "created_at", "updated_at", "owner"):
        del doc["project"][key]
    doc["members"] = sorted(
        ({"email": m["email"], "name": m["name"]} for m in doc["members"]),
        key=lambda m: m["email"],
    )
    return doc


def ids_of(doc: dict[str, Any]) -> set[str]:
    found = {doc["project"]["id"]}
    found |= {c["id"] for c in doc["columns"]} | {label["id"] for label in doc["labels"]}
    for task in doc["tasks"]:
        found |= {task["id"]} | {file["id"] for file in task["attachments"]}
    return found


def without_import_entry(doc: dict[str, Any], importer: ApiUser) -> dict[str, Any]:
    """`doc` with the one "imported" entry each task's history ends with taken off (and
    checked: the importer's, naming the source)."""
    doc = copy.deepcopy(doc)
    for task in doc["tasks"]:
        last = task["history"].pop()
        assert last["verb"] == "imported", task["title"]
        assert last["actor"] == {"email": importer.email, "name": importer.name}
        assert last["detail"] == {"source": "a Taskboard export"}
    return doc


def assert_equal_projects(before: dict[str, Any], after: dict[str, Any], importer: ApiUser) -> None:
    assert not ids_of(before) & ids_of(after), "an import gives new ids"
    assert after["project"]["owner"] == {"email": importer.email, "name": importer.name}
    found = differences(comparable(before), comparable(without_import_entry(after, importer)))
    assert found == [], "\n".join(found)


def tasks_by_title(user: ApiUser, project_id: str) -> dict[str, dict[str, Any]]:
    listed = user.get(f"{API}/projects/{project_id}/tasks?per_page=100").json
    assert len(listed) < 100
    return {t["title"]: t for t in listed}


# Round trips ----------------------------------------------------------------------------


def test_the_export_describes_the_whole_project(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    world = build_rich_project(alice, bob)
    doc = export_json(bob, world["id"])  # any member may export
    assert doc["format"] == "taskboard.project" and doc["version"] == 1
    assert doc["project"]["title"] == "Website relaunch"
    assert doc["project"]["owner"] == {"email": alice.email, "name": alice.name}
    assert [m["email"] for m in doc["members"]] == [alice.email, bob.email]
    assert [(c["name"], c["category"], c["wip_limit"]) for c in doc["columns"]] == [
        ("Backlog", "todo", None),
        ("To Do", "todo", None),
        ("Doing", "in_progress", 3),
        ("Review", "in_progress", 2),
        ("Done", "done", None),
    ]
    assert [c["id"] for c in doc["columns"]] == list(world["columns"].values())
    assert [(label["name"], label["color"]) for label in doc["labels"]] == [
        ("Bug", "red"),
        ("Feature", "green"),
        ("Ops & infra", "blue"),
    ]
    column_name = {c["id"]: c["name"] for c in doc["columns"]}
    label_name = {label["id"]: label["name"] for label in doc["labels"]}
    # In board order: column by column, each by position.
    assert [(column_name[t["column"]], t["position"], t["title"]) for t in doc["tasks"]] == [
        ("Backlog", 0, "Someday"),
        ("To Do", 0, "Design header"),
        ("To Do", 1, "Write copy"),
        ("Doing", 0, "Set up CI"),
        ("Review", 0, "Review PR #12"),
        ("Done", 0, "Launch"),
    ]
    # The trash is not part of the export.
    assert "Old idea" not in json.dumps(doc)
    (trashed,) = alice.get(f"{API}/projects/{world['id']}/trash").json
    assert trashed["task_id"] == world["trashed"]

    tasks = {t["title"]: t for t in doc["tasks"]}
    copy_task = tasks["Write copy"]
    assert copy_task["id"] == world["tasks"]["copy"]
    assert copy_task["description"] == "Home page and *about*.\n\n“Quotes”, tabs\tand ünïcödé."
    assert copy_task["due_date"] == "2031-05-07T09:00:00Z"
    assert copy_task["created_by"] == {"email": alice.email, "name": alice.name}
    assert [label_name[key] for key in copy_task["labels"]] == ["Bug"]
    assert copy_task["assignees"] == [{"email": bob.email, "name": bob.name}]
    assert copy_task["checklist"] == [
        {"text": "Proofread", "done": False},
        {"text": "Outline", "done": True},
        {"text": "Draft", "done": True},
    ]
    first, second = copy_task["comments"]
    assert (first["author"]["email"], first["body"], first["edited_at"]) == (
        alice.email,
        "First draft is up.",
        None,
    )
    assert second["author"]["email"] == bob.email and second["body"] == "Looks good!"
    assert second["edited_at"] is not None and second["edited_at"] >= second["created_at"]
    verbs = [entry["verb"] for entry in copy_task["history"]]
    assert verbs[:3] == ["created", "assignee_added", "label_added"]
    for verb in ("title_changed", "due_date_changed", "checklist_item_added", "commented"):
        assert verb in verbs
    assert verbs.count("attachment_added") == 2
    retitled = next(e for e in copy_task["history"] if e["verb"] == "title_changed")
    assert retitled["detail"] == {"from": "Write cpy", "to": "Write copy"}
    png, notes = copy_task["attachments"]
    assert (png["filename"], png["content_type"], png["size"]) == (
        "Screenshot 2026-12-03 at 10.00.png",
        "image/png",
        len(PNG),
    )
    assert png["uploaded_by"]["email"] == alice.email
    assert (notes["filename"], notes["content_type"], notes["size"]) == (
        "notes (final).txt",
        "text/plain",
        len(NOTES),
    )
    assert notes["uploaded_by"]["email"] == bob.email
    assert [label_name[key] for key in tasks["Design header"]["labels"]] == ["Bug", "Feature"]
    assert tasks["Set up CI"]["created_by"]["email"] == bob.email
    moved = [e for e in tasks["Review PR #12"]["history"] if e["verb"] == "status_changed"]
    assert moved and moved[0]["detail"]["to_column"] == "Review"
    assert moved[0]["actor"]["email"] == bob.email
    assert tasks["Someday"]["checklist"] == [] and tasks["Someday"]["attachments"] == []


def test_export_json_imports_into_an_equal_project(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = build_rich_project(alice, bob)
    before = export_json(alice, world["id"])
    started = datetime.now(UTC)
    made = send(alice, json.dumps(before).encode(), "project-export.json")
    project = _ok(made, 201)
    assert made.headers["ETag"]
    assert project["id"] != world["id"] and project["title"] == "Website relaunch"
    assert project["owner"]["id"] == alice.id
    assert {m["email"] for m in project["members"]} == {alice.email, bob.email}
    assert datetime.fromisoformat(project["created_at"]) >= started.replace(microsecond=0)

    after = export_json(alice, project["id"])
    # A .json export has the attachments' metadata but not their bytes: nothing to attach.
    expected = copy.deepcopy(before)
    for task in expected["tasks"]:
        task["attachments"] = []
    assert_equal_projects(expected, after, alice)

    # The new project works like any other: board, counts, trash, the old one untouched.
    columns = alice.get(f"{API}/projects/{project['id']}/columns").json
    assert [(c["name"], c["task_count"], c["wip_limit"]) for c in columns] == [
        ("Backlog", 1, None),
        ("To Do", 2, None),
        ("Doing", 1, 3),
        ("Review", 1, 2),
        ("Done", 1, None),
    ]
    cards = tasks_by_title(bob, project["id"])
    assert cards["Write copy"]["checklist"] == {"done": 2, "total": 3}
    assert cards["Write copy"]["attachment_count"] == 0
    assert [u["id"] for u in cards["Write copy"]["assignees"]] == [bob.id]
    assert cards["Write copy"]["created_by"]["id"] == alice.id
    assert alice.get(f"{API}/projects/{project['id']}/trash").json == []
    comments = bob.get(f"{API}/tasks/{cards['Write copy']['id']}/comments").json
    assert [(c["author"]["id"], c["body"]) for c in comments] == [
        (alice.id, "First draft is up."),
        (bob.id, "Looks good!"),
    ]
    # The original is untouched.
    assert differences(export_json(alice, world["id"]), before | {"exported_at": ANY}) == []


def test_export_zip_imports_with_every_file_byte_for_byte(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = build_rich_project(alice, bob)
    data = export_zip(alice, world["id"])
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(archive.namelist())
        document = json.loads(archive.read("project.json"))
        originals = {
            f["filename"]: archive.read(f"files/{f['id']}")
            for t in document["tasks"]
            for f in t["attachments"]
        }
    assert originals == {
        "Screenshot 2026-12-03 at 10.00.png": PNG,
        "notes (final).txt": NOTES,
        "build.log": LOG,
    }
    assert len(names) == 4 and "project.json" in names
    before = export_json(alice, world["id"])
    assert differences(comparable(document), comparable(before)) == []

    project = _ok(send(alice, data, "project.zip"), 201)
    after = export_json(alice, project["id"])
    assert_equal_projects(before, after, alice)

    downloaded = {}
    for task in tasks_by_title(alice, project["id"]).values():
        for file in alice.get(f"{API}/tasks/{task['id']}/attachments").json:
            got = bob.get(f"{API}/attachments/{file['id']}/download")
            assert got.status_code == 200
            downloaded[file["filename"]] = got.data
    assert downloaded == originals
    with app.app_context():
        keys = storage().keys()
    assert len(keys) == 6  # three files of the original, three of the copy

    # And the copy exports to the same zip again (its own new ids aside).
    again = export_zip(alice, project["id"])
    with zipfile.ZipFile(io.BytesIO(again)) as archive:
        assert json.loads(archive.read("project.json"))["project"]["id"] == project["id"]
        assert sorted(
            archive.read(n) for n in archive.namelist() if n.startswith("files/")
        ) == sorted(originals.values())


def test_another_member_imports_it_with_the_same_people(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """bob imports alice's project on the same instance: bob owns the copy, alice is a
    member of it, and everything else — authors, assignees, uploaders — stays as it was."""
    world = build_rich_project(alice, bob)
    before = export_json(alice, world["id"])
    project = _ok(send(bob, export_zip(alice, world["id"]), "project.zip"), 201)
    assert project["owner"]["id"] == bob.id
    assert {m["id"] for m in project["members"]} == {alice.id, bob.id}
    after = export_json(bob, project["id"])
    assert_equal_projects(before, after, bob)
    # alice sees the copy as a member; only bob, its owner, manages its members.
    assert project["id"] in {p["id"] for p in alice.get(f"{API}/projects").json}
    assert_error(alice.delete(f"{API}/projects/{project['id']}/members/{bob.id}"), 403)


@pytest.fixture
def other_instance(tmp_path: Any) -> Iterator[FlaskClient]:
    """A second Taskboard instance (its own SQLite database and file storage)."""
    other = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'other.db'}",
            "HUEY_SQLITE_PATH": str(tmp_path / "other-huey.db"),
            "MAIL_OUTBOX_DIR": str(tmp_path / "other-outbox"),
            "ATTACHMENT_STORAGE": str(tmp_path / "other-files"),
        }
    )
    with other.app_context():
        db.create_all()
    yield other.test_client()
    with other.app_context():
        db.engine.dispose()


def test_on_another_instance_people_without_an_account_are_left_out(
    app: Flask, alice: ApiUser, bob: ApiUser, other_instance: FlaskClient
) -> None:
    """The zip moves to an instance where alice has an account and bob has none; carol
    imports it. bob's assignments are dropped, his comments and history are kept under
    carol's name with his, his cards and files are carol's; alice keeps hers."""
    world = build_rich_project(alice, bob)
    before = export_json(alice, world["id"])
    data = export_zip(alice, world["id"])
    carol = register(other_instance, "carol@example.com", "Carol Chen")
    there = register(other_instance, alice.email, "Alice on the other side")

    project = _ok(send(carol, data, "project.zip"), 201)
    assert project["owner"]["id"] == carol.id
    assert {m["email"] for m in project["members"]} == {carol.email, alice.email}
    after = export_json(carol, project["id"])
    carol_p = {"email": carol.email, "name": carol.name}
    alice_p = {"email": alice.email, "name": there.name}  # the name of her account there

    expected = copy.deepcopy(before)
    expected["members"] = [{"email": alice.email, "name": there.name}]
    for task in expected["tasks"]:
        people = [task["created_by"], *task["assignees"]]
        people += [c["author"] for c in task["comments"]]
        people += [e["actor"] for e in task["history"]] + [
            f["uploaded_by"] for f in task["attachments"]
        ]
        assert {p["email"] for p in people} <= {alice.email, bob.email}
        task["assignees"] = [alice_p for p in task["assignees"] if p["email"] == alice.email]
        if task["created_by"]["email"] == bob.email:
            task["created_by"] = carol_p
        for comment in task["comments"]:
            if comment["author"]["email"] == bob.email:
                moment = datetime.fromisoformat(comment["created_at"])
                comment["body"] = f"Bob Brown on {moment:%Y-%m-%d %H:%M} UTC:\n\n{comment['body']}"
                comment["author"] = carol_p
        for entry in task["history"]:
            if entry["actor"]["email"] == bob.email:
                entry["actor"] = carol_p
                entry["detail"] = {**entry["detail"], "by": "Bob Brown"}
        for file in task["attachments"]:
            if file["uploaded_by"]["email"] == bob.email:
                file["uploaded_by"] = carol_p
        for person in people:
            if person["email"] == alice.email:
                person["name"] = there.name
    expected["project"]["owner"] = carol_p
    expected["members"].append(carol_p)
    found = differences(comparable(expected), comparable(without_import_entry(after, carol)))
    assert found == [], "\n".join(found)

    # Spot checks through the API of the other instance.
    cards = tasks_by_title(carol, project["id"])
    assert cards["Write copy"]["assignees"] == []
    assert [u["email"] for u in cards["Design header"]["assignees"]] == [alice.email]
    assert cards["Set up CI"]["created_by"]["id"] == carol.id
    comments = carol.get(f"{API}/tasks/{cards['Write copy']['id']}/comments").json
    assert comments[0]["author"]["id"] == there.id
    assert comments[1]["author"]["id"] == carol.id
    assert comments[1]["body"].startswith("Bob Brown on ")
    assert comments[1]["body"].endswith(" UTC:\n\nLooks good!")
    files = carol.get(f"{API}/tasks/{cards['Set up CI']['id']}/attachments").json
    assert [f["uploaded_by"]["id"] for f in files] == [carol.id]
    assert carol.get(f"{API}/attachments/{files[0]['id']}/download").data == LOG


def test_a_deactivated_account_counts_as_none(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    from taskboard.models import User

    world = build_rich_project(alice, bob)
    doc = export_json(alice, world["id"])
    with app.app_context():
        user = db.session.get(User, uuid.UUID(bob.id))
        user.is_active = False
        db.session.commit()
    project = _ok(send(alice, json.dumps(doc).encode()), 201)
    assert [m["id"] for m in project["members"]] == [alice.id]
    cards = tasks_by_title(alice, project["id"])
    assert cards["Write copy"]["assignees"] == []
    assert cards["Set up CI"]["created_by"]["id"] == alice.id


# Documents written by hand or by other tools ----------------------------------------------


def test_a_minimal_document_imports_with_defaults(app: Flask, alice: ApiUser) -> None:
    doc = {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "  Bare  "},
        "columns": [{"name": "Only"}],
        "tasks": [{"column": "0", "title": "One"}, {"column": 0, "title": "Two", "x-tool": 1}],
        "something-new": {"ignored": True},
    }
    project = _ok(send(alice, json.dumps(doc).encode()), 201)
    assert project["title"] == "Bare" and project["description"] == ""
    columns = alice.get(f"{API}/projects/{project['id']}/columns").json
    assert (columns[0]["name"], columns[0]["category"], columns[0]["task_count"]) == (
        "Only",
        "todo",
        2,
    )
    # Every category keeps a column (SPEC §9), whatever the document had.
    assert {c["category"] for c in columns} == {"todo", "in_progress", "done"}
    listed = alice.get(f"{API}/projects/{project['id']}/tasks").json
    assert [(t["title"], t["position"], t["status"]) for t in listed] == [
        ("One", 0, "todo"),
        ("Two", 1, "todo"),
    ]
    assert listed[0]["created_by"]["id"] == alice.id and listed[0]["due_date"] is None


def test_undated_comments_keep_the_order_of_the_document(app: Flask, alice: ApiUser) -> None:
    """Comments are listed by date; those without one are dated at the import, and still
    come back in the order the document gives them."""
    bodies = [f"Comment {i}" for i in range(12)]
    doc = {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "Talk"},
        "columns": [{"name": "To Do"}, {"name": "Doing", "category": "in_progress"}],
        "tasks": [
            {
                "column": 0,
                "title": "Chatty",
                "comments": [{"author": {"email": alice.email}, "body": b} for b in bodies],
            }
        ],
    }
    project = _ok(send(alice, json.dumps(doc).encode()), 201)
    (task,) = alice.get(f"{API}/projects/{project['id']}/tasks").json
    listed = alice.get(f"{API}/tasks/{task['id']}/comments").json
    assert [c["body"] for c in listed] == bodies
    assert [c["body"] for c in export_json(alice, project["id"])["tasks"][0]["comments"]] == bodies


def test_trashed_cards_of_a_document_go_to_the_new_projects_trash(
    app: Flask, alice: ApiUser
) -> None:
    doc = {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "With trash"},
        "columns": [{"id": "a", "name": "To Do"}, {"id": "b", "name": "Done", "category": "done"}],
        "tasks": [
            {
                "column": "a",
                "title": "Gone",
                "trashed": True,
                "comments": [{"author": {"email": alice.email, "name": "A"}, "body": "kept"}],
            },
            {"column": "a", "title": "Here"},
            {"column": "a", "title": "Also here"},
            {"column": "b", "title": "Finished"},
        ],
    }
    project = _ok(send(alice, json.dumps(doc).encode()), 201)
    listed = alice.get(f"{API}/projects/{project['id']}/tasks").json
    assert [(t["title"], t["position"]) for t in listed] == [
        ("Here", 0),
        ("Also here", 1),
        ("Finished", 0),
    ]
    (entry,) = alice.get(f"{API}/projects/{project['id']}/trash").json
    assert entry["title"] == "Gone"
    restored = _ok(alice.post(f"{API}/tasks/{entry['task_id']}/restore"))
    assert (restored["title"], restored["position"]) == ("Gone", 2)
    comments = alice.get(f"{API}/tasks/{entry['task_id']}/comments").json
    assert [c["body"] for c in comments] == ["kept"]


# Refused files: a clear 4xx, nothing written ---------------------------------------------


@pytest.fixture
def sample(alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    """A small valid export: two columns, a label, a card with every list filled."""
    project = alice.create_project("Sample")
    pid = project["id"]
    alice.add_member(pid, bob)
    label = _ok(
        alice.post(f"{API}/projects/{pid}/labels", json={"name": "Bug", "color": "red"}), 201
    )
    task = alice.create_task(pid, "Card", label_ids=[label["id"]], assignee_ids=[bob.id])
    _ok(alice.post(f"{API}/tasks/{task['id']}/checklist", json={"text": "Step"}), 201)
    _ok(bob.post(f"{API}/tasks/{task['id']}/comments", json={"body": "Hi"}), 201)
    upload(alice, task["id"], PNG, "a.png")
    upload(alice, task["id"], LOG, "b.log")
    return {"id": pid, "doc": export_json(alice, pid), "zip": export_zip(alice, pid)}


def _changed(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bytes]:
    def build(doc: dict[str, Any]) -> bytes:
        doc = copy.deepcopy(doc)
        change(doc)
        return json.dumps(doc).encode()

    return build


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], bytes]:
    """The sample document with the value at `path` (e.g. "tasks.0.title") replaced."""

    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[int(last) if isinstance(target, list) else last] = value

    return _changed(change)


def _raw(data: bytes) -> Callable[[dict[str, Any]], bytes]:
    return lambda _doc: data


BAD_DOCUMENTS = [
    # (id, the file, status, field, words of the message)
    ("not-json", _raw(b"this is not JSON {"), 422, "file", "not valid JSON"),
    ("truncated-json", lambda d: json.dumps(d).encode()[:-40], 422, "file", "not valid JSON"),
    ("not-utf8", _raw(b'{"title": "\xff\xfe"}'), 422, "file", "not UTF-8"),
    ("empty", _raw(b""), 422, "file", "not valid JSON"),
    ("a-list", _raw(b"[1, 2, 3]"), 422, "document", "must be an object"),
    (
        "trello-json",
        _raw(b'{"name": "Board", "lists": [], "cards": []}'),
        422,
        "format",
        "not a Taskboard",
    ),
    ("wrong-format", _set("format", "kanboard.project"), 422, "format", "not a Taskboard"),
    ("newer-version", _set("version", 2), 422, "version", "newer"),
    ("version-text", _set("version", "1"), 422, "version", "must be a number"),
    ("no-project", _set("project", None), 422, "project", "must be an object"),
    ("no-columns", _set("columns", []), 422, "columns", "at least one column"),
    ("tasks-not-list", _set("tasks", {"a": 1}), 422, "tasks", "must be a list"),
    (
        "missing-column",
        _set("tasks.0.column", "no-such-column"),
        422,
        "tasks[0].column",
        "names no column",
    ),
    (
        "missing-label",
        _set("tasks.0.labels", ["nope"]),
        422,
        "tasks[0].labels[0]",
        "names no label",
    ),
    ("long-title", _set("tasks.0.title", "x" * 256), 422, "tasks[0].title", "at most 255"),
    ("empty-title", _set("tasks.0.title", "   "), 422, "tasks[0].title", "must not be empty"),
    ("title-number", _set("tasks.0.title", 7), 422, "tasks[0].title", "must be text"),
    ("long-project-title", _set("project.title", "p" * 256), 422, "project.title", "at most 255"),
    (
        "long-description",
        _set("tasks.0.description", "d" * 10_001),
        422,
        "tasks[0].description",
        "at most 10000",
    ),
    (
        "long-comment",
        _set("tasks.0.comments.0.body", "c" * 10_001),
        422,
        "tasks[0].comments[0].body",
        "at most 10000",
    ),
    (
        "long-checklist",
        _set("tasks.0.checklist.0.text", "t" * 501),
        422,
        "tasks[0].checklist[0].text",
        "at most 500",
    ),
    (
        "done-text",
        _set("tasks.0.checklist.0.done", "yes"),
        422,
        "tasks[0].checklist[0].done",
        "true or false",
    ),
    ("long-column", _set("columns.0.name", "n" * 61), 422, "columns[0].name", "at most 60"),
    ("same-column", _set("columns.1.name", "to do"), 422, "columns[1].name", "already named"),
    (
        "bad-category",
        _set("columns.0.category", "blocked"),
        422,
        "columns[0].category",
        "must be one of",
    ),
    ("wip-zero", _set("columns.0.wip_limit", 0), 422, "columns[0].wip_limit", "1 to 999"),
    ("long-label", _set("labels.0.name", "l" * 41), 422, "labels[0].name", "at most 40"),
    ("bad-color", _set("labels.0.color", "chartreuse"), 422, "labels[0].color", "must be one of"),
    ("bad-date", _set("tasks.0.due_date", "next Tuesday"), 422, "tasks[0].due_date", "ISO 8601"),
    (
        "bad-year",
        _set("tasks.0.created_at", "0001-01-01T00:00:00Z"),
        422,
        "tasks[0].created_at",
        "1900",
    ),
    (
        "bad-verb",
        _set("tasks.0.history.0.verb", "hacked"),
        422,
        "tasks[0].history[0].verb",
        "not a kind",
    ),
    (
        "bad-person",
        _set("tasks.0.assignees.0", "bob"),
        422,
        "tasks[0].assignees[0]",
        "must be an object",
    ),
    ("control-chars", _set("tasks.0.title", "a\x00b"), 422, "tasks[0].title", ""),
    ("trashed-text", _set("tasks.0.trashed", "no"), 422, "tasks[0].trashed", "true or false"),
]


def refusals(app: Flask, cases: list[tuple[Any, ...]], check: Callable[..., None]) -> list[str]:
    """Every case of `cases` checked on its own, nothing written by any: what went wrong,
    by the case's name (all cases run, so one failure shows every other one too)."""
    wrong = []
    with app.app_context():
        keys = storage().keys()
    for name, *case in cases:
        counts = table_counts(app)
        try:
            check(*case)
            assert table_counts(app) == counts, "rows were written"
            with app.app_context():
                assert storage().keys() == keys, "files were stored"
        except AssertionError as exc:
            wrong.append(f"{name}: {exc}")
    return wrong


def test_a_wrong_document_imports_nothing(
    app: Flask, alice: ApiUser, sample: dict[str, Any]
) -> None:
    """Each of BAD_DOCUMENTS: its status, the field and the message naming the culprit."""

    def check(make: Callable[[dict[str, Any]], bytes], status: int, field: str, words: str) -> None:
        body = assert_error(send(alice, make(sample["doc"])), status, field)
        assert words in body["message"], body
        if "[" in field or "." in field:
            assert body["message"].startswith(field), body  # the path of the culprit

    wrong = refusals(app, BAD_DOCUMENTS, check)
    assert wrong == [], "\n".join(wrong)
    assert [p["title"] for p in alice.get(f"{API}/projects").json] == ["Sample"]


def test_the_path_names_the_culprit_deep_in_a_long_document(
    app: Flask, alice: ApiUser, sample: dict[str, Any]
) -> None:
    doc = copy.deepcopy(sample["doc"])
    template = doc["tasks"][0]
    doc["tasks"] = [{**template, "title": f"Card {i}", "attachments": []} for i in range(20)]
    doc["tasks"][12]["title"] = "x" * 300
    counts = table_counts(app)
    body = assert_error(send(alice, json.dumps(doc).encode()), 422, "tasks[12].title")
    assert body["message"].startswith("tasks[12].title")
    assert table_counts(app) == counts


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _bomb(name: str, size: int, extra: dict[str, bytes] | None = None) -> bytes:
    """A zip whose member `name` is `size` zero bytes, deflated (about 1 KiB per MiB),
    written in pieces so that the test does not hold it whole either."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for member, content in (extra or {}).items():
            archive.writestr(member, content)
        with archive.open(name, "w") as member:
            block = b"\x00" * MiB
            for _ in range(size // MiB):
                member.write(block)
    return out.getvalue()


def _headers(data: bytes, name: str) -> tuple[int, int, int]:
    """Where member `name`'s local header and central directory entry start, and where
    its compressed bytes do."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        local = archive.getinfo(name).header_offset
        central = archive.start_dir
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    while data[central : central + 4] == b"PK\x01\x02":
        name_len, extra_len, comment_len = struct.unpack("<HHH", data[central + 28 : central + 34])
        if data[central + 46 : central + 46 + name_len] == name.encode():
            break
        central += 46 + name_len + extra_len + comment_len
    else:
        raise AssertionError(f"{name} is not in the central directory")
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    return local, central, local + 30 + name_len + extra_len


def _declare(data: bytes, name: str, size: int) -> bytes:
    """The zip with the uncompressed size of member `name` rewritten to `size` in its
    local header and its central directory entry (what a zip bomb lies about)."""
    buf = bytearray(data)
    local, central, _ = _headers(data, name)
    buf[local + 22 : local + 26] = struct.pack("<I", size)
    buf[central + 24 : central + 28] = struct.pack("<I", size)
    return bytes(buf)


def _corrupt_member(data: bytes, name: str, *, at_start: bool = False) -> bytes:
    """The zip with 8 bytes of member `name`'s deflated bytes overwritten: in the middle
    (the data inflates to something else), or at the start (it does not inflate at all)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        compressed = archive.getinfo(name).compress_size
    buf = bytearray(data)
    start = _headers(data, name)[2] + (0 if at_start else compressed // 2)
    buf[start : start + 8] = b"\xff" * 8
    return bytes(buf)


def _flagged(data: bytes, name: str, *, flag: int = 0, method: int | None = None) -> bytes:
    """The zip with member `name` marked with a general purpose `flag` bit (1: encrypted)
    or another compression `method`, in both of its headers."""
    buf = bytearray(data)
    local, central, _ = _headers(data, name)
    for flags_at in (local + 6, central + 8):
        buf[flags_at] |= flag
        if method is not None:
            buf[flags_at + 2 : flags_at + 4] = struct.pack("<H", method)
    return bytes(buf)


def _sample_zip_without_document(sample: dict[str, Any]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(sample["zip"])) as archive:
        files = {n: archive.read(n) for n in archive.namelist() if n != "project.json"}
    return _zip({"export/project.json": json.dumps(sample["doc"]).encode(), **files})


BAD_ZIPS = [
    ("no-project-json", _sample_zip_without_document, 422, "no project.json"),
    ("empty-zip", lambda s: _zip({}), 422, "no project.json"),
    ("empty-file", lambda s: b"", 422, "not valid JSON"),
    ("cut-in-half", lambda s: s["zip"][: len(s["zip"]) // 2], 422, "damaged"),
    ("only-a-signature", lambda s: b"PK\x03\x04" + b"\x00" * 100, 422, "damaged"),
    ("damaged-document", lambda s: _corrupt_member(s["zip"], "project.json"), 422, "damaged"),
    (
        "document-not-deflate",
        lambda s: _corrupt_member(s["zip"], "project.json", at_start=True),
        422,
        "damaged",
    ),
    ("encrypted", lambda s: _flagged(s["zip"], "project.json", flag=1), 422, "encrypted"),
    (
        "unknown-method",
        lambda s: _flagged(s["zip"], "project.json", method=99),
        422,
        "compressed in a way",
    ),
    (
        "document-not-json",
        lambda s: _zip({"project.json": b"<html>", "files/x": b"y"}),
        422,
        "not valid JSON",
    ),
    (
        "stored-document-wrong-format",
        lambda s: _zip({"project.json": b'{"format": "other"}'}, zipfile.ZIP_STORED),
        422,
        "not a Taskboard",
        "format",  # the culprit, when not the file itself
    ),
]


def test_a_wrong_zip_imports_nothing(app: Flask, alice: ApiUser, sample: dict[str, Any]) -> None:
    """Each of BAD_ZIPS: a clear 4xx, and no row or file written."""

    def check(
        make: Callable[[dict[str, Any]], bytes], status: int, words: str, field: str = "file"
    ) -> None:
        body = assert_error(send(alice, make(sample), "project.zip"), status, field)
        assert words in body["message"], body

    wrong = refusals(app, BAD_ZIPS, check)
    assert wrong == [], "\n".join(wrong)


@pytest.mark.parametrize("at_start", [False, True], ids=["inflates-wrong", "does-not-inflate"])
def test_a_damaged_attachment_in_the_zip_imports_nothing_and_leaves_no_file(
    app: Flask, alice: ApiUser, sample: dict[str, Any], at_start: bool
) -> None:
    """The first file is stored before the second is found broken: the import is undone,
    stored files included."""
    (task,) = sample["doc"]["tasks"]
    second = f"files/{task['attachments'][1]['id']}"
    counts = table_counts(app)
    with app.app_context():
        keys = storage().keys()
    damaged = _corrupt_member(sample["zip"], second, at_start=at_start)
    body = assert_error(send(alice, damaged, "p.zip"), 422, "file")
    assert "damaged" in body["message"]
    assert table_counts(app) == counts
    with app.app_context():
        assert storage().keys() == keys


def _peak_while(call: Callable[[], Any]) -> tuple[Any, int]:
    """What `call` returned and the peak of memory it allocated meanwhile."""
    tracemalloc.start()
    try:
        result = call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak


BOMB = 256 * MiB  # deflates to about 250 KiB


@pytest.mark.parametrize("member", ["project.json", "files/attachment"])
def test_a_zip_bomb_declaring_a_small_size_is_refused_without_inflating_it(
    app: Flask, alice: ApiUser, sample: dict[str, Any], member: str
) -> None:
    doc = copy.deepcopy(sample["doc"])
    doc["tasks"][0]["attachments"][0]["id"] = "attachment"
    extra = {"project.json": json.dumps(doc).encode()} if member != "project.json" else {}
    data = _declare(_bomb(member, BOMB, extra), member, 2000)
    assert len(data) < MiB
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo(member).file_size == 2000
    counts = table_counts(app)
    with app.app_context():
        keys = storage().keys()
    resp, peak = _peak_while(lambda: send(alice, data, "bomb.zip"))
    assert resp.status_code in (413, 422), resp.get_data(as_text=True)
    assert_error(resp, resp.status_code)
    assert peak < 32 * MiB, f"{peak / MiB:.0f} MiB allocated for a {BOMB // MiB} MiB bomb"
    assert table_counts(app) == counts
    with app.app_context():
        assert storage().keys() == keys


@pytest.mark.parametrize("member", ["project.json", "files/attachment"])
def test_a_zip_bomb_declaring_its_huge_size_is_refused_before_inflating(
    app: Flask, alice: ApiUser, sample: dict[str, Any], member: str
) -> None:
    doc = copy.deepcopy(sample["doc"])
    doc["tasks"][0]["attachments"][0]["id"] = "attachment"
    extra = {"project.json": json.dumps(doc).encode()} if member != "project.json" else {}
    data = _bomb(member, BOMB, extra)
    app.config["IMPORT_MAX_BYTES"] = 2 * MiB  # the zip itself is far smaller
    app.config["ATTACHMENT_PROJECT_MAX_BYTES"] = 10 * MiB
    counts = table_counts(app)
    resp, peak = _peak_while(lambda: send(alice, data, "bomb.zip"))
    body = assert_error(resp, 413)
    assert "larger" in body["message"]
    assert peak < 16 * MiB, f"{peak / MiB:.0f} MiB allocated for a {BOMB // MiB} MiB bomb"
    assert table_counts(app) == counts


def test_a_zip_attachment_over_the_attachment_limit_is_refused(
    app: Flask, alice: ApiUser, sample: dict[str, Any]
) -> None:
    app.config["ATTACHMENT_MAX_BYTES"] = len(LOG) - 1  # b.log is one byte too many
    counts = table_counts(app)
    with app.app_context():
        keys = storage().keys()
    body = assert_error(send(alice, sample["zip"], "p.zip"), 413)
    assert "attachment" in body["message"]
    assert table_counts(app) == counts
    with app.app_context():
        assert storage().keys() == keys  # a.png, stored first, was removed again


def test_zip_attachments_over_the_project_quota_are_refused(
    app: Flask, alice: ApiUser, sample: dict[str, Any]
) -> None:
    app.config["ATTACHMENT_PROJECT_MAX_BYTES"] = len(PNG) + len(LOG) - 1
    counts = table_counts(app)
    with app.app_context():
        keys = storage().keys()
    assert_error(send(alice, sample["zip"], "p.zip"), 413)
    assert table_counts(app) == counts
    with app.app_context():
        assert storage().keys() == keys
    app.config["ATTACHMENT_PROJECT_MAX_BYTES"] = len(PNG) + len(LOG)
    assert send(alice, sample["zip"], "p.zip").status_code == 201


class Unreadable(io.RawIOBase):
    """A request body of `size` bytes that fails the test if anything reads it."""

    def __init__(self, size: int) -> None:
        self.size, self.at = size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self.at = {io.SEEK_SET: 0, io.SEEK_CUR: self.at, io.SEEK_END: self.size}[whence] + offset
        return self.at

    def tell(self) -> int:
        return self.at

    def readinto(self, buffer: Any) -> int:
        raise AssertionError("the body was read")


def test_a_body_over_import_max_bytes_is_refused_unread(
    app: Flask, client: FlaskClient, alice: ApiUser, sample: dict[str, Any]
) -> None:
    app.config["IMPORT_MAX_BYTES"] = 10_000
    counts = table_counts(app)
    resp = client.post(
        f"{API}/projects/import",
        input_stream=Unreadable(10_000_000),
        content_type="multipart/form-data; boundary=xyz",
        headers=alice.headers,
    )
    assert_error(resp, 413)
    # Sent whole: far over the limit, and just over it (within the form's slack).
    padded = json.dumps({**sample["doc"], "padding": "x" * 200_000}).encode()
    assert_error(send(alice, padded), 413)
    just_over = json.dumps({**sample["doc"], "padding": "x" * 10_000}).encode()
    assert 10_000 < len(just_over) < 10_000 + 64 * 1024
    assert_error(send(alice, just_over), 413)
    assert table_counts(app) == counts
    # The same document within the limit imports.
    small = json.dumps(sample["doc"]).encode()
    assert len(small) <= 10_000
    assert send(alice, small).status_code == 201


def test_the_upload_must_be_one_file_named_file(
    app: Flask, alice: ApiUser, sample: dict[str, Any]
) -> None:
    good = json.dumps(sample["doc"]).encode()
    counts = table_counts(app)
    assert_error(send(alice, good, owner="bob@example.com"), 422, "owner")
    resp = alice.post(
        f"{API}/projects/import",
        data={"file": (io.BytesIO(good), "a.json"), "more": (io.BytesIO(good), "b.json")},
        content_type="multipart/form-data",
    )
    assert_error(resp, 422, "more")
    resp = alice.post(
        f"{API}/projects/import",
        data={"document": (io.BytesIO(good), "a.json")},
        content_type="multipart/form-data",
    )
    assert_error(resp, 422)
    no_file = alice.post(f"{API}/projects/import", data={}, content_type="multipart/form-data")
    assert_error(no_file, 422, "file", location="files")
    as_json = alice.post(f"{API}/projects/import", json=sample["doc"])
    assert_error(as_json, 422, "file", location="files")
    assert table_counts(app) == counts


def test_only_members_export_and_only_signed_in_users_import(
    app: Flask, client: FlaskClient, alice: ApiUser, carol: ApiUser, sample: dict[str, Any]
) -> None:
    pid = sample["id"]
    for kind in ("json", "zip", "csv"):
        assert_error(carol.get(f"{API}/projects/{pid}/export.{kind}"), 404)
        assert_error(carol.get(f"{API}/projects/{uuid.uuid4()}/export.{kind}"), 404)
        assert client.get(f"{API}/projects/{pid}/export.{kind}").status_code == 401
    counts = table_counts(app)
    resp = client.post(
        f"{API}/projects/import",
        data={"file": (io.BytesIO(json.dumps(sample["doc"]).encode()), "p.json")},
        content_type="multipart/form-data",
    )
    assert_error(resp, 401)
    assert table_counts(app) == counts


# Scale -------------------------------------------------------------------------------------


def _big_document(tasks: int) -> dict[str, Any]:
    """A project of `tasks` cards, several MB of JSON: every card has a long description,
    a checklist, comments and history."""
    people = [{"email": f"user{i}@example.com", "name": f"User {i}"} for i in range(5)]
    columns = [
        {"id": f"c{i}", "name": name, "category": category, "wip_limit": None}
        for i, (name, category) in enumerate(
            [("Backlog", "todo"), ("To Do", "todo"), ("Doing", "in_progress"), ("Done", "done")]
        )
    ]
    labels = [{"id": f"l{i}", "name": f"Label {i}", "color": "blue"} for i in range(8)]
    paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 30
    return {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "Big board", "description": "Many cards"},
        "members": people,
        "columns": columns,
        "labels": labels,
        "tasks": [
            {
                "id": f"t{i}",
                "title": f"Card number {i}",
                "description": f"{i}: {paragraph}",
                "column": f"c{i % 4}",
                "due_date": f"2031-{i % 12 + 1:02d}-{i % 28 + 1:02d}T12:00:00Z",
                "created_by": people[i % 5],
                "created_at": "2026-01-02T03:04:05Z",
                "labels": [f"l{i % 8}", f"l{(i + 3) % 8}"],
                "assignees": [people[i % 5]],
                "checklist": [{"text": f"Step {j}", "done": j < i % 4} for j in range(3)],
                "comments": [
                    {"author": people[(i + j) % 5], "body": f"Comment {j} on {i}. " * 10}
                    for j in range(2)
                ],
                "history": [{"actor": people[i % 5], "verb": "created", "detail": {}}],
            }
            for i in range(tasks)
        ],
    }


@pytest.mark.slow
def test_an_export_of_two_thousand_cards_imports_whole(app: Flask, alice: ApiUser) -> None:
    doc = _big_document(2000)
    data = json.dumps(doc).encode()
    assert len(data) > 4 * MiB
    first = _ok(send(alice, data, "big.json"), 201)
    exported = export_json(alice, first["id"])
    second = _ok(send(alice, json.dumps(exported).encode(), "big.json"), 201)
    again = export_json(alice, second["id"])
    for one in (exported, again):
        assert len(one["tasks"]) == 2000
        assert sum(len(t["comments"]) for t in one["tasks"]) == 4000
        assert sum(len(t["checklist"]) for t in one["tasks"]) == 6000
    columns = alice.get(f"{API}/projects/{second['id']}/columns").json
    assert [c["task_count"] for c in columns] == [500, 500, 500, 500]
    found = differences(comparable(exported), comparable(without_import_entry(again, alice)))
    assert found == [], "\n".join(found[:20])


def _document(**task: Any) -> dict[str, Any]:
    return {
        "format": "taskboard.project",
        "version": 1,
        "project": {"title": "Hand made"},
        "columns": [{"id": "c", "name": "To Do", "category": "todo"}],
        "tasks": [{"column": "c", "title": "One", **task}],
    }


def test_one_file_named_by_two_attachments_is_refused_not_stored_twice(
    app: Flask, alice: ApiUser
) -> None:
    doc = _document(attachments=[{"id": "x", "filename": f"{n}.bin"} for n in range(40)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("project.json", json.dumps(doc))
        archive.writestr("files/x", b"\0" * (1024 * 1024))
    before = table_counts(app)
    resp = send(alice, buffer.getvalue(), "bomb.zip")
    assert_error(resp, 422, "tasks[0].attachments[1].id")
    assert table_counts(app) == before


def test_history_details_the_card_page_cannot_show_are_refused(
    app: Flask, client: Any, alice: ApiUser
) -> None:
    for detail in ({"from": [1]}, {"to": {"a": 1}}, {"to": 5}, {"x" * 41: "y"}):
        doc = _document(history=[{"verb": "status_changed", "detail": detail}])
        resp = send(alice, json.dumps(doc).encode())
        assert_error(resp, 422)
        assert resp.json["message"].startswith("tasks[0].history[0].detail."), detail
    fine = _document(history=[{"verb": "due_date_changed", "detail": {"to": "2030-01-01"}}])
    made = send(alice, json.dumps(fine).encode())
    assert made.status_code == 201, made.json
    (task,) = alice.get(f"{API}/projects/{made.json['id']}/tasks").json
    from webutil import web_login

    web_login(client, alice.email)
    assert client.get(f"/tasks/{task['id']}").status_code == 200


def test_archived_cards_go_to_the_trash_in_a_bounded_number_of_statements(
    app: Flask, alice: ApiUser, count_queries: Any
) -> None:
    def statements(archived: int) -> int:
        doc = _document()
        doc["tasks"] = [
            {"column": "c", "title": f"Card {n}", "trashed": n < archived} for n in range(120)
        ]
        with count_queries() as counter:
            assert send(alice, json.dumps(doc).encode()).status_code == 201
        return counter.count

    assert statements(100) == statements(10)


def test_members_matched_by_an_import_are_told_they_were_added(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    doc = _document()
    doc["members"] = [{"email": bob.email, "name": "Bob"}]
    made = send(alice, json.dumps(doc).encode())
    assert made.status_code == 201, made.json
    (note,) = bob.get(f"{API}/users/me/notifications").json
    assert note["kind"] == "added_to_project" and note["project_id"] == made.json["id"]

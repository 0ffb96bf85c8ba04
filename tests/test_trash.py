"""The trash: deleted tasks and projects are kept for TRASH_DAYS, restorable with
everything they had, invisible everywhere else, and purged by a job."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from conftest import ApiUser, assert_error, table_counts
from flask import Flask

from taskboard.extensions import db
from taskboard.models import Notification, TrashItem, utcnow
from taskboard.services import trash

API = "/api/v1"


def _full_card(alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    project = alice.create_project("Trash")
    alice.add_member(project["id"], bob)
    label = alice.post(
        f"{API}/projects/{project['id']}/labels", json={"name": "Bug", "color": "red"}
    ).json
    first = alice.create_task(project["id"], "First")
    task = alice.create_task(
        project["id"],
        "Keep me",
        description="All of it",
        assignee_ids=[bob.id],
        label_ids=[label["id"]],
        due_date="2030-01-01T12:00:00Z",
    )
    last = alice.create_task(project["id"], "Last")
    assert alice.post(f"{API}/tasks/{task['id']}/comments", json={"body": "A word"}).status_code
    item = alice.post(f"{API}/tasks/{task['id']}/checklist", json={"text": "Step"})
    assert item.status_code == 201, item.json
    return {"project": project, "task": task, "first": first, "last": last, "label": label}


def test_a_deleted_task_goes_to_the_trash_and_comes_back_with_everything(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = _full_card(alice, bob)
    pid, tid = world["project"]["id"], world["task"]["id"]
    got = alice.get(f"{API}/tasks/{tid}")
    before, etag = got.json, got.headers["ETag"]
    comments = alice.get(f"{API}/tasks/{tid}/comments").json
    history = alice.get(f"{API}/tasks/{tid}/activity").json
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204

    # Gone from everything else …
    assert alice.get(f"{API}/tasks/{tid}").status_code == 404
    listed = alice.get(f"{API}/projects/{pid}/tasks").json
    assert [t["title"] for t in listed] == ["First", "Last"]
    assert [t["position"] for t in listed] == [0, 1]
    assert alice.get(f"{API}/tasks?assignee={bob.id}").json == []
    csv = alice.get(f"{API}/projects/{pid}/export.csv").data.decode("utf-8-sig")
    assert "Keep me" not in csv
    # … but in the trash, for every member.
    (entry,) = bob.get(f"{API}/projects/{pid}/trash").json
    assert entry["kind"] == "task" and entry["task_id"] == tid and entry["title"] == "Keep me"
    assert entry["deleted_by"]["id"] == alice.id
    assert [e["task_id"] for e in bob.get(f"{API}/users/me/trash").json] == [tid]

    restored = bob.post(f"{API}/tasks/{tid}/restore")
    assert restored.status_code == 200, restored.json
    after = restored.json
    for key in (
        "title",
        "description",
        "column_id",
        "status",
        "position",
        "due_date",
        "assignees",
        "labels",
        "checklist",
        "created_at",
    ):
        assert after[key] == before[key], key
    assert restored.headers["ETag"] != etag  # an old ETag no longer matches
    assert alice.get(f"{API}/tasks/{tid}/comments").json == comments
    new_history = alice.get(f"{API}/tasks/{tid}/activity").json
    assert new_history[1:] == history  # newest first
    assert new_history[0]["verb"] == "restored"
    titles = [t["title"] for t in alice.get(f"{API}/projects/{pid}/tasks").json]
    assert titles == ["First", "Keep me", "Last"]
    assert alice.get(f"{API}/projects/{pid}/trash").json == []
    # Restoring twice: it is no longer in the trash.
    assert_error(bob.post(f"{API}/tasks/{tid}/restore"), 404)


def test_restore_goes_to_the_first_column_of_its_category_when_its_column_is_gone(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = _full_card(alice, bob)
    pid, tid = world["project"]["id"], world["task"]["id"]
    doing = alice.post(
        f"{API}/projects/{pid}/columns", json={"name": "Doing later", "category": "todo"}
    ).json
    assert alice.patch(f"{API}/tasks/{tid}", json={"column_id": doing["id"]}).status_code == 200
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204
    assert alice.delete(f"{API}/columns/{doing['id']}").status_code == 204
    # The label is gone too, and bob left the project: the card comes back without them.
    assert alice.delete(f"{API}/labels/{world['label']['id']}").status_code == 204
    assert alice.delete(f"{API}/projects/{pid}/members/{bob.id}").status_code == 204
    after = alice.post(f"{API}/tasks/{tid}/restore").json
    columns = alice.get(f"{API}/projects/{pid}/columns").json
    assert after["column_id"] == columns[0]["id"] and after["status"] == "todo"
    assert after["labels"] == [] and after["assignees"] == []


def test_only_members_see_or_restore_a_project_trash(
    app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    world = _full_card(alice, bob)
    pid, tid = world["project"]["id"], world["task"]["id"]
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204
    assert_error(carol.get(f"{API}/projects/{pid}/trash"), 404)
    assert_error(carol.post(f"{API}/tasks/{tid}/restore"), 404)
    assert carol.get(f"{API}/users/me/trash").json == []
    (entry,) = alice.get(f"{API}/projects/{pid}/trash").json
    assert_error(carol.delete(f"{API}/trash/{entry['id']}"), 404)
    counts = table_counts(app)
    assert_error(carol.post(f"{API}/projects/{pid}/restore"), 404)
    assert table_counts(app) == counts


def test_a_deleted_project_comes_back_whole_for_its_owner_only(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = _full_card(alice, bob)
    pid = world["project"]["id"]
    assert alice.delete(f"{API}/tasks/{world['last']['id']}").status_code == 204
    tasks_before = alice.get(f"{API}/projects/{pid}/tasks").json
    members_before = alice.get(f"{API}/projects/{pid}/members").json
    counts = table_counts(app)
    assert alice.delete(f"{API}/projects/{pid}").status_code == 204

    assert alice.get(f"{API}/projects/{pid}").status_code == 404
    assert [p["id"] for p in bob.get(f"{API}/projects").json] == []
    assert bob.get(f"{API}/tasks").json == []
    assert_error(bob.get(f"{API}/projects/{pid}/trash"), 404)
    mine = alice.get(f"{API}/users/me/trash").json
    assert [(e["kind"], e["project_id"]) for e in mine] == [("project", pid)]
    assert bob.get(f"{API}/users/me/trash").json == []  # a member, not the owner
    assert_error(bob.post(f"{API}/projects/{pid}/restore"), 404)

    restored = alice.post(f"{API}/projects/{pid}/restore")
    assert restored.status_code == 200, restored.json
    assert alice.get(f"{API}/projects/{pid}/tasks").json == tasks_before
    assert alice.get(f"{API}/projects/{pid}/members").json == members_before
    after = table_counts(app)
    for table, count in counts.items():
        if table not in {"trash_items", "board_changes", "activities"}:
            assert after[table] == count, table
    # The task trashed before the project is in its trash again.
    (entry,) = bob.get(f"{API}/projects/{pid}/trash").json
    assert entry["task_id"] == world["last"]["id"]
    assert_error(alice.post(f"{API}/projects/{pid}/restore"), 404)


def test_pending_mail_about_a_trashed_task_is_not_sent_and_the_inbox_hides_it(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = _full_card(alice, bob)
    tid = world["task"]["id"]
    assert bob.get(f"{API}/users/me/notifications").json  # assigned: in bob's inbox
    with app.app_context():
        db.session.execute(sa.update(Notification).values(status="pending"))
        db.session.commit()
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204
    with app.app_context():
        about = db.session.scalars(
            sa.select(Notification.status).where(Notification.task_id == uuid.UUID(tid))
        ).all()
    assert about and set(about) == {"skipped"}
    assert all(e.get("task_id") != tid for e in bob.get(f"{API}/users/me/notifications").json)
    assert bob.post(f"{API}/tasks/{tid}/restore").status_code == 200
    assert any(e.get("task_id") == tid for e in bob.get(f"{API}/users/me/notifications").json)


def test_the_purge_removes_only_what_is_older_than_trash_days(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    world = _full_card(alice, bob)
    pid = world["project"]["id"]
    for key in ("first", "task"):
        assert alice.delete(f"{API}/tasks/{world[key]['id']}").status_code == 204
    with app.app_context():
        old = utcnow() - timedelta(days=app.config["TRASH_DAYS"], minutes=1)
        db.session.execute(
            sa.update(TrashItem).where(TrashItem.title == "First").values(deleted_at=old)
        )
        db.session.commit()
        assert trash.purge() == 1
        assert trash.purge() == 0
    assert [e["title"] for e in alice.get(f"{API}/projects/{pid}/trash").json] == ["Keep me"]
    assert_error(alice.post(f"{API}/tasks/{world['first']['id']}/restore"), 404)


def test_deleting_for_good_and_bad_ids(app: Flask, alice: ApiUser, bob: ApiUser) -> None:
    world = _full_card(alice, bob)
    pid, tid = world["project"]["id"], world["task"]["id"]
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204
    (entry,) = alice.get(f"{API}/projects/{pid}/trash").json
    assert alice.delete(f"{API}/trash/{entry['id']}").status_code == 204
    assert alice.get(f"{API}/projects/{pid}/trash").json == []
    assert_error(alice.post(f"{API}/tasks/{tid}/restore"), 404)
    assert_error(alice.delete(f"{API}/trash/{entry['id']}"), 404)
    assert alice.post(f"{API}/tasks/not-a-uuid/restore").status_code == 404


def test_an_entry_restored_meanwhile_keeps_its_files_when_deleted_for_good(
    app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    """ "Delete for good" and the purge only remove the files of the entries they delete:
    one restored by another member in the meantime keeps its card's files."""
    import io

    world = _full_card(alice, bob)
    pid, tid = world["project"]["id"], world["task"]["id"]
    made = alice.post(
        f"{API}/tasks/{tid}/attachments",
        data={"file": (io.BytesIO(b"keep me"), "keep.txt")},
        content_type="multipart/form-data",
    )
    assert made.status_code == 201
    assert alice.delete(f"{API}/tasks/{tid}").status_code == 204
    (entry,) = alice.get(f"{API}/projects/{pid}/trash").json
    assert bob.post(f"{API}/tasks/{tid}/restore").status_code == 200
    with app.app_context():
        # What a "delete for good" that read the entry before the restore goes on to do.
        assert trash._purge(TrashItem.id == uuid.UUID(entry["id"])) == (0, 0)
        db.session.commit()
    assert_error(alice.delete(f"{API}/trash/{entry['id']}"), 404)
    assert alice.get(f"{API}/attachments/{made.json['id']}/download").data == b"keep me"

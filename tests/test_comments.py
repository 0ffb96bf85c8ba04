"""Editing and deleting comments (SPEC §15): the author edits, the author or the owner
deletes; both are history entries; refusals change nothing. API and pages."""

from __future__ import annotations

from typing import Any

from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, csrf, text, web_login

API = "/api/v1"


def setup(alice: ApiUser, bob: ApiUser, carol: ApiUser) -> dict[str, Any]:
    """Alice owns the project; Bob and Carol are members; Bob has commented."""
    project = alice.create_project()
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    task = alice.create_task(project["id"])
    comment = bob.post(f"{API}/tasks/{task['id']}/comments", json={"body": "first words"})
    assert comment.status_code == 201
    assert comment.json["edited_at"] is None
    return {"project": project, "task": task, "comment": comment.json}


def verbs(user: ApiUser, task_id: str) -> list[str]:
    return [a["verb"] for a in user.get(f"{API}/tasks/{task_id}/activity").json]


def test_the_author_edits_a_comment(app: Flask, alice, bob, carol) -> None:
    world = setup(alice, bob, carol)
    cid, tid = world["comment"]["id"], world["task"]["id"]
    resp = bob.patch(f"{API}/comments/{cid}", json={"body": "  better words  "})
    assert resp.status_code == 200, resp.json
    assert resp.json["body"] == "better words" and resp.json["edited_at"] is not None
    assert resp.json["created_at"] == world["comment"]["created_at"]
    listed = bob.get(f"{API}/tasks/{tid}/comments").json
    assert [(c["body"], c["edited_at"] is not None) for c in listed] == [("better words", True)]
    assert verbs(bob, tid)[0] == "comment_edited"
    # The same text again changes nothing and records nothing.
    again = bob.patch(f"{API}/comments/{cid}", json={"body": "better words"})
    assert again.status_code == 200 and again.json["edited_at"] == resp.json["edited_at"]
    assert verbs(bob, tid).count("comment_edited") == 1


def test_only_the_author_edits_and_bad_text_changes_nothing(app: Flask, alice, bob, carol):
    world = setup(alice, bob, carol)
    cid = world["comment"]["id"]
    before = table_counts(app)
    assert_error(carol.patch(f"{API}/comments/{cid}", json={"body": "mine now"}), 403)
    assert_error(alice.patch(f"{API}/comments/{cid}", json={"body": "owner"}), 403)
    assert_error(bob.patch(f"{API}/comments/{cid}", json={"body": "   "}), 422, "body")
    assert_error(bob.patch(f"{API}/comments/{cid}", json={"body": "x" * 10_001}), 422, "body")
    assert_error(bob.patch(f"{API}/comments/{cid}", json={"text": "x"}), 422)
    assert table_counts(app) == before
    assert bob.get(f"{API}/tasks/{world['task']['id']}/comments").json[0]["body"] == "first words"


def test_outsiders_do_not_see_comments(app: Flask, alice, bob, carol, make_user) -> None:
    world = setup(alice, bob, carol)
    dave = make_user("dave@example.com")
    cid = world["comment"]["id"]
    assert_error(dave.patch(f"{API}/comments/{cid}", json={"body": "x"}), 404)
    assert_error(dave.delete(f"{API}/comments/{cid}"), 404)
    assert_error(bob.delete(f"{API}/comments/00000000-0000-4000-8000-000000000000"), 404)


def test_the_author_or_the_owner_deletes(app: Flask, alice, bob, carol) -> None:
    world = setup(alice, bob, carol)
    tid = world["task"]["id"]
    before = table_counts(app)
    assert_error(carol.delete(f"{API}/comments/{world['comment']['id']}"), 403)
    assert table_counts(app) == before
    assert alice.delete(f"{API}/comments/{world['comment']['id']}").status_code == 204
    assert bob.get(f"{API}/tasks/{tid}/comments").json == []
    history = bob.get(f"{API}/tasks/{tid}/activity").json
    assert history[0]["verb"] == "comment_deleted"
    assert history[0]["detail"]["author"] == "Bob Brown"
    own = carol.post(f"{API}/tasks/{tid}/comments", json={"body": "mine"}).json
    assert carol.delete(f"{API}/comments/{own['id']}").status_code == 204
    assert_error(carol.delete(f"{API}/comments/{own['id']}"), 404)


def test_the_pages_edit_and_delete_comments(
    app: Flask, client: FlaskClient, alice, bob, carol
) -> None:
    world = setup(alice, bob, carol)
    cid, tid = world["comment"]["id"], world["task"]["id"]
    web_login(client, bob.email)
    html = text(client.get(f"/tasks/{tid}"))
    assert ">Edit comment</a>" in html and ">Delete comment</button>" in html
    assert "Comment text" not in html  # the text once, until someone edits it
    editing = text(client.get(f"/tasks/{tid}?edit_comment={cid}"))
    assert f'for="comment-edit-{cid}">Comment text</label>' in editing
    assert ">Save comment</button>" in editing and "first words</textarea>" in editing
    token = csrf(client, f"/tasks/{tid}")

    refused = client.post(f"/comments/{cid}", data={"csrf_token": token, "body": "  "}, headers=HX)
    assert refused.status_code == 422
    assert "Comment must not be empty." in text(refused)
    assert f'for="comment-edit-{cid}">Comment text</label>' in text(refused)

    saved = client.post(f"/comments/{cid}", data={"csrf_token": token, "body": "edited here"})
    assert saved.status_code == 303
    page = text(client.get(f"/tasks/{tid}"))
    assert "edited here" in page and "(edited)" in page and "edited a comment" in page

    ask = client.post(f"/comments/{cid}/delete", data={"csrf_token": token})
    assert ask.status_code == 200 and "Delete this comment?" in text(ask)  # no JS: a question
    assert len(bob.get(f"{API}/tasks/{tid}/comments").json) == 1
    gone = client.post(f"/comments/{cid}/delete", data={"csrf_token": token, "confirm": "yes"},
                       headers=HX)
    assert gone.status_code == 200 and "deleted a comment" in text(gone)
    assert bob.get(f"{API}/tasks/{tid}/comments").json == []


def test_a_member_sees_no_controls_on_others_comments(
    app: Flask, client: FlaskClient, alice, bob, carol
) -> None:
    world = setup(alice, bob, carol)
    web_login(client, carol.email)
    html = text(client.get(f"/tasks/{world['task']['id']}"))
    assert "Edit comment" not in html and "Delete comment" not in html
    owner = app.test_client()
    web_login(owner, alice.email)  # the owner may delete, not edit
    html = text(owner.get(f"/tasks/{world['task']['id']}"))
    assert "Edit comment" not in html and ">Delete comment</button>" in html

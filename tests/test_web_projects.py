"""Projects and account pages: list, create, owner settings, members, delete; profile, password."""

from __future__ import annotations

from conftest import PASSWORD, ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import csrf, csrf_from, text, web_login


def test_projects_list_shows_only_mine_and_creates(
    client: FlaskClient, alice: ApiUser, bob: ApiUser
) -> None:
    alice.create_project("Alice's")
    bob.create_project("Bob's secret")
    token = web_login(client, alice.email)
    page = text(client.get("/projects"))
    assert "Alice&#39;s" in page and "Bob&#39;s secret" not in page
    for label in ("Title", "Description"):
        assert f">{label}</label>" in page
    assert ">Create project</button>" in page
    resp = client.post(
        "/projects", data={"csrf_token": token, "title": "New one", "description": "Why"}
    )
    assert resp.status_code == 303
    project_id = resp.headers["Location"].rsplit("/", 1)[1]
    assert alice.get(f"/api/v1/projects/{project_id}").json["description"] == "Why"


def test_project_title_errors_keep_the_description(
    client: FlaskClient, alice: ApiUser, app: Flask
) -> None:
    token = web_login(client, alice.email)
    before = table_counts(app)
    resp = client.post("/projects", data={"csrf_token": token, "title": "", "description": "Kept"})
    assert resp.status_code == 422
    assert 'id="title-error"' in text(resp) and "Kept" in text(resp)
    assert table_counts(app) == before


def test_settings_are_for_the_owner(
    client: FlaskClient, app: Flask, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project("Owned")
    alice.add_member(project["id"], bob)
    url = f"/projects/{project['id']}/settings"
    member = app.test_client()
    web_login(member, bob.email)
    assert member.get(url).status_code == 403
    assert (
        "Settings"
        not in text(member.get(f"/projects/{project['id']}")).split("board-tools")[1][:400]
    )
    outsider = app.test_client()
    web_login(outsider, carol.email)
    assert outsider.get(url).status_code == 404
    web_login(client, alice.email)
    page = text(client.get(url))
    assert ">Add member</h3>" in page and ">Delete project</button>" in page
    assert 'aria-label="Remove Bob Brown"' in page


def test_rename_add_and_remove_members(
    client: FlaskClient, alice: ApiUser, bob: ApiUser, carol: ApiUser
) -> None:
    project = alice.create_project("Old name")
    pid = project["id"]
    task = alice.create_task(pid, "Shared")
    token = web_login(client, alice.email)
    resp = client.post(
        f"/projects/{pid}/settings",
        data={"csrf_token": token, "title": "New name", "description": ""},
    )
    assert resp.status_code == 303
    assert alice.get(f"/api/v1/projects/{pid}").json["title"] == "New name"
    empty = client.post(
        f"/projects/{pid}/settings", data={"csrf_token": token, "title": " ", "description": "d"}
    )
    assert empty.status_code == 422 and "Title must not be empty." in text(empty)

    for email in (bob.email, carol.email):
        added = client.post(f"/projects/{pid}/members", data={"csrf_token": token, "email": email})
        assert added.status_code == 303
    again = client.post(f"/projects/{pid}/members", data={"csrf_token": token, "email": bob.email})
    assert again.status_code == 422 and "already a member" in text(again)
    malformed = client.post(
        f"/projects/{pid}/members", data={"csrf_token": token, "email": "nobody@example"}
    )
    assert malformed.status_code == 422 and "Not a valid email address." in text(malformed)
    assert 'id="member-email-error"' in text(malformed)
    assert 'value="nobody@example"' in text(malformed)

    alice.patch(f"/api/v1/tasks/{task['id']}", json={"assignee_ids": [bob.id]})
    ask = client.post(f"/projects/{pid}/members/{bob.id}/remove", data={"csrf_token": token})
    assert ask.status_code == 200 and "Remove Bob Brown from “" in text(ask)  # asked first
    assert ">Remove member</button>" in text(ask)
    assert bob.id in [m["id"] for m in alice.get(f"/api/v1/projects/{pid}/members").json]
    removed = client.post(
        f"/projects/{pid}/members/{bob.id}/remove", data={"csrf_token": token, "confirm": "yes"}
    )
    assert removed.status_code == 303
    assert alice.get(f"/api/v1/tasks/{task['id']}").json["assignees"] == []
    owner = client.post(f"/projects/{pid}/members/{alice.id}/remove", data={"csrf_token": token})
    assert owner.status_code == 409


def test_delete_project_asks_first(client: FlaskClient, alice: ApiUser) -> None:
    pid = alice.create_project("Doomed")["id"]
    alice.create_task(pid, "Goes too")
    token = web_login(client, alice.email)
    ask = client.post(f"/projects/{pid}/delete", data={"csrf_token": token})
    assert ask.status_code == 200 and "Delete “Doomed”?" in text(ask)
    assert alice.get(f"/api/v1/projects/{pid}").status_code == 200
    done = client.post(f"/projects/{pid}/delete", data={"csrf_token": token, "confirm": "yes"})
    assert done.status_code == 303 and done.headers["Location"] == "/projects"
    assert alice.get(f"/api/v1/projects/{pid}").status_code == 404


def test_account_profile(client: FlaskClient, alice: ApiUser) -> None:
    token = web_login(client, alice.email)
    page = text(client.get("/account"))
    assert ">Name</label>" in page and ">Change password</button>" in page
    resp = client.post(
        "/account/profile", data={"csrf_token": token, "name": "Alice A.", "notifications": ""}
    )
    assert resp.status_code == 303
    me = alice.get("/api/v1/users/me").json
    assert me["name"] == "Alice A." and me["notifications"] is False
    bad = client.post("/account/profile", data={"csrf_token": token, "name": " "})
    assert bad.status_code == 422 and 'id="profile-name-error"' in text(bad)


def test_change_password_keeps_this_session_and_ends_the_others(
    client: FlaskClient, alice: ApiUser, app: Flask
) -> None:
    other = app.test_client()
    web_login(other, alice.email)
    token = web_login(client, alice.email)
    wrong = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": "not it at all",
            "password": "brand new secret",
            "confirm": "brand new secret",
        },
    )
    assert wrong.status_code == 422 and 'id="pw-current-error"' in text(wrong)
    mismatch = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "password": "brand new secret",
            "confirm": "different",
        },
    )
    assert mismatch.status_code == 422 and "The passwords do not match." in text(mismatch)
    done = client.post(
        "/account/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "password": "brand new secret",
            "confirm": "brand new secret",
        },
    )
    assert done.status_code == 303
    assert client.get("/account").status_code == 200
    assert other.get("/account").status_code == 302
    fresh = app.test_client()
    assert csrf(fresh)
    web_login(fresh, alice.email, "brand new secret")
    assert csrf_from(text(fresh.get("/account")))

"""The board pages: full page and htmx fragments, ETag polling, moves, the card detail, no-JS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, card_ids, column_html, csrf_from, text, web_login


@pytest.fixture
def board(client: FlaskClient, alice: ApiUser) -> dict[str, Any]:
    """Alice, logged in on the pages, with a project of three To Do cards."""
    project = alice.create_project("Launch")
    cards = [alice.create_task(project["id"], title) for title in ("One", "Two", "Three")]
    token = web_login(client, alice.email)
    return {"id": project["id"], "cards": [c["id"] for c in cards], "csrf": token}


def order(alice: ApiUser, project_id: str) -> dict[str, list[str]]:
    tasks = alice.get(f"/api/v1/projects/{project_id}/tasks?per_page=100").json
    columns: dict[str, list[str]] = {"todo": [], "in_progress": [], "done": []}
    for task in tasks:
        columns[task["status"]].append(task["title"])
    return columns


def test_full_page_and_fragment_from_one_url(client: FlaskClient, board: dict) -> None:
    page = client.get(f"/projects/{board['id']}")
    fragment = client.get(f"/projects/{board['id']}", headers=HX)
    assert page.status_code == fragment.status_code == 200
    assert "HX-Request" in page.headers["Vary"] and "HX-Request" in fragment.headers["Vary"]
    assert "<html" in text(page) and "<html" not in text(fragment)
    for html in (text(page), text(fragment)):
        for status, label in (("todo", "To Do"), ("in_progress", "In Progress"), ("done", "Done")):
            assert f'aria-labelledby="col-{status}"' in html and f">{label}</h2>" in html
        assert card_ids(html) == board["cards"]
    assert 'hx-trigger="every 3s' in text(page)
    assert fragment.headers["ETag"]


def test_unchanged_board_answers_304_and_a_change_answers_200(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    url = f"/projects/{board['id']}"
    first = client.get(url, headers=HX)
    etag = first.headers["ETag"]
    again = client.get(url, headers={**HX, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "HX-Request" in again.headers["Vary"]
    alice.patch(f"/api/v1/tasks/{board['cards'][0]}", json={"status": "done"})
    changed = client.get(url, headers={**HX, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert board["cards"][0] in column_html(text(changed), "done")


@pytest.mark.parametrize(
    "change",
    ["comment", "edit", "delete", "unassign"],
)
def test_every_change_of_the_board_changes_the_etag(
    client: FlaskClient, board: dict, alice: ApiUser, bob: ApiUser, change: str
) -> None:
    url = f"/projects/{board['id']}"
    alice.add_member(board["id"], bob)
    task = board["cards"][1]
    alice.patch(f"/api/v1/tasks/{task}", json={"assignee_ids": [bob.id]})
    etag = client.get(url, headers=HX).headers["ETag"]
    if change == "comment":
        bob.post(f"/api/v1/tasks/{task}/comments", json={"body": "Hi"})
    elif change == "edit":
        bob.patch(f"/api/v1/tasks/{task}", json={"title": "Renamed"})
    elif change == "delete":
        bob.delete(f"/api/v1/tasks/{task}")
    else:
        alice.delete(f"/api/v1/projects/{board['id']}/members/{bob.id}")
    assert client.get(url, headers={**HX, "If-None-Match": etag}).status_code == 200


def test_a_card_turning_overdue_changes_the_etag(
    client: FlaskClient, board: dict, alice: ApiUser, app: Flask
) -> None:
    url = f"/projects/{board['id']}"
    soon = datetime.now(UTC) + timedelta(hours=1)
    alice.patch(f"/api/v1/tasks/{board['cards'][0]}", json={"due_date": soon.isoformat()})
    etag = client.get(url, headers=HX).headers["ETag"]
    # Time passes (the due date moves into the past without a board write).
    from sqlalchemy import update

    from taskboard.extensions import db
    from taskboard.models import Task

    with app.app_context():
        db.session.execute(
            update(Task)
            .where(Task.title == "One")
            .values(due_date=datetime.now(UTC) - timedelta(minutes=1))
        )
        db.session.commit()
    fresh = client.get(url, headers={**HX, "If-None-Match": etag})
    assert fresh.status_code == 200
    assert "Overdue" in text(fresh)


def test_etag_depends_on_the_filters(client: FlaskClient, board: dict) -> None:
    url = f"/projects/{board['id']}"
    etag = client.get(url, headers=HX).headers["ETag"]
    filtered = client.get(url + "?q=two", headers={**HX, "If-None-Match": etag})
    assert filtered.status_code == 200
    assert card_ids(text(filtered)) == [board["cards"][1]]


def test_non_member_gets_the_404_page(
    client: FlaskClient, board: dict, carol: ApiUser, app: Flask
) -> None:
    outsider = app.test_client()
    web_login(outsider, carol.email)
    for url in (f"/projects/{board['id']}", f"/tasks/{board['cards'][0]}"):
        resp = outsider.get(url)
        assert resp.status_code == 404
        assert "text/html" in resp.content_type and "Not found" in text(resp)
    token = csrf_from(text(outsider.get("/projects")))
    before = table_counts(app)
    moved = outsider.post(
        f"/tasks/{board['cards'][0]}/move", data={"csrf_token": token, "direction": "right"}
    )
    assert moved.status_code == 404
    assert outsider.get(f"/projects/{board['id']}/settings").status_code == 404
    assert table_counts(app) == before


def test_add_task_with_htmx_returns_the_columns(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    resp = client.post(
        f"/projects/{board['id']}/tasks",
        data={"csrf_token": board["csrf"], "title": "Four"},
        headers=HX,
    )
    assert resp.status_code == 200
    assert "<html" not in text(resp)
    assert "Four" in column_html(text(resp), "todo")
    assert resp.headers["ETag"]
    assert order(alice, board["id"])["todo"] == ["One", "Two", "Three", "Four"]


def test_add_task_without_javascript_redirects(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    resp = client.post(
        f"/projects/{board['id']}/tasks", data={"csrf_token": board["csrf"], "title": "Plain"}
    )
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/projects/{board['id']}"
    assert "Plain" in order(alice, board["id"])["todo"]


def test_empty_title_is_shown_next_to_the_field(
    client: FlaskClient, board: dict, app: Flask
) -> None:
    before = table_counts(app)
    for headers in (HX, {}):
        resp = client.post(
            f"/projects/{board['id']}/tasks",
            data={"csrf_token": board["csrf"], "title": "   "},
            headers=headers,
        )
        assert resp.status_code == 422
        html = text(resp)
        assert 'id="add-task-title-error"' in html and "Title must not be empty." in html
    assert table_counts(app) == before


def test_htmx_request_without_csrf_header_is_refused(
    client: FlaskClient, board: dict, app: Flask
) -> None:
    before = table_counts(app)
    resp = client.post(f"/projects/{board['id']}/tasks", data={"title": "Sneaky"}, headers=HX)
    assert resp.status_code == 400
    assert resp.headers["HX-Reswap"] == "none"
    assert "show-error" in resp.headers["HX-Trigger"]
    wrong = client.post(
        f"/tasks/{board['cards'][0]}/move",
        data={"direction": "right"},
        headers={**HX, "X-CSRFToken": "forged"},
    )
    assert wrong.status_code == 400
    assert table_counts(app) == before
    ok = client.post(
        f"/tasks/{board['cards'][0]}/move",
        data={"direction": "right"},
        headers={**HX, "X-CSRFToken": board["csrf"]},
    )
    assert ok.status_code == 200


def move(client: FlaskClient, board: dict, task: str, headers: Any = None, **data: str) -> Any:
    return client.post(
        f"/tasks/{task}/move", data={"csrf_token": board["csrf"], **data}, headers=headers or {}
    )


def test_keyboard_moves(client: FlaskClient, board: dict, alice: ApiUser) -> None:
    one, two, three = board["cards"]
    resp = move(client, board, one, HX, direction="right")
    assert resp.status_code == 200
    assert "In Progress, position 1" in resp.headers["HX-Trigger"]
    assert order(alice, board["id"]) == {
        "todo": ["Two", "Three"],
        "in_progress": ["One"],
        "done": [],
    }
    move(client, board, three, HX, direction=f"up:{two}")
    assert order(alice, board["id"])["todo"] == ["Three", "Two"]
    move(client, board, three, HX, direction=f"down:{two}")
    assert order(alice, board["id"])["todo"] == ["Two", "Three"]
    move(client, board, one, HX, direction="left")
    assert order(alice, board["id"])["todo"] == ["Two", "Three", "One"]
    refused = move(client, board, one, HX, direction="left")
    assert refused.status_code == 422
    assert move(client, board, one, HX, direction="sideways").status_code == 400


def test_drag_and_drop_puts_the_card_before_its_new_neighbour(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    one, two, three = board["cards"]
    move(client, board, three, HX, status="done", before="")
    move(client, board, one, HX, status="done", before=three)
    assert order(alice, board["id"]) == {
        "todo": ["Two"],
        "in_progress": [],
        "done": ["One", "Three"],
    }
    # Within a column, downwards: before a card further down.
    four = alice.create_task(board["id"], "Four", status="done")["id"]
    move(client, board, one, HX, status="done", before=four)
    assert order(alice, board["id"])["done"] == ["Three", "One", "Four"]
    move(client, board, four, HX, status="done", before=three)
    assert order(alice, board["id"])["done"] == ["Four", "Three", "One"]
    # Dropped at the end of its own column.
    move(client, board, four, HX, status="done", before="")
    assert order(alice, board["id"])["done"] == ["Three", "One", "Four"]
    assert move(client, board, two, HX, status="nowhere").status_code == 422
    # An explicit position, as the API takes it; negative ones are refused by the service.
    move(client, board, two, HX, status="done", position="1")
    assert order(alice, board["id"])["done"] == ["Three", "Two", "One", "Four"]
    assert move(client, board, two, HX, status="done", position="-1").status_code == 422
    assert move(client, board, two, HX, status="done", position="top").status_code == 400


def test_moves_on_a_filtered_board_skip_hidden_cards(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    one, _two, three = board["cards"]
    # "Two" is hidden by the filter: "Three" goes up past it, before "One".
    resp = move(client, board, three, HX, direction=f"up:{one}", q="e")
    assert order(alice, board["id"])["todo"] == ["Three", "One", "Two"]
    assert card_ids(text(resp)) == [three, one]
    filtered = move(client, board, one, HX, direction="right", q="one")
    assert card_ids(text(filtered)) == [one]


def test_move_without_javascript_redirects_back(client: FlaskClient, board: dict) -> None:
    resp = move(client, board, board["cards"][0], direction="right", q="One")
    assert resp.status_code == 303
    assert resp.headers["Location"] == f"/projects/{board['id']}?q=One#card-{board['cards'][0]}"


def test_card_detail_fragment_and_page(client: FlaskClient, board: dict) -> None:
    task = board["cards"][0]
    fragment = client.get(f"/tasks/{task}", headers=HX)
    page = client.get(f"/tasks/{task}")
    assert "<html" not in text(fragment) and "<html" in text(page)
    assert "HX-Request" in fragment.headers["Vary"]
    for html in (text(fragment), text(page)):
        for label in ("Title", "Description", "Status", "Due date", "Comment"):
            assert f">{label}</label>" in html
        assert ">Assignees</legend>" in html
        for button in ("Save", "Add comment", "Delete task"):
            assert f">{button}</button>" in html
    assert card_ids(text(page)) == board["cards"]


def test_save_with_htmx_and_without(client: FlaskClient, board: dict, alice: ApiUser) -> None:
    task = board["cards"][1]
    data = {
        "csrf_token": board["csrf"],
        "title": "Two, edited",
        "description": "Details",
        "status": "in_progress",
        "assignees": [alice.id],
        "due_date": "2031-05-06",
    }
    resp = client.post(f"/tasks/{task}", data=data, headers=HX)
    assert resp.status_code == 200
    assert "board-changed" in resp.headers["HX-Trigger"]
    assert "Two, edited" in text(resp) and "<html" not in text(resp)
    saved = alice.get(f"/api/v1/tasks/{task}").json
    assert saved["status"] == "in_progress" and saved["description"] == "Details"
    assert saved["due_date"].startswith("2031-05-06T23:59")
    assert [u["id"] for u in saved["assignees"]] == [alice.id]
    # Without JavaScript: moving via the Status field, then back to the detail page.
    plain = client.post(f"/tasks/{task}", data={**data, "status": "done", "due_date": ""})
    assert plain.status_code == 303 and plain.headers["Location"] == f"/tasks/{task}"
    saved = alice.get(f"/api/v1/tasks/{task}").json
    assert saved["status"] == "done" and saved["due_date"] is None


def test_saving_an_unchanged_date_keeps_the_time(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    task = board["cards"][0]
    due = "2030-01-15T09:30:00+00:00"
    alice.patch(f"/api/v1/tasks/{task}", json={"due_date": due})
    client.post(
        f"/tasks/{task}",
        data={
            "csrf_token": board["csrf"],
            "title": "One",
            "status": "todo",
            "due_date": "2030-01-15",
        },
        headers=HX,
    )
    assert alice.get(f"/api/v1/tasks/{task}").json["due_date"] == due


def test_dates_are_read_and_shown_in_the_viewers_time_zone(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    task = board["cards"][0]
    client.set_cookie("tz", "Asia/Tokyo")
    client.post(
        f"/tasks/{task}",
        data={
            "csrf_token": board["csrf"],
            "title": "One",
            "status": "todo",
            "due_date": "2031-05-06",
        },
        headers=HX,
    )
    # The end of 6 May in Tokyo is 14:59 UTC that day.
    assert alice.get(f"/api/v1/tasks/{task}").json["due_date"] == "2031-05-06T14:59:00+00:00"
    tokyo = client.get(f"/projects/{board['id']}", headers=HX)
    assert "6 May 2031" in text(tokyo)
    assert 'value="2031-05-06"' in text(client.get(f"/tasks/{task}", headers=HX))
    client.set_cookie("tz", "Pacific/Kiritimati")  # UTC+14: already 7 May there
    la = client.get(
        f"/projects/{board['id']}", headers={**HX, "If-None-Match": tokyo.headers["ETag"]}
    )
    assert la.status_code == 200 and "7 May 2031" in text(la)
    client.set_cookie("tz", "../../etc/passwd")
    assert "6 May 2031" in text(client.get(f"/projects/{board['id']}", headers=HX))


def test_save_errors_keep_what_was_typed(
    client: FlaskClient, board: dict, alice: ApiUser, carol: ApiUser, app: Flask
) -> None:
    task = board["cards"][0]
    before = table_counts(app)
    for headers in (HX, {}):
        resp = client.post(
            f"/tasks/{task}",
            data={
                "csrf_token": board["csrf"],
                "title": "",
                "description": "Typed text",
                "status": "todo",
            },
            headers=headers,
        )
        assert resp.status_code == 422
        assert 'id="task-title-error"' in text(resp) and "Typed text" in text(resp)
    bad_date = client.post(
        f"/tasks/{task}",
        data={"csrf_token": board["csrf"], "title": "One", "status": "todo", "due_date": "soon"},
        headers=HX,
    )
    assert 'id="task-due-error"' in text(bad_date)
    outsider = client.post(
        f"/tasks/{task}",
        data={"csrf_token": board["csrf"], "title": "One", "status": "todo", "assignees": carol.id},
        headers=HX,
    )
    assert outsider.status_code == 422 and 'id="assignees-error"' in text(outsider)
    assert table_counts(app) == before


def test_comments_with_htmx_and_without(client: FlaskClient, board: dict, app: Flask) -> None:
    task = board["cards"][0]
    resp = client.post(
        f"/tasks/{task}/comments", data={"csrf_token": board["csrf"], "body": "First!"}, headers=HX
    )
    assert resp.status_code == 200 and "First!" in text(resp)
    assert "commented" in text(resp)
    plain = client.post(f"/tasks/{task}/comments", data={"csrf_token": board["csrf"], "body": "2"})
    assert plain.status_code == 303 and plain.headers["Location"] == f"/tasks/{task}#comments"
    card = text(client.get(f"/projects/{board['id']}", headers=HX))
    assert ">2 comments</span>" in card
    before = table_counts(app)
    empty = client.post(
        f"/tasks/{task}/comments", data={"csrf_token": board["csrf"], "body": " "}, headers=HX
    )
    assert empty.status_code == 422 and 'id="comment-body-error"' in text(empty)
    assert table_counts(app) == before


def test_delete_asks_first_without_javascript(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    task = board["cards"][0]
    ask = client.post(f"/tasks/{task}/delete", data={"csrf_token": board["csrf"]})
    assert ask.status_code == 200 and "Delete “One”?" in text(ask)
    assert alice.get(f"/api/v1/tasks/{task}").status_code == 200
    done = client.post(
        f"/tasks/{task}/delete", data={"csrf_token": board["csrf"], "confirm": "yes"}
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/projects/{board['id']}"
    assert alice.get(f"/api/v1/tasks/{task}").status_code == 404


def test_delete_with_htmx_empties_the_detail(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    task = board["cards"][0]
    resp = client.post(
        f"/tasks/{task}/delete", data={"csrf_token": board["csrf"], "confirm": "yes"}, headers=HX
    )
    assert resp.status_code == 200 and resp.get_data() == b""
    assert "board-changed" in resp.headers["HX-Trigger"]
    gone = client.get(f"/tasks/{task}", headers=HX)
    assert gone.status_code == 404 and gone.headers["HX-Reswap"] == "none"
    assert "board-changed" not in gone.headers["HX-Trigger"]


def test_polling_a_board_that_is_gone_reloads_the_page(
    client: FlaskClient, board: dict, alice: ApiUser
) -> None:
    alice.delete(f"/api/v1/projects/{board['id']}")
    poll = client.get(f"/projects/{board['id']}", headers={**HX, "HX-Target": "div#board"})
    assert poll.status_code == 404
    assert poll.headers["HX-Refresh"] == "true"


def test_filters(client: FlaskClient, board: dict, alice: ApiUser, bob: ApiUser) -> None:
    one, two, three = board["cards"]
    alice.add_member(board["id"], bob)
    alice.patch(f"/api/v1/tasks/{one}", json={"assignee_ids": [alice.id]})
    alice.patch(f"/api/v1/tasks/{two}", json={"assignee_ids": [bob.id]})
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    soon = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    alice.patch(f"/api/v1/tasks/{one}", json={"due_date": past})
    alice.patch(f"/api/v1/tasks/{three}", json={"due_date": soon})
    url = f"/projects/{board['id']}"
    assert card_ids(text(client.get(url + "?assignee=me", headers=HX))) == [one]
    assert card_ids(text(client.get(f"{url}?assignee={bob.id}", headers=HX))) == [two]
    assert card_ids(text(client.get(url + "?due=overdue", headers=HX))) == [one]
    assert card_ids(text(client.get(url + "?due=week", headers=HX))) == [three]
    assert card_ids(text(client.get(url + "?q=THR"))) == [three]
    assert client.get(url + "?due=someday").status_code == 400
    assert client.get(url + "?assignee=nobody").status_code == 400
    page = text(client.get(url))
    for label in ("Search", "Assignee", "Due"):
        assert f">{label}</label>" in page
    assert "is-overdue" in page and "<strong>Overdue</strong>" in page


def test_board_queries_do_not_grow_with_the_cards(
    client: FlaskClient, board: dict, alice: ApiUser, bob: ApiUser, count_queries: Any
) -> None:
    url = f"/projects/{board['id']}"
    alice.add_member(board["id"], bob)
    with count_queries() as small:
        etag = client.get(url, headers=HX).headers["ETag"]
    for i in range(12):
        task = alice.create_task(board["id"], f"More {i}", status=("todo", "done")[i % 2])
        alice.patch(f"/api/v1/tasks/{task['id']}", json={"assignee_ids": [alice.id, bob.id]})
    with count_queries() as big:
        etag = client.get(url, headers=HX).headers["ETag"]
    assert big.count == small.count
    with count_queries() as unchanged:
        assert client.get(url, headers={**HX, "If-None-Match": etag}).status_code == 304
    # The session's user and the board's version: nothing else for an unchanged board.
    assert unchanged.count <= 2, unchanged.statements


def test_save_over_someone_elses_change_is_refused_and_keeps_the_typing(
    client: FlaskClient, board: dict, alice: ApiUser, app: Flask
) -> None:
    task = board["cards"][0]
    page = text(client.get(f"/tasks/{task}", headers=HX))
    version = page.split('id="task-version"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    # Someone else edits the card meanwhile.
    assert alice.patch(f"/api/v1/tasks/{task}", json={"title": "Their title"}).status_code == 200
    mine = {
        "csrf_token": board["csrf"],
        "title": "My title",
        "description": "My long description",
        "status": "todo",
        "version": version,
    }
    for headers in (HX, {}):
        resp = client.post(f"/tasks/{task}", data=mine, headers=headers)
        assert resp.status_code == 409
        body = text(resp)
        assert "Someone else changed this card" in body
        assert "My long description" in body and 'value="My title"' in body
    assert alice.get(f"/api/v1/tasks/{task}").json["title"] == "Their title"
    # The form now carries the current version: saving again is a deliberate overwrite.
    fresh = body.split('id="task-version"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
    resp = client.post(f"/tasks/{task}", data={**mine, "version": fresh}, headers=HX)
    assert resp.status_code == 200
    assert alice.get(f"/api/v1/tasks/{task}").json["title"] == "My title"


def test_a_board_page_takes_one_connection(app: Flask, client: FlaskClient, board: dict) -> None:
    """The page loads its user through the ORM session and its cards on that session's
    connection: one connection from the pool per request, as for an API read."""
    import sqlalchemy as sa

    from taskboard.extensions import db

    with app.app_context():
        engine = db.engine
    checkouts: list[int] = []

    def checkout(*_: Any) -> None:
        checkouts.append(1)

    sa.event.listen(engine, "checkout", checkout)
    try:
        for headers in ({}, HX):
            checkouts.clear()
            resp = client.get(f"/projects/{board['id']}", headers=headers)
            assert resp.status_code == 200
            assert len(card_ids(text(resp))) == 3
            assert len(checkouts) == 1, headers
    finally:
        sa.event.remove(engine, "checkout", checkout)
    assert engine.pool.checkedout() == 0

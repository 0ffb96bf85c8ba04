"""Live updates that send what changed: a poll of a changed board answers the changed
cards (out-of-band swaps that take each out and put it back where it now is) and the
column counts, so its size follows the change and not the board."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import LONG_BOARD_PAGE as PAGE
from conftest import ApiUser
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, card_ids, text

from taskboard.extensions import db
from taskboard.models import BoardChange


def columns_of(alice: ApiUser, board: dict) -> list[dict]:
    return alice.get(f"/api/v1/projects/{board['id']}/columns").json


def shown(board: dict, alice: ApiUser, **overrides: str) -> str:
    """The page's X-Board-Shown as the script sends it after a fresh load (3 To Do cards
    shown, the other columns whole)."""
    parts = []
    for column in columns_of(alice, board):
        last = overrides.get(column["id"], "*")
        if column["id"] == board["todo"] and column["id"] not in overrides:
            last = board["cards"][PAGE - 1]
        parts.append(f"{column['id']}:0:{last}")
    return ",".join(parts)


def poll(client: FlaskClient, board: dict, etag: str, windows: str, query: str = "") -> Any:
    headers = {**HX, "If-None-Match": etag, "X-Board-Shown": windows}
    return client.get(f"/projects/{board['id']}{query}", headers=headers)


def first_etag(client: FlaskClient, board: dict, query: str = "") -> str:
    return client.get(f"/projects/{board['id']}{query}", headers=HX).headers["ETag"]


def oob(html: str) -> list[str]:
    """The out-of-band operations in the order the page applies them."""
    return re.findall(r'hx-swap-oob="([^"]+)"', html)


def test_a_move_into_the_shown_part_answers_that_card_and_the_counts(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    etag = first_etag(client, long_board)
    cards = long_board["cards"]
    alice.patch(f"/api/v1/tasks/{cards[5]}", json={"position": 1})  # c5 between c0 and c1
    resp = poll(client, long_board, etag, shown(long_board, alice))
    html = text(resp)
    assert resp.status_code == 200 and resp.headers["ETag"] != etag
    assert "<section" not in html
    assert card_ids(html) == [cards[5]]
    ops = oob(html)
    assert ops[:2] == ["delete", f"beforebegin:#card-{cards[1]}"]
    assert ops.count("true") == 2 * 3  # a count and a "Show more" per column
    assert resp.headers["X-Board-Cards"] == cards[5]
    assert len(resp.get_data()) < 5_000
    # Polled again at the new version: nothing changed.
    again = poll(client, long_board, resp.headers["ETag"], shown(long_board, alice))
    assert again.status_code == 304


def test_a_card_leaving_the_shown_part_or_deleted_is_only_taken_out(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    cards = long_board["cards"]
    etag = first_etag(client, long_board)
    alice.patch(f"/api/v1/tasks/{cards[0]}", json={"position": 6})  # to the end, unshown
    alice.delete(f"/api/v1/tasks/{cards[1]}")
    html = text(poll(client, long_board, etag, shown(long_board, alice)))
    assert card_ids(html) == []
    assert oob(html)[:2] == ["delete", "delete"]
    assert "(5 more)" in html  # 6 cards; the page keeps c2 alone, then "Show more"


def test_a_card_into_a_whole_column_goes_to_its_end_or_before_its_neighbour(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    cards = long_board["cards"]
    etag = first_etag(client, long_board)
    alice.patch(f"/api/v1/tasks/{cards[0]}", json={"status": "done", "position": 5})
    alice.patch(f"/api/v1/tasks/{cards[1]}", json={"status": "done", "position": 0})
    html = text(poll(client, long_board, etag, shown(long_board, alice)))
    # Done shows all its cards: c1 goes before "finished", c0 at the end.
    assert sorted(card_ids(html)) == sorted([cards[0], cards[1]])
    ops = oob(html)
    assert f"beforebegin:#card-{long_board['done']}" in ops
    assert "beforeend:#list-done" in ops
    assert "<section" not in html


def test_when_the_last_shown_card_itself_changed_the_whole_board_comes(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    etag = first_etag(client, long_board)
    alice.patch(f"/api/v1/tasks/{long_board['cards'][PAGE - 1]}", json={"title": "renamed"})
    html = text(poll(client, long_board, etag, shown(long_board, alice)))
    assert "<section" in html and "renamed" in html


@pytest.mark.parametrize("case", ["layout", "no windows", "history gone", "many"])
def test_what_cannot_be_told_card_by_card_answers_the_whole_board(
    app: Flask, client: FlaskClient, long_board: dict, alice: ApiUser, case: str
) -> None:
    etag = first_etag(client, long_board)
    windows = shown(long_board, alice)
    if case == "layout":
        alice.patch(f"/api/v1/columns/{long_board['done_column']}", json={"name": "Shipped"})
    elif case == "no windows":
        alice.patch(f"/api/v1/tasks/{long_board['cards'][5]}", json={"position": 0})
        windows = ""
    elif case == "history gone":
        alice.patch(f"/api/v1/tasks/{long_board['cards'][5]}", json={"position": 0})
        with app.app_context():
            db.session.execute(sa.delete(BoardChange))
            db.session.commit()
    else:
        for _ in range(26):
            for card in long_board["cards"][:2]:
                alice.patch(f"/api/v1/tasks/{card}", json={"title": "again"})
        pid = long_board["id"]
        for i in range(51):
            alice.create_task(pid, f"bulk {i}")
    html = text(poll(client, long_board, etag, windows))
    assert "<section" in html


def test_a_filtered_board_gets_its_changes_with_matching_ranks(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    cards = long_board["cards"]
    for i in (1, 3, 5):
        alice.patch(f"/api/v1/tasks/{cards[i]}", json={"description": "blue"})
    query = "?q=blue"
    etag = first_etag(client, long_board, query)
    windows = shown(long_board, alice, **{long_board["todo"]: "*"})
    alice.patch(f"/api/v1/tasks/{cards[6]}", json={"description": "blue too"})  # matches now
    alice.patch(f"/api/v1/tasks/{cards[1]}", json={"description": "red"})  # no longer
    html = text(poll(client, long_board, etag, windows, query))
    assert card_ids(html) == [cards[6]]
    ops = oob(html)
    assert sorted(ops[:2]) == ["delete", "delete"]
    assert ops[2] == "beforeend:#list-todo"  # after c5, the last matching card
    assert "3 cards matching" in html
    # Another filter's page version is another board: the whole of it.
    other = poll(client, long_board, etag, windows, "?q=red")
    assert "<section" in text(other)


def test_the_mover_gets_the_changes_too(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    etag = first_etag(client, long_board).strip('"')
    cards = long_board["cards"]
    resp = client.post(
        f"/tasks/{cards[2]}/move",
        data={"direction": "top"},
        headers={
            **HX,
            "X-CSRFToken": long_board["csrf"],
            "X-Board-Version": etag,
            "X-Board-Shown": shown(long_board, alice, **{long_board["todo"]: cards[1]}),
        },
    )
    html = text(resp)
    assert card_ids(html) == [cards[2]]
    assert oob(html)[:2] == ["delete", f"beforebegin:#card-{cards[0]}"]
    assert "Moved" in resp.headers["HX-Trigger"]

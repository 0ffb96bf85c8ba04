"""The board at any size: each column shows its first cards, "Show more" brings the rest,
and every move keeps working on a partly shown column (with htmx and without)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import LONG_BOARD_PAGE, ApiUser, table_counts
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, card_ids, csrf_from, text

PAGE = LONG_BOARD_PAGE


def todo_ids(html: str) -> list[str]:
    start = html.index('id="list-todo"')
    return card_ids(html[start : html.index("</ul>", start)])


def test_a_column_shows_its_first_cards_its_total_and_show_more(
    client: FlaskClient, long_board: dict
) -> None:
    html = text(client.get(f"/projects/{long_board['id']}"))
    assert todo_ids(html) == long_board["cards"][:PAGE]
    assert '<span aria-hidden="true">7</span><span class="visually-hidden">7 cards</span>' in html
    assert "Show more" in html and "(4 more)" in html
    # Without JavaScript, "Show more" is the board showing that column's next cards.
    link = re.search(r'class="btn btn-small show-more" href="([^"]+)"', html).group(1)
    assert f"show={long_board['todo']}%3A{2 * PAGE}" in link
    more = text(client.get(link.replace("&amp;", "&").split("#")[0]))
    assert todo_ids(more) == long_board["cards"][: 2 * PAGE]
    assert "(1 more)" in more
    # The Done column has all its cards shown: no "Show more" there.
    assert f'<div class="more" id="more-{long_board["done_column"]}"></div>' in html


def test_show_more_with_htmx_answers_the_next_cards_and_a_new_link(
    client: FlaskClient, long_board: dict
) -> None:
    url = f"/projects/{long_board['id']}/columns/{long_board['todo']}/cards"
    second = client.get(f"{url}?offset=3", headers=HX)
    assert second.status_code == 200
    assert card_ids(text(second)) == long_board["cards"][3:6]
    assert 'hx-swap-oob="true"' in text(second) and "(1 more)" in text(second)
    last = client.get(f"{url}?offset=6", headers=HX)
    assert card_ids(text(last)) == long_board["cards"][6:]
    assert "Show more" not in text(last)
    # Without htmx: to the board showing that much more.
    plain = client.get(f"{url}?offset=3")
    assert plain.status_code == 303
    assert f"show={long_board['todo']}%3A6" in plain.headers["Location"]


def test_polls_and_moves_keep_the_columns_as_long_as_the_page_shows_them(
    client: FlaskClient, long_board: dict
) -> None:
    shown = {**HX, "X-Board-Shown": f"{long_board['todo']}:6"}
    poll = client.get(f"/projects/{long_board['id']}", headers=shown)
    assert todo_ids(text(poll)) == long_board["cards"][:6]
    # What the page shows is not part of the ETag: an unchanged board is unchanged.
    plain = client.get(f"/projects/{long_board['id']}", headers=HX)
    assert plain.headers["ETag"] == poll.headers["ETag"]
    moved = client.post(
        f"/tasks/{long_board['cards'][5]}/move",
        data={"direction": "top"},
        headers={**shown, "X-CSRFToken": long_board["csrf"]},
    )
    assert todo_ids(text(moved))[:2] == [long_board["cards"][5], long_board["cards"][0]]
    assert len(todo_ids(text(moved))) == 6


def test_filters_run_on_the_server_with_windows_of_the_matching_cards(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    for i in (1, 3, 4, 6):
        alice.patch(f"/api/v1/tasks/{long_board['cards'][i]}", json={"description": "blue"})
    html = text(client.get(f"/projects/{long_board['id']}?q=blue"))
    expected = [long_board["cards"][i] for i in (1, 3, 4)]
    assert todo_ids(html) == expected
    assert "4 cards matching" in html and "(1 more)" in html
    url = f"/projects/{long_board['id']}/columns/{long_board['todo']}/cards"
    rest = client.get(f"{url}?offset=3&q=blue", headers=HX)
    assert card_ids(text(rest)) == [long_board["cards"][6]]
    # "Move up" on the filtered board passes the hidden cards: c6 lands above c4.
    client.post(
        f"/tasks/{long_board['cards'][6]}/move",
        data={"direction": "up", "q": "blue"},
        headers={**HX, "X-CSRFToken": long_board["csrf"]},
    )
    titles = [t["title"] for t in alice.get(f"/api/v1/projects/{long_board['id']}/tasks").json]
    assert titles[:7] == ["c0", "c1", "c2", "c3", "c6", "c4", "c5"]


def test_move_to_top_and_bottom_and_the_move_page(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    first, last = long_board["cards"][0], long_board["cards"][6]
    page = text(client.get(f"/tasks/{first}/move"))
    assert "position 1 of 7" in page
    assert 'value="top"' not in page and 'value="bottom"' in page and 'value="right"' in page
    assert 'value="left"' not in page
    # To the bottom, without JavaScript: back on the board, showing the card where it went.
    resp = client.post(
        f"/tasks/{first}/move", data={"csrf_token": long_board["csrf"], "direction": "bottom"}
    )
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert f"show={long_board['todo']}%3A7" in location and location.endswith(f"#card-{first}")
    assert todo_ids(text(client.get(location.split("#")[0])))[-1] == first
    client.post(
        f"/tasks/{last}/move",
        data={"direction": "top"},
        headers={**HX, "X-CSRFToken": long_board["csrf"]},
    )
    # A place counted from 1, into another column.
    client.post(
        f"/tasks/{long_board['cards'][3]}/move",
        data={
            "csrf_token": long_board["csrf"],
            "column": long_board["done_column"],
            "place": "1",
        },
    )
    tasks = alice.get(f"/api/v1/projects/{long_board['id']}/tasks").json
    todo = [t["title"] for t in tasks if t["status"] == "todo"]
    done = [t["title"] for t in tasks if t["status"] == "done"]
    assert todo == ["c6", "c1", "c2", "c4", "c5", "c0"]
    assert done == ["c3", "finished"]


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/projects/{id}?show=nonsense", None),
        ("/projects/{id}/columns/{todo}/cards?offset=first", None),
        ("/tasks/{card}/move", {"place": "0"}),
        ("/tasks/{card}/move", {"place": "top"}),
    ],
)
def test_bad_windows_and_places_are_refused_and_change_nothing(
    app: Flask, client: FlaskClient, long_board: dict, url: str, data: Any
) -> None:
    target = url.format(id=long_board["id"], todo=long_board["todo"], card=long_board["cards"][2])
    before = table_counts(app)
    if data is None:
        resp = client.get(target, headers=HX)
        assert resp.status_code == 400
    else:
        resp = client.post(target, data={**data, "csrf_token": long_board["csrf"]})
        assert resp.status_code == 422
        assert "position is a whole number from 1" in text(resp)
    assert table_counts(app) == before
    html = text(client.get(f"/projects/{long_board['id']}"))
    assert todo_ids(html) == long_board["cards"][:PAGE]


def test_another_projects_column_is_not_found(
    client: FlaskClient, long_board: dict, bob: ApiUser
) -> None:
    other = bob.create_project("Bob's")
    column = bob.get(f"/api/v1/projects/{other['id']}/columns").json[0]["id"]
    resp = client.get(f"/projects/{long_board['id']}/columns/{column}/cards", headers=HX)
    assert resp.status_code == 404


def test_a_board_fragment_costs_a_few_statements_whatever_the_windows(
    client: FlaskClient, long_board: dict, count_queries: Any
) -> None:
    url = f"/projects/{long_board['id']}"
    counts = []
    for shown in ("", f"{long_board['todo']}:6", f"{long_board['todo']}:7"):
        with count_queries() as counter:
            html = text(client.get(url, headers={**HX, "X-Board-Shown": shown}))
        assert csrf_from(html)
        counts.append(counter.count)
    assert counts[0] == counts[1] == counts[2] <= 14, counts


def test_a_drop_below_the_last_shown_card_lands_right_after_it(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    cards = long_board["cards"]
    headers = {**HX, "X-CSRFToken": long_board["csrf"]}
    # c0 dropped at the end of the shown part (c0 c1 c2 | c3 …): after c2, not last.
    client.post(
        f"/tasks/{cards[0]}/move",
        data={"column": long_board["todo"], "before": "", "after": cards[2]},
        headers=headers,
    )
    # From another column: "finished" dropped there too, after c0 now.
    client.post(
        f"/tasks/{long_board['done']}/move",
        data={"column": long_board["todo"], "after": cards[0]},
        headers=headers,
    )
    tasks = alice.get(f"/api/v1/projects/{long_board['id']}/tasks").json
    todo = [t["title"] for t in tasks if t["status"] == "todo"]
    assert todo == ["c1", "c2", "c0", "finished", "c3", "c4", "c5", "c6"]


def test_a_card_added_to_a_long_column_goes_on_top_where_the_page_shows_it(
    client: FlaskClient, long_board: dict, alice: ApiUser
) -> None:
    todo = long_board["todo"]
    headers = {**HX, "X-CSRFToken": long_board["csrf"]}
    partly = {**headers, "X-Board-Shown": f"{todo}:3:{long_board['cards'][2]}"}
    resp = client.post(
        f"/projects/{long_board['id']}/tasks", data={"title": "Fresh"}, headers=partly
    )
    assert resp.status_code == 200 and "Fresh" in text(resp)
    # The whole column shown: at its end, as always.
    whole = {**headers, "X-Board-Shown": f"{todo}:8:*"}
    client.post(f"/projects/{long_board['id']}/tasks", data={"title": "Last"}, headers=whole)
    # Without JavaScript a long column means the top too.
    client.post(
        f"/projects/{long_board['id']}/tasks",
        data={"title": "Plain", "csrf_token": long_board["csrf"]},
    )
    tasks = alice.get(f"/api/v1/projects/{long_board['id']}/tasks").json
    titles = [t["title"] for t in tasks if t["status"] == "todo"]
    assert titles[:2] == ["Plain", "Fresh"] and titles[-1] == "Last"
    assert [t["position"] for t in tasks if t["status"] == "todo"] == list(range(len(titles)))

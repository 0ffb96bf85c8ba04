"""A long column in Chromium: its first 50 cards, the rest loaded as it scrolls, moves to
the top and bottom and drags working on a partly loaded column, columns on a phone."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from servers import LiveServer

from .browserutil import api_user, column, log_in, move_card, titles, token

CARDS = 65


def long_project(server: LiveServer, user: dict[str, str]) -> str:
    auth = token(server, user)
    project = server.request("POST", "/api/v1/projects", {"title": "Long"}, token=auth).json
    for i in range(CARDS):
        resp = server.request(
            "POST", f"/api/v1/projects/{project['id']}/tasks", {"title": f"Card {i:02}"}, token=auth
        )
        assert resp.status == 201
    return f"/projects/{project['id']}"


def test_a_long_column_loads_as_it_scrolls_and_moves_reach_its_ends(
    page: Any, server: LiveServer
) -> None:
    user = api_user(server, "Lena Long")
    board = long_project(server, user)
    log_in(page, user["email"])
    page.goto(board)
    todo = column(page, "To Do")
    expect(todo.locator("li.card")).to_have_count(50)
    expect(todo.locator(".column-head")).to_contain_text(str(CARDS))
    more = todo.get_by_role("link", name="Show more in To Do")
    expect(more).to_contain_text("15 more")
    more.scroll_into_view_if_needed()  # loads by itself as it comes into view
    expect(todo.locator("li.card")).to_have_count(CARDS)
    expect(more).to_have_count(0)
    # The first card to the bottom, the last one to the top: the column stays whole.
    move_card(page, todo.locator("li.card").first, "Move to bottom")
    expect(todo.locator("li.card").last).to_contain_text("Card 00")
    move_card(page, todo.locator("li.card").filter(has_text="Card 64"), "Move to top")
    expect(todo.locator("li.card").first).to_contain_text("Card 64")
    expect(todo.locator("li.card")).to_have_count(CARDS)
    # A poll keeps the column as long as it was made.
    page.wait_for_timeout(3500)
    expect(todo.locator("li.card")).to_have_count(CARDS)
    page.reload()
    expect(todo.locator("li.card")).to_have_count(50)
    shown = titles(page, "To Do")
    assert shown[0] == "Card 64" and shown[1] == "Card 01"


def test_show_more_without_javascript_and_moves_past_the_window(
    new_page: Any, server: LiveServer
) -> None:
    user = api_user(server, "Nils Nojs")
    board = long_project(server, user)
    page = new_page(js=False)
    log_in(page, user["email"])
    page.goto(board)
    todo = column(page, "To Do")
    expect(todo.locator("li.card")).to_have_count(50)
    todo.get_by_role("link", name="Show more in To Do").click()
    expect(column(page, "To Do").locator("li.card")).to_have_count(CARDS)
    page.goto(board)
    move_card(page, column(page, "To Do").locator("li.card").first, "Move to bottom", js=False)
    # Back on the board, the column shown as far as the card went.
    expect(column(page, "To Do").locator("li.card").last).to_contain_text("Card 00")
    assert page.url.endswith("#card-" + page.locator("li.card").last.get_attribute("id")[5:])


def test_a_phone_jumps_between_columns(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Pia Phone")
    board = long_project(server, user)
    page = new_page(width=375, height=740)
    log_in(page, user["email"])
    page.goto(board)
    jump = page.get_by_role("navigation", name="Columns")
    expect(jump).to_be_visible()
    jump.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Done")).to_be_in_viewport()

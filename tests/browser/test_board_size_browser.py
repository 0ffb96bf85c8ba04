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
    # Stacked columns load more only when asked: the columns below stay where they are.
    page.wait_for_timeout(500)
    expect(column(page, "To Do").locator("li.card")).to_have_count(50)
    expect(page.get_by_role("heading", name="Done")).to_be_in_viewport()
    column(page, "To Do").get_by_role("link", name="Show more in To Do").click()
    expect(column(page, "To Do").locator("li.card")).to_have_count(CARDS)


def test_another_members_changes_arrive_card_by_card_and_in_the_open_detail(
    new_page: Any, server: LiveServer
) -> None:
    owner = api_user(server, "Ola Owner")
    other = api_user(server, "Max Member")
    board = long_project(server, owner)
    pid = board.rsplit("/", 1)[1]
    auth = token(server, owner)
    server.request("POST", f"/api/v1/projects/{pid}/members", {"email": other["email"]}, token=auth)
    page = new_page()
    log_in(page, owner["email"])
    page.goto(board)
    todo = column(page, "To Do")
    todo.get_by_role("link", name="Card 03").click()
    expect(page.locator("#detail").get_by_role("heading", name="Card 03")).to_be_visible()
    polls: list[Any] = []
    page.on(
        "response",
        lambda r: polls.append(r)
        if r.request.method == "GET" and r.url.split("?")[0].endswith(pid)
        else None,
    )
    tasks = server.request("GET", f"/api/v1/projects/{pid}/tasks?per_page=100", token=auth).json
    by_title = {task["title"]: task["id"] for task in tasks}
    member = token(server, other)
    server.request("PATCH", f"/api/v1/tasks/{by_title['Card 40']}", {"position": 1}, token=member)
    server.request(
        "PATCH", f"/api/v1/tasks/{by_title['Card 03']}", {"title": "Card 03, renamed"}, token=member
    )
    expect(todo.locator("li.card").nth(1)).to_contain_text("Card 40", timeout=8000)
    expect(todo.locator("li.card").nth(4)).to_contain_text("Card 03, renamed")
    expect(todo.locator("li.card")).to_have_count(50)
    expect(page.locator("#detail").get_by_role("heading", name="Card 03, renamed")).to_be_visible()
    first = ["Card 00", "Card 40", "Card 01", "Card 02", "Card 03, renamed"]
    assert titles(page, "To Do")[:5] == first
    # Those polls answered the changed cards alone: no columns, a few KB.
    bodies = [r.body() for r in polls if r.status == 200]
    assert bodies and all(b"<section" not in b and len(b) < 5_000 for b in bodies), bodies

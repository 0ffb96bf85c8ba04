"""The board in Chromium: sign up to drag and drop, keyboard moves, editing in place,
live updates between two people, 404s, accessibility (axe-core) and a 375 px screen."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import expect
from servers import LiveServer

from .browserutil import (
    PASSWORD,
    add_task,
    api_user,
    axe_violations,
    column,
    create_project,
    drag,
    log_in,
    move_card,
    scrolls_sideways,
    titles,
    token,
    unique_email,
)


def test_sign_up_create_a_project_and_add_cards_without_reload(page: Any) -> None:
    page.goto("/register")
    assert axe_violations(page) == []
    page.get_by_label("Email").fill(unique_email("ann"))
    page.get_by_label("Name").fill("Ann Lee")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/projects")
    assert axe_violations(page) == []
    create_project(page, "Launch")
    page.evaluate("window.sameDocument = true")
    for title in ("Write copy", "Design", "Ship"):
        add_task(page, title)
    assert page.evaluate("window.sameDocument") is True
    assert titles(page, "To Do") == ["Write copy", "Design", "Ship"]
    # The field is empty and still focused, ready for the next card.
    title_field = column(page, "To Do").get_by_label("Title")
    expect(title_field).to_have_value("")
    expect(title_field).to_be_focused()
    # An empty title is refused next to the field; the page stays.
    title_field.fill("   ")
    column(page, "To Do").get_by_role("button", name="Add task").click()
    expect(column(page, "To Do").get_by_text("Title must not be empty.")).to_be_visible()
    page.console.take()  # the browser logs the 422 of that refusal as a failed load
    assert axe_violations(page) == []
    page.reload()
    assert titles(page, "To Do") == ["Write copy", "Design", "Ship"]


def test_drag_and_drop_between_and_within_columns_persists(page: Any, server: LiveServer) -> None:
    user = api_user(server, "Dora Drag")
    log_in(page, user["email"])
    create_project(page, "Dragging")
    for title in ("A", "B", "C"):
        add_task(page, title)
    todo, done = column(page, "To Do"), column(page, "Done")

    def drag_and_save(card: str, onto: Any) -> None:
        with page.expect_response(lambda r: r.url.endswith("/move")) as saved:
            drag(page, todo.get_by_role("listitem").filter(has_text=card), onto)
        assert saved.value.status == 200

    # Into the empty "Done" column: its drop area is there and visible.
    expect(page.locator("#column-done .drop-hint")).to_be_visible()
    drag_and_save("B", page.locator("#list-done"))
    expect(done.get_by_role("link", name="B")).to_be_visible()
    expect(page.locator("#column-done .drop-hint")).to_be_hidden()
    # Within a column: C above A.
    drag_and_save("C", todo.get_by_role("listitem").filter(has_text="A"))
    expect(todo.locator("a.card-title")).to_have_text(["C", "A"])
    # Between columns, to a place above another card: A into "Done", above B.
    drag_and_save("A", done.get_by_role("listitem").filter(has_text="B"))
    expect(done.locator("a.card-title")).to_have_text(["A", "B"])
    page.reload()
    assert titles(page, "To Do") == ["C"]
    assert titles(page, "In Progress") == []
    assert titles(page, "Done") == ["A", "B"]


def test_cards_move_with_the_keyboard(page: Any, server: LiveServer) -> None:
    user = api_user(server, "Kim Keys")
    log_in(page, user["email"])
    create_project(page, "Keyboard")
    for title in ("First", "Second"):
        add_task(page, title)
    card = column(page, "To Do").get_by_role("listitem").filter(has_text="Second")
    opener = card.get_by_role("link", name="Move")
    opener.focus()
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Move “Second”")
    expect(menu).to_be_visible()
    # The last card of the column: no "Move down" or "Move to bottom" offered.
    expect(menu.get_by_role("menuitem")).to_have_text(["Move to top", "Move up", "Move right"])
    expect(page.locator(":focus")).to_have_text("Move to top")
    page.keyboard.press("Escape")  # closes, back on the card's "Move"
    expect(menu).to_be_hidden()
    expect(opener).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")  # "Move to top"
    expect(column(page, "To Do").locator("a.card-title").first).to_have_text("Second")
    # The focus comes back to the moved card's "Move".
    expect(card.get_by_role("link", name="Move")).to_be_focused()
    moving = column(page, "To Do").get_by_role("listitem").filter(has_text="First")
    moving.get_by_role("link", name="Move").focus()
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    expect(page.locator(":focus")).to_have_text("Move right")
    page.keyboard.press("Enter")
    expect(column(page, "In Progress").get_by_role("link", name="First")).to_be_visible()
    # Focus stays on the moved card, so it moves on with the same keys.
    moved = page.locator("li.card", has_text="First")
    expect(moved.get_by_role("link", name="Move")).to_be_focused()
    page.keyboard.press("Enter")
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    expect(column(page, "Done").get_by_role("link", name="First")).to_be_visible()
    expect(moved.get_by_role("link", name="Move")).to_be_focused()
    expect(page.locator("#announcer")).to_contain_text("Moved “First” to Done")
    page.reload()
    assert titles(page, "Done") == ["First"]
    assert titles(page, "To Do") == ["Second"]


def test_edit_a_card_in_place_comment_and_delete(new_page: Any, server: LiveServer) -> None:
    page = new_page(zone="Asia/Tokyo")  # dates are read and shown in the viewer's zone
    user = api_user(server, "Eve Edit")
    log_in(page, user["email"])
    board_path = create_project(page, "Editing")
    add_task(page, "Draft")
    page.evaluate("window.sameDocument = true")
    column(page, "To Do").get_by_role("link", name="Draft").click()
    detail = page.locator("#detail")
    expect(detail.get_by_role("heading", name="Draft")).to_be_focused()
    assert page.url.endswith(board_path)
    assert axe_violations(page) == []
    detail.get_by_label("Title").fill("Final draft")
    detail.get_by_label("Description").fill("Two pages, no more.")
    detail.get_by_label("Status").select_option(label="In Progress")
    detail.get_by_role("group", name="Assignees").get_by_label("Eve Edit").check()
    detail.get_by_label("Due date").fill("2031-03-04")
    detail.get_by_role("button", name="Save").click()
    expect(detail.get_by_text("Saved")).to_be_visible()
    card = column(page, "In Progress").get_by_role("listitem").filter(has_text="Final draft")
    expect(card).to_be_visible(timeout=5000)
    expect(card).to_contain_text("4 Mar 2031")
    expect(card).to_contain_text("EE")
    task_id = (card.get_attribute("id") or "").removeprefix("card-")
    due = server.request("GET", f"/api/v1/tasks/{task_id}", token=token(server, user)).json
    assert due["due_date"] == "2031-03-04T14:59:00+00:00"  # 23:59 in Tokyo
    detail.get_by_label("Comment").fill("Looks good to me.")
    detail.get_by_role("button", name="Add comment").click()
    expect(detail.get_by_text("Looks good to me.")).to_be_visible()
    expect(detail.get_by_label("Comment")).to_have_value("")
    expect(detail.get_by_text("moved it from To Do to In Progress")).to_be_visible()
    expect(detail.get_by_text("commented")).to_be_visible()
    assert page.evaluate("window.sameDocument") is True
    page.once("dialog", lambda dialog: dialog.accept())
    detail.get_by_role("button", name="Delete task").click()
    expect(page.get_by_role("link", name="Final draft")).to_have_count(0)
    expect(detail.locator(".detail-inner")).to_have_count(0)
    # Said where everyone sees it, and the focus is on the board, not the page's body.
    notice = page.get_by_role("alert")
    expect(notice).to_contain_text("Task “Final draft” deleted.")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    # "Undo" in the notice brings it back where it was, with its comment, without a reload.
    notice.get_by_role("button", name="Undo").click()
    expect(card).to_be_visible(timeout=5000)
    assert page.evaluate("window.sameDocument") is True
    page.reload()
    assert titles(page, "In Progress") == ["Final draft"]
    due = server.request("GET", f"/api/v1/tasks/{task_id}/comments", token=token(server, user))
    assert [c["body"] for c in due.json] == ["Looks good to me."]


def test_another_members_change_appears_and_idle_polls_cost_304(
    new_page: Any, server: LiveServer
) -> None:
    owner, member = api_user(server, "Olga Owner"), api_user(server, "Max Member")
    alice = new_page()
    log_in(alice, owner["email"])
    board_path = create_project(alice, "Together")
    alice.goto(board_path + "/settings")
    alice.get_by_label("Email").fill(member["email"])
    alice.get_by_role("button", name="Add member").click()
    expect(alice.get_by_role("button", name="Remove Max Member")).to_be_visible()
    alice.goto(board_path)

    bob = new_page()
    log_in(bob, member["email"])
    polls: list[int] = []

    def record(response: Any) -> None:
        request = response.request
        if urlsplit(response.url).path == board_path and request.headers.get("hx-request"):
            polls.append(response.status)

    bob.on("response", record)
    bob.goto(board_path)
    for _ in range(80):  # the first poll comes after 3 s
        if polls:
            break
        bob.wait_for_timeout(100)
    assert polls and set(polls) == {304}, polls

    add_task(alice, "Made by Olga")
    expect(column(bob, "To Do").get_by_role("link", name="Made by Olga")).to_be_visible(
        timeout=5000
    )
    olgas = column(bob, "To Do").get_by_role("listitem").filter(has_text="Made by Olga")
    move_card(bob, olgas, "Move right")
    expect(column(alice, "In Progress").get_by_role("link", name="Made by Olga")).to_be_visible(
        timeout=5000
    )
    assert 200 in polls


def test_a_non_member_gets_the_404_page(new_page: Any, server: LiveServer) -> None:
    owner, stranger = api_user(server, "Nora Owner"), api_user(server, "Sam Stranger")
    page = new_page()
    log_in(page, owner["email"])
    board_path = create_project(page, "Private")
    other = new_page()
    log_in(other, stranger["email"])
    response = other.goto(board_path)
    assert response.status == 404
    expect(other.get_by_role("heading", name="Not found")).to_be_visible()
    assert axe_violations(other) == []
    errors = other.console.take()
    assert all("404" in e for e in errors), errors


def test_every_page_is_accessible_and_fits_a_phone(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Pia Phone")
    page = new_page(width=375, height=740)
    for path in ("/login", "/register"):
        page.goto(path)
        assert axe_violations(page) == [], path
        assert not scrolls_sideways(page), path
    log_in(page, user["email"])
    board_path = create_project(page, "A project with a rather long name to wrap on phones")
    add_task(page, "A card with a long title that has to wrap on a narrow screen")
    column(page, "To Do").get_by_role("link").first.click()
    expect(page.locator("#detail-heading")).to_be_focused()
    assert axe_violations(page) == [], "board with the detail open"
    assert not scrolls_sideways(page), "board with the detail open"
    for path in ("/projects", board_path + "/settings", "/account", board_path):
        page.goto(path)
        assert axe_violations(page) == [], path
        assert not scrolls_sideways(page), path


def test_the_basics_work_without_javascript(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Noah Nojs")
    page = new_page(js=False)
    log_in(page, user["email"])
    board_path = create_project(page, "Plain HTML")
    todo = column(page, "To Do")
    todo.get_by_label("Title").fill("Works anyway")
    todo.get_by_role("button", name="Add task").click()
    expect(column(page, "To Do").get_by_role("link", name="Works anyway")).to_be_visible()
    move_card(page, column(page, "To Do").locator("li.card").first, "Move right", js=False)
    expect(column(page, "In Progress").get_by_role("link", name="Works anyway")).to_be_visible()
    column(page, "In Progress").get_by_role("link", name="Works anyway").click()
    page.wait_for_url("**/tasks/*")
    detail = page.locator("#detail")
    detail.get_by_label("Status").select_option(label="Done")
    detail.get_by_role("button", name="Save").click()
    page.wait_for_url("**/tasks/*")
    detail.get_by_label("Comment").fill("No scripts needed.")
    detail.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("No scripts needed.")).to_be_visible()
    page.goto(board_path)
    assert titles(page, "Done") == ["Works anyway"]
    column(page, "Done").get_by_role("link", name="Works anyway").click()
    page.locator("#detail").get_by_role("button", name="Delete task").click()
    expect(page.get_by_role("heading", name="Delete “Works anyway”?")).to_be_visible()
    page.get_by_role("button", name="Delete task").click()
    page.wait_for_url("**" + board_path)
    assert titles(page, "Done") == []


def test_owner_manages_members_and_deletes_the_project(new_page: Any, server: LiveServer) -> None:
    owner, member = api_user(server, "Ola Owner"), api_user(server, "Mo Member")
    page = new_page()
    log_in(page, owner["email"])
    board_path = create_project(page, "Short-lived")
    page.get_by_role("link", name="Settings").click()
    page.get_by_label("Email").fill("nobody@example")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_text("Not a valid email address.")).to_be_visible()
    expect(page.get_by_label("Email")).to_have_value("nobody@example")
    page.console.take()  # the refusal's 422, logged by the browser as a failed load
    page.get_by_label("Email").fill(member["email"])
    page.get_by_role("button", name="Add member").click()
    # Removing asks first: dismissed, nothing happens; accepted, the member goes.
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Remove Mo Member").click()
    expect(page.get_by_role("button", name="Remove Mo Member")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Mo Member").click()
    expect(page.get_by_role("button", name="Remove Mo Member")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Delete project").click()
    page.goto("/projects")
    expect(page.get_by_role("link", name="Short-lived")).to_be_visible()
    page.goto(board_path + "/settings")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete project").click()
    page.wait_for_url("**/projects")
    expect(page.get_by_role("link", name="Short-lived")).to_have_count(0)
    # Said, with its "Undo": the project comes back whole.
    expect(page.get_by_text("Project “Short-lived” deleted.")).to_be_visible()
    page.get_by_role("button", name="Undo").click()
    page.wait_for_url("**" + board_path)
    expect(page.get_by_text("Project “Short-lived” restored.")).to_be_visible()


def test_a_removed_member_is_shown_the_404_page(new_page: Any, server: LiveServer) -> None:
    owner, member = api_user(server, "Rita Owner"), api_user(server, "Ron Removed")
    page = new_page()
    log_in(page, owner["email"])
    board_path = create_project(page, "Closing ranks")
    page.goto(board_path + "/settings")
    page.get_by_label("Email").fill(member["email"])
    page.get_by_role("button", name="Add member").click()
    watcher = new_page()
    log_in(watcher, member["email"])
    watcher.goto(board_path)
    expect(column(watcher, "To Do")).to_be_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove Ron Removed").click()
    expect(watcher.get_by_role("heading", name="Not found")).to_be_visible(timeout=8000)
    errors = watcher.console.take()
    assert errors and all("404" in e for e in errors), errors


def test_clear_filters_appears_as_soon_as_a_filter_is_set(page: Any, server: LiveServer) -> None:
    user = api_user(server, "Fay Filter")
    log_in(page, user["email"])
    create_project(page, "Filtering")
    for title in ("Alpha", "Beta"):
        add_task(page, title)
    clear = page.get_by_role("link", name="Clear filters")
    expect(clear).to_have_count(0)
    page.get_by_label("Search").fill("alp")
    expect(column(page, "To Do").get_by_role("link", name="Beta")).to_have_count(0)
    expect(clear).to_be_visible()  # no reload needed
    page.get_by_label("Search").fill("")
    expect(column(page, "To Do").get_by_role("link", name="Beta")).to_be_visible()
    expect(clear).to_have_count(0)
    page.get_by_label("Due").select_option(label="Overdue")
    expect(clear).to_be_visible()
    clear.click()
    expect(page.get_by_label("Due")).to_have_value("")
    expect(column(page, "To Do").get_by_role("link", name="Alpha")).to_be_visible()

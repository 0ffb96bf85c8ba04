"""Columns, labels and checklists in Chromium: the columns page, the board in the
team's columns, labels and a checklist on a card; with JavaScript and without."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from .browserutil import (
    add_task,
    api_user,
    axe_violations,
    column,
    create_project,
    log_in,
    move_card,
    scrolls_sideways,
    titles,
)


def shape_board(page: Any, board: str) -> None:
    """Rename and add columns, a WIP limit and a label from /projects/<id>/columns."""
    page.goto(board + "/columns")
    assert axe_violations(page) == []
    add = page.get_by_role("form", name="Add column")
    add.get_by_label("Column name").fill("Review")
    add.get_by_label("Category").select_option("in_progress")
    add.get_by_label("WIP limit").fill("1")
    add.get_by_role("button", name="Add column").click()
    expect(page.get_by_text("Column “Review” added.")).to_be_visible()
    review = page.locator(".column-row", has=page.get_by_role("heading", name="Review"))
    review.get_by_role("button", name="Move left").click()
    expect(page.get_by_text("Column “Review” moved to place 3.")).to_be_visible()
    review.get_by_role("button", name="Move left").click()
    expect(page.get_by_text("Column “Review” moved to place 2.")).to_be_visible()
    names = page.locator(".column-row h3").all_inner_texts()
    assert names == ["To Do", "Review", "In Progress", "Done"]
    doing = page.locator(".column-row", has=page.get_by_role("heading", name="In Progress"))
    doing.get_by_label("Column name").fill("Doing")
    doing.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Column “Doing” saved.")).to_be_visible()
    assert page.locator(".column-row h3").all_inner_texts() == ["To Do", "Review", "Doing", "Done"]
    labels = page.get_by_role("form", name="Add label")
    labels.get_by_label("Label name").fill("Bug")
    labels.get_by_label("Color").select_option("red")
    labels.get_by_role("button", name="Add label").click()
    expect(page.get_by_text("Label “Bug” added.")).to_be_visible()
    # A duplicate name is refused next to the field, the typing kept.
    add = page.get_by_role("form", name="Add column")
    add.get_by_label("Column name").fill("review")
    add.get_by_role("button", name="Add column").click()
    expect(page.get_by_text("A column of this board already has this name.")).to_be_visible()
    expect(page.get_by_role("form", name="Add column").get_by_label("Column name")).to_have_value(
        "review"
    )
    page.console.take()  # the 409 of that refusal
    assert axe_violations(page) == []


def test_columns_labels_and_a_checklist_with_javascript(page: Any, server: Any) -> None:
    user = api_user(server, "Cora Columns")
    log_in(page, user["email"])
    board = create_project(page, "Shaped")
    add_task(page, "Write it")
    add_task(page, "Review it")
    shape_board(page, board)

    page.goto(board)
    headings = page.locator("section.column h2").all_inner_texts()
    assert headings == ["To Do", "Review", "Doing", "Done"]
    # Move right twice: To Do → Review → Doing, then back into Review past its limit.
    card = column(page, "To Do").locator("li.card").first
    move_card(page, card, "Move right")
    expect(column(page, "Review").get_by_role("link", name="Write it")).to_be_visible()
    second = column(page, "To Do").locator("li.card").first
    move_card(page, second, "Move right")
    expect(column(page, "Review").get_by_text("Over limit")).to_be_visible()
    assert titles(page, "Review") == ["Write it", "Review it"]

    # A label and a checklist from the detail; both show on the card front.
    column(page, "Review").get_by_role("link", name="Write it").click()
    detail = page.locator("#detail")
    detail.get_by_label("Bug").check()
    detail.get_by_role("button", name="Save").click()
    expect(detail.get_by_text("Saved")).to_be_visible()
    detail.get_by_label("New item").fill("Outline")
    detail.get_by_role("button", name="Add item").click()
    expect(detail.get_by_label("Outline")).to_be_visible()
    detail.get_by_label("New item").fill("Draft")
    detail.get_by_role("button", name="Add item").click()
    expect(detail.get_by_label("Draft")).to_be_visible()
    detail.get_by_label("Outline").check()
    expect(detail.get_by_text("1/2")).to_be_visible()
    front = column(page, "Review").locator("li.card").first
    expect(front.get_by_text("Bug")).to_be_visible()
    expect(front.get_by_text("Checklist 1/2 done")).to_be_attached()
    assert axe_violations(page) == []

    # The Label filter.
    page.get_by_label("Label", exact=True).select_option("Bug")
    expect(column(page, "Review").locator("li.card")).to_have_count(1)


def test_columns_page_without_javascript_and_on_a_phone(new_page: Any, server: Any) -> None:
    user = api_user(server, "Nora NoScript")
    page = new_page(width=375, js=False)
    log_in(page, user["email"])
    board = create_project(page, "Plain")
    page.goto(board + "/columns")
    assert not scrolls_sideways(page)
    add = page.get_by_role("form", name="Add column")
    add.get_by_label("Column name").fill("Later")
    add.get_by_label("Category").select_option("todo")
    add.get_by_role("button", name="Add column").click()
    expect(page.get_by_text("Column “Later” added.")).to_be_visible()
    later = page.locator(".column-row", has=page.get_by_role("heading", name="Later"))
    later.get_by_role("button", name="Delete column").click()
    page.get_by_role("button", name="Delete column").click()
    expect(page.get_by_text("Column “Later” deleted.")).to_be_visible()
    assert page.locator(".column-row h3").all_inner_texts() == ["To Do", "In Progress", "Done"]
    page.goto(board)
    assert not scrolls_sideways(page)

"""Moving in and out in Chromium: the import page (upload progress, the error in place,
the new board), the trash page's "Restore"."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from servers import LiveServer
from trello_exports import build_export, export_bytes

from .browserutil import (
    add_task,
    api_user,
    axe_violations,
    column,
    create_project,
    log_in,
    titles,
)


def test_a_trello_board_is_imported_from_the_page(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Tess Trello")
    page = new_page()
    log_in(page, user["email"])
    page.goto("/projects")
    page.get_by_role("link", name="import a project").click()
    expect(page.get_by_role("heading", name="Import a project")).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_label("a Trello board (.json)").check()
    # Not a Trello file: the reason in place, the choice kept, nothing imported.
    page.get_by_label("File").set_input_files(
        {"name": "notes.json", "mimeType": "application/json", "buffer": b'{"a": 1}'}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("alert")).to_contain_text("not a Trello board export")
    expect(page.get_by_label("a Trello board (.json)")).to_be_checked()
    page.console.take()  # the refusal's 422, logged by the browser as a failed load
    board = build_export(lists=3, cards_per_list=4, list_names=("Ideas", "Doing", "Done"))
    page.get_by_label("File").set_input_files(
        {"name": "board.json", "mimeType": "application/json", "buffer": export_bytes(board)}
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(board["name"], timeout=15000)
    expect(page.get_by_text("Imported “")).to_be_visible()
    assert len(titles(page, "Doing")) == 4
    expect(column(page, "Done")).to_be_visible()


def test_a_deleted_card_is_restored_from_the_trash_page(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Rob Restore")
    page = new_page()
    log_in(page, user["email"])
    board_path = create_project(page, "Second chances")
    add_task(page, "Come back")
    column(page, "To Do").get_by_role("link", name="Come back").click()
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#detail").get_by_role("button", name="Delete task").click()
    expect(column(page, "To Do").get_by_role("link", name="Come back")).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    expect(page.get_by_text("Come back", exact=True)).to_be_visible()
    assert axe_violations(page) == []
    page.get_by_role("button", name="Restore Come back").click()
    expect(page.get_by_text("Task “Come back” restored.")).to_be_visible()
    expect(page.get_by_text("The trash is empty.")).to_be_visible()
    page.goto(board_path)
    assert titles(page, "To Do") == ["Come back"]

"""Attachments in Chromium: the file picker, drag and drop onto the open card, a pasted
image, previews, the card's count, deleting with confirmation; and the plain form with
JavaScript off."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from playwright.sync_api import expect
from servers import LiveServer

from .browserutil import api_user, axe_violations, log_in, token


def tiny_png() -> bytes:
    """A real 2 by 2 PNG, so the preview has something to draw."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def a_card(server: LiveServer, name: str) -> tuple[dict[str, str], str, str]:
    user = api_user(server, name)
    auth = token(server, user)
    project = server.request("POST", "/api/v1/projects", {"title": "Files"}, token=auth).json
    task = server.request(
        "POST", f"/api/v1/projects/{project['id']}/tasks", {"title": "Needs files"}, token=auth
    ).json
    return user, project["id"], task["id"]


def open_card(page: Any, project_id: str) -> Any:
    page.goto(f"/projects/{project_id}")
    page.get_by_role("link", name="Needs files").click()
    detail = page.locator("#detail")
    expect(detail.get_by_role("heading", name="Needs files")).to_be_visible()
    return detail


def attachment_names(detail: Any) -> Any:
    return detail.locator(".attachment-name")


def test_pick_drop_and_paste_files_then_delete_one(new_page: Any, server: LiveServer) -> None:
    user, project_id, _ = a_card(server, "Fay Files")
    page = new_page()
    log_in(page, user["email"])
    detail = open_card(page, project_id)
    expect(detail.get_by_label("Attach file")).to_be_visible()
    expect(detail.get_by_role("button", name="Upload")).to_be_hidden()  # the pick uploads

    # The file picker: the file goes up at once.
    detail.get_by_label("Attach file").set_input_files(
        {"name": "meeting notes.txt", "mimeType": "text/plain", "buffer": b"Agenda\n" * 200}
    )
    expect(attachment_names(detail)).to_have_text(["meeting notes.txt"])
    expect(detail.get_by_text("1.4 KB")).to_be_visible()
    card = page.locator("#board li.card", has_text="Needs files")
    expect(card.get_by_title("1 attachment")).to_be_visible()

    # Dropped on the open card.
    png = list(tiny_png())
    page.evaluate(
        """bytes => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(bytes)], "dropped.png", {type: "image/png"}));
          const zone = document.querySelector("#detail .detail-inner h2");
          for (const type of ["dragenter", "dragover", "drop"]) {
            const init = {bubbles: true, cancelable: true, dataTransfer: data};
            zone.dispatchEvent(new DragEvent(type, init));
          }
        }""",
        png,
    )
    expect(attachment_names(detail)).to_have_text(["meeting notes.txt", "dropped.png"])
    preview = detail.locator(f"#attachment-{attachment_id(page, 'dropped.png')} img")
    expect(preview).to_be_visible()
    # Shown is not yet loaded: wait for the image itself, then check it is the picture.
    image = preview.element_handle()
    page.wait_for_function("img => img.complete", arg=image)
    assert page.evaluate("img => img.naturalWidth", image) == 2

    # A pasted screenshot.
    page.evaluate(
        """bytes => {
          const data = new DataTransfer();
          data.items.add(new File([new Uint8Array(bytes)], "image.png", {type: "image/png"}));
          document.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true}));
        }""",
        png,
    )
    expect(attachment_names(detail)).to_have_text(["meeting notes.txt", "dropped.png", "image.png"])
    expect(card.get_by_title("3 attachments")).to_be_visible()
    assert axe_violations(page) == []

    # Deleting asks first: dismissed, nothing happens; accepted, it goes.
    delete = detail.locator("li", has_text="dropped.png").get_by_role(
        "button", name="Delete attachment"
    )
    page.once("dialog", lambda dialog: dialog.dismiss())
    delete.click()
    expect(attachment_names(detail)).to_have_count(3)
    page.once("dialog", lambda dialog: dialog.accept())
    delete.click()
    expect(attachment_names(detail)).to_have_text(["meeting notes.txt", "image.png"])
    expect(card.get_by_title("2 attachments")).to_be_visible()


def attachment_id(page: Any, name: str) -> str:
    row = page.locator("#detail .attachment-list li", has_text=name)
    return row.get_attribute("id").removeprefix("attachment-")


def test_the_plain_form_attaches_without_javascript(new_page: Any, server: LiveServer) -> None:
    user, _, task_id = a_card(server, "Nora Nojs")
    page = new_page(js=False)
    log_in(page, user["email"])
    page.goto(f"/tasks/{task_id}")
    page.get_by_label("Attach file").set_input_files(
        {"name": "plan.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7\n" + b"0" * 99}
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Attached “plan.pdf”.")).to_be_visible()
    expect(page.locator(".attachment-name")).to_have_text(["plan.pdf"])
    # Nothing chosen: said next to the field.
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Choose a file to attach.")).to_be_visible()
    page.console.take()  # the refusal's 422, logged by the browser as a failed load
    page.get_by_role("button", name="Delete attachment").click()
    expect(page.get_by_role("heading", name="Delete the attachment “plan.pdf”?")).to_be_visible()
    page.get_by_role("button", name="Delete attachment").click()
    expect(page.get_by_text("Deleted the attachment “plan.pdf”.")).to_be_visible()
    expect(page.locator(".attachment-name")).to_have_count(0)

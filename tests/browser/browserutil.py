"""Helpers for the Chromium tests: accounts, the board's parts, axe-core, dragging."""

from __future__ import annotations

import uuid
from typing import Any

from servers import LiveServer

AXE = "/static/vendor/axe-core/axe.min.js"
PASSWORD = "browser-secret-1"


def unique_email(name: str) -> str:
    return f"{name.lower()}-{uuid.uuid4().hex[:8]}@example.com"


def api_user(server: LiveServer, name: str) -> dict[str, str]:
    """A registered account (through the API, quicker than the form)."""
    email = unique_email(name.split()[0])
    resp = server.request(
        "POST", "/api/v1/auth/register", {"email": email, "name": name, "password": PASSWORD}
    )
    assert resp.status == 201, resp.body
    return {"email": email, "name": name, "id": resp.json["id"]}


def token(server: LiveServer, user: dict[str, str]) -> str:
    """An API access token for the user, to check what the pages saved."""
    resp = server.request(
        "POST", "/api/v1/auth/tokens", {"email": user["email"], "password": PASSWORD}
    )
    assert resp.status == 201, resp.body
    return resp.json["access_token"]


def log_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/projects")


def create_project(page: Any, title: str) -> str:
    """Create a project from /projects; its board's path."""
    page.goto("/projects")
    page.get_by_label("Title").fill(title)
    page.get_by_role("button", name="Create project").click()
    page.wait_for_url("**/projects/*")
    return "/projects/" + page.url.rsplit("/projects/", 1)[1]


def add_task(page: Any, title: str) -> None:
    todo = page.get_by_role("region", name="To Do")
    todo.get_by_label("Title").fill(title)
    todo.get_by_role("button", name="Add task").click()
    todo.get_by_role("link", name=title, exact=True).wait_for()


def column(page: Any, name: str) -> Any:
    return page.get_by_role("region", name=name, exact=True)


def titles(page: Any, name: str) -> list[str]:
    return column(page, name).locator("a.card-title").all_inner_texts()


def axe_violations(page: Any) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now."""
    if page.evaluate("typeof window.axe") == "undefined":
        page.add_script_tag(url=AXE)
    found = page.evaluate(
        """async () => {
            const result = await axe.run(document);
            return result.violations
              .filter(v => v.impact === 'serious' || v.impact === 'critical')
              .map(v => v.id + " (" + v.impact + "): "
                + v.nodes.map(n => n.target.join(" ")).join(", "));
        }"""
    )
    return list(found)


def scrolls_sideways(page: Any) -> bool:
    return bool(
        page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")
    )


def drag(page: Any, source: Any, target: Any) -> None:
    """Drag a card with the mouse (SortableJS's fallback mode) to just above `target`.

    The hand moves in small steps, enters the target low and rises over its middle, which
    is what puts the card before it in a list, then rests a moment before letting go.
    """
    start = source.bounding_box()
    end = target.bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + 12
    x1 = end["x"] + end["width"] / 2
    low, high = end["y"] + end["height"] - 4, end["y"] + 6
    page.mouse.move(x0, y0)
    page.mouse.down()
    steps = 15
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (low - y0) * i / steps)
        page.wait_for_timeout(20)
    for i in range(1, 6):
        page.mouse.move(x1, low + (high - low) * i / 5)
        page.wait_for_timeout(30)
    page.wait_for_timeout(150)
    page.mouse.up()


def move_card(page: Any, card: Any, move: str, *, js: bool = True) -> None:
    """A card's "Move", then one of its moves ("Move right", "Move to top" …): from the
    board's menu, or, without JavaScript, from the card's move page."""
    card.get_by_role("link", name="Move").click()
    if js:
        page.get_by_role("menu").get_by_role("menuitem", name=move).click()
    else:
        page.wait_for_url("**/tasks/*/move")
        page.get_by_role("button", name=move).click()

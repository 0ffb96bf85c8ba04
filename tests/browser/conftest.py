"""Chromium tests: one waitress server and one headless browser for the whole session.

Debian's chromium is used (`/usr/bin/chromium`, or CHROMIUM_PATH); without it these tests
are skipped with the reason, except under CI=true, where that is an error.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from servers import LiveServer, app_env, live_server

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE = "/static/vendor/axe-core/axe.min.js"
PASSWORD = "browser-secret-1"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp("browser")
    env = app_env(f"sqlite:///{tmp / 'taskboard.db'}", tmp / "instance", RATELIMIT_ENABLED="false")
    with live_server(env, tmp) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        if IN_CI:
            pytest.fail(f"Chromium is required in CI but missing at {CHROMIUM}")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """Errors the pages of a context logged: console errors, uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def take(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors


@pytest.fixture
def new_page(browser: Any, server: LiveServer) -> Iterator[Any]:
    """new_page(width=…, js=…) opens a page in a fresh context (its own cookies)."""
    contexts: list[tuple[Any, Console]] = []

    def make(width: int = 1280, height: int = 900, js: bool = True) -> Any:
        context = browser.new_context(
            base_url=server.url,
            viewport={"width": width, "height": height},
            java_script_enabled=js,
        )
        context.set_default_timeout(10_000)
        console = Console()
        context.on(
            "console", lambda m: console.errors.append(m.text) if m.type == "error" else None
        )
        context.on("weberror", lambda e: console.errors.append(f"uncaught: {e.error} {e.error.stack}"))
        contexts.append((context, console))
        page = context.new_page()
        page.console = console
        return page

    yield make
    leftovers = [e for _, console in contexts for e in console.errors]
    for context, _ in contexts:
        context.close()
    assert leftovers == [], "the browser console logged errors"


@pytest.fixture
def page(new_page: Any) -> Any:
    return new_page()


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


def drag(page: Any, source: Any, target: Any, *, below: bool = False) -> None:
    """Drag with the mouse, in small steps as a hand does (SortableJS's fallback mode)."""
    start = source.bounding_box()
    end = target.bounding_box()
    x0, y0 = start["x"] + start["width"] / 2, start["y"] + 12
    x1 = end["x"] + end["width"] / 2
    y1 = end["y"] + (end["height"] - 6 if below else 6)
    page.mouse.move(x0, y0)
    page.mouse.down()
    steps = 15
    for i in range(1, steps + 1):
        page.mouse.move(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps)
        page.wait_for_timeout(20)
    page.wait_for_timeout(100)
    page.mouse.up()

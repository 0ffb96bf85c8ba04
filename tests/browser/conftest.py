"""Chromium tests: one waitress server and one headless browser for the whole session.

Debian's chromium is used (`/usr/bin/chromium`, or CHROMIUM_PATH); without it these tests
are skipped with the reason, except under CI=true, where that is an error.
"""

from __future__ import annotations

import os
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

    def make(width: int = 1280, height: int = 900, js: bool = True, zone: str = "UTC") -> Any:
        context = browser.new_context(
            base_url=server.url,
            viewport={"width": width, "height": height},
            java_script_enabled=js,
            timezone_id=zone,
        )
        context.set_default_timeout(10_000)
        console = Console()
        context.on(
            "console", lambda m: console.errors.append(m.text) if m.type == "error" else None
        )
        context.on(
            "weberror", lambda e: console.errors.append(f"uncaught: {e.error} {e.error.stack}")
        )
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

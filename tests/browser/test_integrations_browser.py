"""The integration pages in Chromium: the read-only board as an outsider, a webhook's page,
the calendar feed on /account; each accessible and whole on a phone."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from servers import LiveServer

from .browserutil import api_user, axe_violations, log_in, scrolls_sideways, token


def test_share_a_board_and_open_it_as_an_outsider(new_page: Any, server: LiveServer) -> None:
    owner = api_user(server, "Sasha Sharer")
    auth = token(server, owner)
    project = server.request("POST", "/api/v1/projects", {"title": "Shown"}, token=auth).json
    server.request(
        "POST", f"/api/v1/projects/{project['id']}/tasks", {"title": "Public card"}, token=auth
    )
    page = new_page()
    log_in(page, owner["email"])
    page.goto(f"/projects/{project['id']}/settings")
    page.get_by_role("button", name="Turn on read-only link").click()
    link = page.get_by_label("Read-only link")
    expect(link).to_be_visible()
    url = "/share/" + link.input_value().split("/share/", 1)[1]  # BASE_URL's origin
    assert axe_violations(page) == []

    outsider = new_page(width=375)
    outsider.goto(url)
    expect(outsider.get_by_role("heading", name="Shown")).to_be_visible()
    assert axe_violations(outsider) == [] and not scrolls_sideways(outsider)
    outsider.get_by_role("link", name="Public card").click()
    expect(outsider.get_by_role("heading", name="Public card")).to_be_visible()
    assert outsider.get_by_role("button").count() == 0  # nothing to press: read-only
    assert axe_violations(outsider) == []

    page.get_by_role("button", name="Turn off read-only link").click()
    expect(page.get_by_role("button", name="Turn on read-only link")).to_be_visible()
    outsider.goto(url)
    expect(outsider.get_by_text("Not Found").first).to_be_visible()
    outsider.console.take()  # the 404, logged by the browser as a failed load


def test_calendar_feed_and_webhook_pages(new_page: Any, server: LiveServer) -> None:
    user = api_user(server, "Cal Hooks")
    auth = token(server, user)
    project = server.request("POST", "/api/v1/projects", {"title": "Hooks"}, token=auth).json
    page = new_page()
    log_in(page, user["email"])
    page.goto("/account")
    page.get_by_role("button", name="Create calendar feed").click()
    feed = page.get_by_label("Calendar feed URL")
    expect(feed).to_have_value(re.compile(r"/calendar/.+\.ics$"))
    assert axe_violations(page) == []

    page.goto(f"/projects/{project['id']}/settings")
    page.get_by_label("URL", exact=True).fill("ftp://example.com/nope")
    page.get_by_label("task.created").check()
    page.get_by_role("button", name="Add webhook").click()
    expect(page.get_by_text("URL must start with http:// or https://")).to_be_visible()
    page.console.take()  # the refusal's 422
    assert axe_violations(page) == []

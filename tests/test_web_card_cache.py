"""The board's card fragments are kept between loads (taskboard/web/card_html.py): never
shown stale, the same for every viewer, and bounded."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import ApiUser
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, new_client, text, web_login

from taskboard.web import card_html

API = "/api/v1"


def card_html_of(html: str, task_id: str) -> str:
    found = re.search(rf'<li class="card[^"]*" id="card-{task_id}".*?</div></li>', html, re.S)
    assert found, f"card {task_id} not on the page"
    return found[0]


@pytest.fixture
def shown(client: FlaskClient, alice: ApiUser, bob: ApiUser) -> dict[str, Any]:
    """Alice on the pages with one card, assigned to Bob, with a label."""
    project = alice.create_project("Kept")
    alice.add_member(project["id"], bob)
    label = alice.post(
        f"{API}/projects/{project['id']}/labels", json={"name": "ux", "color": "blue"}
    )
    task = alice.create_task(
        project["id"], "Card", assignee_ids=[bob.id], label_ids=[label.json["id"]]
    )
    web_login(client, alice.email)
    card_html.clear()
    url = f"/projects/{project['id']}"

    def card() -> str:
        return card_html_of(text(client.get(url, headers=HX)), task["id"])

    return {"task": task, "label": label.json, "url": url, "card": card}


def test_a_change_of_anything_a_card_shows_is_shown_at_the_next_load(
    shown: dict[str, Any], alice: ApiUser, bob: ApiUser
) -> None:
    card, tid = shown["card"], shown["task"]["id"]
    first = card()
    assert card() == first  # kept: the same fragment again
    assert "ux" in first and ">BB<" in first
    alice.patch(f"{API}/labels/{shown['label']['id']}", json={"name": "design"})
    assert ">design<" in card()  # a label's new name: not the card's own row
    bob.patch(f"{API}/users/me", json={"name": "Zed Young"})
    assert ">ZY<" in card()  # an assignee's new name
    assert "i-comment" not in card()
    alice.post(f"{API}/tasks/{tid}/comments", json={"body": "hello"})
    assert 'title="1 comment"' in card()
    alice.post(f"{API}/tasks/{tid}/checklist", json={"text": "step"})
    assert "0/1" in card()
    alice.patch(f"{API}/tasks/{tid}", json={"due_date": "2030-01-02T10:00:00Z"})
    assert "2 Jan 2030, 10:00" in card()


def test_a_kept_card_follows_the_viewers_zone(
    shown: dict[str, Any], client: FlaskClient, alice: ApiUser
) -> None:
    alice.patch(f"{API}/tasks/{shown['task']['id']}", json={"due_date": "2030-01-02T10:00:00Z"})
    assert "2 Jan 2030, 10:00" in shown["card"]()
    client.set_cookie("tz", "Asia/Tokyo")
    assert "2 Jan 2030, 19:00" in shown["card"]()
    client.set_cookie("tz", "UTC")
    assert "2 Jan 2030, 10:00" in shown["card"]()


def test_every_viewer_gets_the_same_card(app: Flask, shown: dict[str, Any], bob: ApiUser) -> None:
    """Nothing of the viewer's own is in a card: another member's page shows the same
    fragment, whether it was kept from Alice's load or rendered for Bob."""
    alices = shown["card"]()
    other = new_client(app)
    web_login(other, bob.email)
    bobs = card_html_of(text(other.get(shown["url"], headers=HX)), shown["task"]["id"])
    card_html.clear()
    fresh = card_html_of(text(other.get(shown["url"], headers=HX)), shown["task"]["id"])
    assert alices == bobs == fresh


def test_the_cache_is_bounded(
    monkeypatch: pytest.MonkeyPatch, client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project("Many")
    for i in range(6):
        alice.create_task(project["id"], f"card {i}")
    web_login(client, alice.email)
    monkeypatch.setattr(card_html, "ENTRIES", 4)
    card_html.clear()
    page = text(client.get(f"/projects/{project['id']}", headers=HX))
    assert all(f">card {i}<" in page for i in range(6))
    assert len(card_html._cache) == 4


def test_a_card_with_a_long_description_is_rendered_not_kept(
    client: FlaskClient, alice: ApiUser
) -> None:
    project = alice.create_project("Long")
    alice.create_task(project["id"], "long", description="x" * (card_html.LONG_DESCRIPTION + 1))
    alice.create_task(project["id"], "short", description="x")
    web_login(client, alice.email)
    card_html.clear()
    page = text(client.get(f"/projects/{project['id']}", headers=HX))
    assert ">long<" in page and ">short<" in page
    assert len(card_html._cache) == 1

"""Helpers for the page tests: CSRF tokens read from the pages, logging in through the form."""

from __future__ import annotations

import re
from typing import Any

from conftest import PASSWORD
from flask import Flask
from flask.testing import FlaskClient

HX = {"HX-Request": "true"}
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_CARD = re.compile(r'<li class="card[^"]*" id="card-([0-9a-f-]{36})"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def csrf(client: FlaskClient, url: str = "/login") -> str:
    resp = client.get(url)
    assert resp.status_code == 200, resp.status_code
    return csrf_from(resp.get_data(as_text=True))


def web_login(client: FlaskClient, email: str, password: str = PASSWORD) -> str:
    """Log in through the form; the CSRF token of the new session."""
    resp = client.post(
        "/login", data={"csrf_token": csrf(client), "email": email, "password": password}
    )
    assert resp.status_code == 303, resp.get_data(as_text=True)
    return csrf(client, "/projects")


def card_ids(html: str) -> list[str]:
    return _CARD.findall(html)


def column_html(html: str, status: str) -> str:
    """The markup of one column's card list."""
    start = html.index(f'id="list-{status}"')
    return html[start : html.index("</ul>", start)]


def text(resp: Any) -> str:
    return resp.get_data(as_text=True)


def new_client(app: Flask) -> FlaskClient:
    return app.test_client()

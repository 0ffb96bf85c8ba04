"""Every page: strict markup for the Content-Security-Policy, and the labels the spec names."""

from __future__ import annotations

import re

from conftest import ApiUser
from flask import Flask
from flask.testing import FlaskClient
from webutil import HX, csrf_from, text, web_login

INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline script"),
    (re.compile(r"<style", re.I), "style block"),
    (re.compile(r"\sstyle=", re.I), "style attribute"),
    (re.compile(r"\son[a-z]+=", re.I), "event handler attribute"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on handler (needs eval)"),
    (re.compile(r"javascript:|js:", re.I), "script URL"),
]


def assert_strict(html: str, where: str) -> None:
    for pattern, what in INLINE:
        match = pattern.search(html)
        assert match is None, f"{what} on {where}: {match and match.group(0)}"


def test_no_page_needs_inline_script_or_style(
    client: FlaskClient, app: Flask, alice: ApiUser, bob: ApiUser
) -> None:
    project = alice.create_project("Strict")
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "Card", assignee_ids=[bob.id])
    alice.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "<b>hi</b>"})
    anonymous = app.test_client()
    pages = {url: anonymous.get(url) for url in ("/login", "/register", "/nowhere")}
    token = web_login(client, alice.email)
    for url in (
        "/projects",
        f"/projects/{project['id']}",
        f"/projects/{project['id']}/settings",
        f"/tasks/{task['id']}",
        "/account",
        "/projects/00000000-0000-0000-0000-000000000000",
    ):
        pages[url] = client.get(url)
    pages["fragment: board"] = client.get(f"/projects/{project['id']}", headers=HX)
    pages["fragment: detail"] = client.get(f"/tasks/{task['id']}", headers=HX)
    pages["confirm"] = client.post(f"/tasks/{task['id']}/delete", data={"csrf_token": token})
    for where, resp in pages.items():
        html = text(resp)
        assert_strict(html, where)
        if not where.startswith("fragment"):
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
            assert 'name="htmx-config"' in html and '"includeIndicatorCSS": false' in html
    assert "&lt;b&gt;hi&lt;/b&gt;" in text(pages[f"/tasks/{task['id']}"])


def test_every_page_for_a_logged_in_user_has_log_out(client: FlaskClient, alice: ApiUser) -> None:
    project = alice.create_project("Out")
    web_login(client, alice.email)
    for url in ("/projects", f"/projects/{project['id']}", "/account", "/nowhere"):
        html = text(client.get(url))
        assert '<form method="post" action="/logout"' in html, url
        assert ">Log out</button>" in html, url
        assert csrf_from(html)
        assert 'hx-headers:inherited=\'{"X-CSRFToken": "' in html, url

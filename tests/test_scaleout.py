"""Stateless web processes: two waitress servers on one PostgreSQL database and one Redis.

Whatever is made through one server — a bearer token, a login session, a change to the
data — works and shows through the other, because neither keeps state of its own.
"""

from __future__ import annotations

import html
import re
import urllib.parse
from collections.abc import Iterator

import pytest
import redis
from conftest import IN_CI, REDIS_URL
from servers import LiveServer, Response, app_env, live_server

pytestmark = pytest.mark.slow

SECRET = "scale-out-shared-secret-0123456789abcdef"
PASSWORD = "s3cret-enough"


@pytest.fixture(scope="module")
def servers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two waitress processes with different instance folders, sharing only what is shared."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError:
        if IN_CI:
            pytest.fail(f"Redis is required in CI but does not answer at {REDIS_URL}")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    url = request.getfixturevalue("postgres").create_database("taskboard_scaleout")
    tmp = tmp_path_factory.mktemp("scaleout")

    def env(name: str) -> dict[str, str]:
        # Rate limits stay on (their counters live in the same Redis) but high enough that
        # reruns within a minute, or other runs on this Redis, cannot make this test flaky.
        return app_env(
            url,
            tmp / name,
            SECRET_KEY=SECRET,
            REDIS_URL=REDIS_URL,
            TASKBOARD_RATE_AUTH="1000/minute",
            TASKBOARD_RATE_API="10000/minute",
        )

    with live_server(env("a"), tmp) as a, live_server(env("b"), tmp) as b:
        yield a, b


def register_and_log_in(server: LiveServer, email: str) -> dict[str, str]:
    resp = server.request(
        "POST", "/api/v1/auth/register", {"email": email, "name": "Scale", "password": PASSWORD}
    )
    assert resp.status == 201, resp.body
    resp = server.request("POST", "/api/v1/auth/tokens", {"email": email, "password": PASSWORD})
    assert resp.status == 201, resp.body
    return resp.json


def test_both_servers_answer_on_the_shared_database_and_queue(servers):
    for server in servers:
        resp = server.request("GET", "/healthz")
        assert resp.json == {"status": "ok", "database": "ok", "queue": "ok"}


def test_a_token_made_on_one_server_works_on_the_other(servers):
    a, b = servers
    pair = register_and_log_in(a, "token@example.com")
    me = b.request("GET", "/api/v1/users/me", token=pair["access_token"])
    assert me.status == 200 and me.json["email"] == "token@example.com"
    refreshed = b.request(
        "POST", "/api/v1/auth/tokens/refresh", {"refresh_token": pair["refresh_token"]}
    )
    assert refreshed.status == 201
    token = refreshed.json["access_token"]
    assert a.request("GET", "/api/v1/users/me", token=token).status == 200
    # The refresh made on B is seen by A: the old refresh token is spent there too, and
    # its reuse revokes the whole login, on both servers.
    again = a.request(
        "POST", "/api/v1/auth/tokens/refresh", {"refresh_token": pair["refresh_token"]}
    )
    assert again.status == 401
    assert b.request("GET", "/api/v1/users/me", token=token).status == 401
    # A logout on one server ends the login on the other.
    token = register_and_log_in(a, "token2@example.com")["access_token"]
    assert b.request("DELETE", "/api/v1/auth/tokens", token=token).status == 204
    assert a.request("GET", "/api/v1/users/me", token=token).status == 401


def test_a_change_made_through_one_server_is_visible_through_the_other(servers):
    a, b = servers
    token = register_and_log_in(a, "data@example.com")["access_token"]
    project = b.request("POST", "/api/v1/projects", {"title": "Shared"}, token=token)
    assert project.status == 201
    pid = project.json["id"]
    assert a.request("GET", f"/api/v1/projects/{pid}", token=token).json["title"] == "Shared"

    task = a.request("POST", f"/api/v1/projects/{pid}/tasks", {"title": "Card"}, token=token)
    assert task.status == 201
    moved = b.request(
        "PATCH", f"/api/v1/tasks/{task.json['id']}", {"status": "done"}, token=token
    )
    assert moved.status == 200
    seen = a.request("GET", f"/api/v1/tasks/{task.json['id']}", token=token)
    assert (seen.json["status"], seen.json["position"]) == ("done", 0)

    assert b.request("DELETE", f"/api/v1/projects/{pid}", token=token).status == 204
    assert a.request("GET", f"/api/v1/projects/{pid}", token=token).status == 404


# Session cookies ----------------------------------------------------------------------------


def cookies_from(resp: Response) -> dict[str, str]:
    jar = {}
    for header in resp.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{name}={value}" for name, value in jar.items())}


def csrf_token(page: bytes) -> str:
    field = re.search(rb'<input[^>]*name="csrf_token"[^>]*>', page)
    assert field is not None, "the login form carries no csrf_token field"
    value = re.search(rb'value="([^"]*)"', field.group(0))
    assert value is not None
    return html.unescape(value.group(1).decode())


def test_a_login_session_made_on_one_server_works_on_the_other(servers):
    a, b = servers
    form = a.request("GET", "/login", follow_redirects=False)
    if form.status == 404:
        pytest.skip("no /login page on this build: the session half needs the web pages")
    assert form.status == 200, form.body[:500]
    token = register_and_log_in(a, "session@example.com")["access_token"]
    created = a.request("POST", "/api/v1/projects", {"title": "Seen by session"}, token=token)
    assert created.status == 201

    jar = cookies_from(form)
    body = urllib.parse.urlencode(
        {"email": "session@example.com", "password": PASSWORD, "csrf_token": csrf_token(form.body)}
    ).encode()
    login = a.request(
        "POST",
        "/login",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **cookie_header(jar)},
        follow_redirects=False,
    )
    assert login.status in (302, 303), login.body[:500]
    jar.update(cookies_from(login))

    anonymous = b.request("GET", "/projects", follow_redirects=False)
    assert anonymous.status in (302, 303)
    assert "/login" in anonymous.headers["Location"]
    page = b.request("GET", "/projects", headers=cookie_header(jar), follow_redirects=False)
    assert page.status == 200, page.headers.get("Location")
    assert b"Seen by session" in page.body

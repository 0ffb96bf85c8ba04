"""The API over real HTTP: waitress serving wsgi:app after `flask db upgrade`, per database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import LiveServer, app_env, live_server

pytestmark = pytest.mark.slow


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    tmp = tmp_path_factory.mktemp(f"http-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'taskboard.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("taskboard_http")
    with live_server(app_env(url, tmp / "instance"), tmp) as srv:
        yield srv


def login(server: LiveServer, email: str) -> str:
    resp = server.request(
        "POST",
        "/api/v1/auth/register",
        {"email": email, "name": email.split("@")[0], "password": "s3cret-enough"},
    )
    assert resp.status == 201, resp.body
    resp = server.request(
        "POST", "/api/v1/auth/tokens", {"email": email, "password": "s3cret-enough"}
    )
    assert resp.status == 201, resp.body
    return resp.json["access_token"]


def test_health(server: LiveServer) -> None:
    resp = server.request("GET", "/healthz")
    assert resp.status == 200
    assert resp.json == {"status": "ok", "database": "ok", "queue": "ok"}


def test_quick_start_flow(server: LiveServer) -> None:
    token = login(server, "quick@example.com")
    project = server.request("POST", "/api/v1/projects", {"title": "Launch"}, token=token)
    assert project.status == 201
    pid = project.json["id"]
    titles = ["Write copy", "Design", "Ship"]
    for title in titles:
        resp = server.request(
            "POST", f"/api/v1/projects/{pid}/tasks", {"title": title}, token=token
        )
        assert resp.status == 201
    listed = server.request("GET", f"/api/v1/projects/{pid}/tasks?per_page=2", token=token)
    assert listed.status == 200
    assert [t["title"] for t in listed.json] == titles[:2]
    assert '"total": 3' in listed.headers["X-Pagination"]

    last = server.request("GET", f"/api/v1/projects/{pid}/tasks?page=2&per_page=2", token=token)
    moved = server.request(
        "PATCH",
        f"/api/v1/tasks/{last.json[0]['id']}",
        {"status": "in_progress", "due_date": "2030-01-02T03:04:05+02:00"},
        token=token,
    )
    assert moved.status == 200
    assert moved.json["status"] == "in_progress" and moved.json["position"] == 0
    assert moved.json["due_date"] == "2030-01-02T01:04:05+00:00"


def test_bad_input_gets_clear_4xx(server: LiveServer) -> None:
    token = login(server, "bad@example.com")
    malformed = server.request(
        "POST",
        "/api/v1/projects",
        data=b"{not json",
        token=token,
        headers={"Content-Type": "application/json"},
    )
    assert malformed.status == 400 and malformed.json["code"] == 400
    huge = server.request(
        "POST", "/api/v1/projects", {"title": "x" * (1024 * 1024 + 10)}, token=token
    )
    assert huge.status == 413
    wrong_type = server.request("POST", "/api/v1/projects", {"title": 5}, token=token)
    assert wrong_type.status == 422 and "title" in wrong_type.json["errors"]["json"]
    bad_uuid = server.request("GET", "/api/v1/projects/not-a-uuid", token=token)
    assert bad_uuid.status == 404
    listed = server.request("GET", "/api/v1/projects", token=token)
    assert listed.json == []


def test_unauthenticated_answer(server: LiveServer) -> None:
    resp = server.request("GET", "/api/v1/projects")
    assert resp.status == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert resp.json["code"] == 401


def test_docs_are_served_locally(server: LiveServer) -> None:
    spec = server.request("GET", "/api/openapi.json")
    assert spec.status == 200 and spec.json["openapi"].startswith("3.")
    for path in ("/api/docs/", "/api/redoc/"):
        page = server.request("GET", path)
        assert page.status == 200
        html = page.body.decode()
        assert "http://" not in html and "https://" not in html
        for src in re.findall(r'(?:src|href)="(/[^"]+)"', html):
            assert server.request("GET", src).status == 200, src


def test_one_log_line_per_request(server: LiveServer) -> None:
    server.request("GET", "/healthz?probe=1")
    lines = [line for line in server.log().splitlines() if "GET /healthz 200" in line]
    assert lines and re.search(r"GET /healthz 200 \d+\.\dms", lines[-1])


def test_log_has_no_tokens(server: LiveServer, tmp_path: Path) -> None:
    token = login(server, "quiet@example.com")
    server.request("GET", "/api/v1/users/me", token=token)
    assert token not in server.log()


def _multipart(name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----http" + "x" * 16
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: text/html\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{boundary}--\r\n".encode(), boundary


def test_attachments_over_http(server: LiveServer) -> None:
    """A hostile file goes up and comes down inert; one over 25 MiB is a JSON 413."""
    token = login(server, "files@example.com")
    project = server.request("POST", "/api/v1/projects", {"title": "F"}, token=token).json
    task = server.request(
        "POST", f"/api/v1/projects/{project['id']}/tasks", {"title": "T"}, token=token
    ).json
    url = f"/api/v1/tasks/{task['id']}/attachments"
    body, boundary = _multipart("..%2F..%2Fevil%0A.html", b"<script>alert(1)</script>")
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    made = server.request("POST", url, token=token, data=body, headers=headers)
    assert made.status == 201, made.body
    assert "/" not in made.json["filename"] and "\n" not in made.json["filename"]
    assert made.json["content_type"] == "text/plain"
    got = server.request("GET", f"/api/v1/attachments/{made.json['id']}/download", token=token)
    assert got.status == 200 and got.body == b"<script>alert(1)</script>"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    big, boundary = _multipart("big.bin", b"\0" * (26 * 1024 * 1024))
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    refused = server.request("POST", url, token=token, data=big, headers=headers)
    assert refused.status == 413 and refused.json["code"] == 413
    listed = server.request("GET", url, token=token).json
    assert [a["id"] for a in listed] == [made.json["id"]]

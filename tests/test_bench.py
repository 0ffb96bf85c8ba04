"""The benchmark's ceiling is fair: bench/bare.py (and bench/floor.py, the same through
Flask) answer exactly what the API answers.

A smoke check of the harness's pieces, not a timing: a seeded database served by waitress,
and the bare app called on the same database and token (no wrk, no load).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from servers import ROOT, app_env, flask, live_server

sys.path.insert(0, str(ROOT))
from bench import bare, floor


def call_bare(db: bare.Database, path: str, token: str) -> tuple[str, dict[str, str], Any]:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path.split("?")[0],
        "QUERY_STRING": path.partition("?")[2],
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.input": io.BytesIO(),
    }
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        answer["status"], answer["headers"] = status, dict(headers)

    saved, bare.DB = bare.DB, db
    try:
        body = b"".join(bare.app(environ, start_response))
    finally:
        bare.DB = saved
    return answer["status"], answer["headers"], json.loads(body)


@pytest.fixture
def database_url(request: Any, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'bench.db'}"
    return request.getfixturevalue("postgres").create_database("taskboard_bench")


@pytest.mark.parametrize("database_url", ["sqlite", "postgresql"], indirect=True)
def test_bare_ceiling_answers_what_the_api_answers(database_url: str, tmp_path: Path) -> None:
    env = app_env(database_url, tmp_path / "instance", RATELIMIT_ENABLED="false")
    flask(["db", "upgrade"], env)
    flask(["demo", "seed", "--tasks", "120"], env)
    with live_server(env, tmp_path) as server:
        login = {"email": "demo@example.com", "password": "taskboard-demo"}
        token = server.request("POST", "/api/v1/auth/tokens", login).json["access_token"]
        projects = server.request("GET", "/api/v1/projects", token=token).json
        pid = next(p["id"] for p in projects if p["title"] == "Benchmark")
        db = bare.Database(database_url)
        paths = [f"/api/v1/projects/{pid}/tasks?per_page=50&page={n}" for n in (1, 2, 3, 4)]
        first = server.request("GET", paths[0], token=token).json
        paths.append(f"/api/v1/tasks/{first[0]['id']}")
        flask_floor = floor.app.test_client()
        for path in paths:
            expected = server.request("GET", path, token=token)
            status, headers, body = call_bare(db, path, token)
            assert (status[:3], body) == ("200", expected.json), path
            saved, bare.DB = bare.DB, db
            try:
                through_flask = flask_floor.get(path, headers={"Authorization": f"Bearer {token}"})
            finally:
                bare.DB = saved
            assert (through_flask.status_code, through_flask.json) == (200, expected.json), path
            if "X-Pagination" in expected.headers:
                assert json.loads(headers["X-Pagination"]) == json.loads(
                    expected.headers["X-Pagination"]
                )
                assert json.loads(through_flask.headers["X-Pagination"]) == json.loads(
                    expected.headers["X-Pagination"]
                )
        assert call_bare(db, paths[0], "tba_forged")[0].startswith("401")
        assert call_bare(db, paths[0].replace(pid[:8], "0" * 8), token)[0].startswith("404")

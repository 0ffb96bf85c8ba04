"""Schemathesis fuzzes the API from its own OpenAPI document, every check on, per database.

It runs against waitress after `flask db upgrade`, as a logged-in user with a personal
write token (a personal token survives the fuzzer logging out or changing the password).
Any server error, undocumented status code or header, response that breaks its schema,
or accepted schema-violating request fails the test; the report is in the failure message.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import BIN, ROOT, app_env, live_server

pytestmark = pytest.mark.slow

MAX_EXAMPLES = os.environ.get("TASKBOARD_FUZZ_EXAMPLES", "25")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_schemathesis_finds_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("taskboard_fuzz")
    env = app_env(url, tmp_path / "instance", RATELIMIT_ENABLED="false")
    with live_server(env, tmp_path) as server:
        account = {"email": "fuzz@example.com", "name": "Fuzz", "password": "fuzzing-password"}
        assert server.request("POST", "/api/v1/auth/register", account).status == 201
        credentials = {"email": account["email"], "password": account["password"]}
        login = server.request("POST", "/api/v1/auth/tokens", credentials)
        assert login.status == 201, login.body
        access = login.json["access_token"]
        made = server.request(
            "POST", "/api/v1/users/me/tokens", {"name": "fuzz", "scope": "write"}, token=access
        )
        assert made.status == 201, made.body
        result = subprocess.run(
            [
                str(BIN / "st"),
                "--config-file",
                str(ROOT / "tests" / "fuzz" / "schemathesis.toml"),
                "run",
                f"{server.url}/api/openapi.json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Bearer {made.json['token']}",
                "--max-examples",
                MAX_EXAMPLES,
                "--workers",
                "2",
                "--seed",
                os.environ.get("TASKBOARD_FUZZ_SEED", "20261124"),
                "--no-color",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
        )
        report = result.stdout[-20000:] + result.stderr[-5000:]
        assert result.returncode == 0, report
        assert "Traceback" not in server.log(), server.log()[-5000:]

"""Schemathesis fuzzes the API from its own OpenAPI document, every check on, per database.

It runs against waitress after `flask db upgrade`, as a logged-in user with a personal
write token (a personal token survives the fuzzer logging out or changing the password).
Any server error, undocumented status code or header, response that breaks its schema,
or accepted schema-violating request fails the test; the report is in the failure message.

Schemathesis runs with one worker thread. On CPython 3.11 (every release up to 3.11.7,
the one this project runs on, and Debian's 3.11.2) two threads building AST objects at
once can corrupt a shared recursion counter when a garbage collection hands the GIL over
mid-build (CPython gh-106905, fixed in 3.11.8 and 3.12.2): hypothesis' `ast.parse` of a
filter's source then raises `SystemError: AST constructor recursion depth mismatch` in a
random phase, and the run reports a runtime error that has nothing to do with the API.
With one worker no two threads parse at once. `test_ast_race` below shows
both halves: the race is there with two threads and absent with one.
"""

from __future__ import annotations

import os
import subprocess
import sys
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
                # A project has a read-only link only once its owner turns it on (SPEC
                # §14), so GET …/share right after POST /projects is 404 by design; the
                # stateful phase infers a link from POST /projects to every path under it
                # and would call that a resource gone missing. Its other checks stay on.
                "--exclude-checks",
                "ensure_resource_availability",
                "--header",
                f"Authorization: Bearer {made.json['token']}",
                "--max-examples",
                MAX_EXAMPLES,
                "--workers",
                "1",  # see the module's docstring
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


AST_RACE = """
import ast, gc, sys, threading, time

SRC = "\\n".join(f"def f{i}(a, b=lambda x: [y for y in x]):\\n    return {{'k': (a, b)}}"
                  for i in range(40))
errors = []

class Finalised:
    def __del__(self):
        sum(range(50))  # Python code run by the collector: the GIL may change hands

def work(stop):
    while not stop.is_set():
        for _ in range(20):
            a, b = Finalised(), Finalised()
            a.other, b.other = b, a  # a cycle: only the cyclic collector frees it
        try:
            ast.parse(SRC)
        except SystemError as exc:
            errors.append(exc)

gc.set_threshold(50, 1, 1)
sys.setswitchinterval(1e-6)
stop = threading.Event()
threads = [threading.Thread(target=work, args=(stop,)) for _ in range(int(sys.argv[1]))]
for thread in threads:
    thread.start()
time.sleep(float(sys.argv[2]))
stop.set()
for thread in threads:
    thread.join()
print(len(errors))
"""


def _ast_errors(threads: int, seconds: float) -> int:
    result = subprocess.run(
        [str(BIN / "python"), "-c", AST_RACE, str(threads), str(seconds)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return int(result.stdout.split()[-1])


def test_ast_race() -> None:
    """Why the fuzz run uses one worker: `ast.parse` in one thread never fails, and where
    this Python has the race (3.11 before 3.11.8) two threads hit it within seconds."""
    assert _ast_errors(threads=1, seconds=3) == 0
    if sys.version_info[:3] < (3, 11, 8):
        assert _ast_errors(threads=2, seconds=3) > 0, "the race is gone: workers may be raised"

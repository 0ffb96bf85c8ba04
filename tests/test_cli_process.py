"""The admin commands as an operator runs them: real `flask` processes, SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from servers import BIN, ROOT, app_env, flask

pytestmark = pytest.mark.slow

PASSWORD = "a long enough secret"


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A migrated database of its own, and the environment that points `flask` at it."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'taskboard.db'}"
    else:
        url = request.getfixturevalue("postgres").create_database("taskboard_cli")
    environment = app_env(url, tmp_path / "instance")
    environment.pop("TASKBOARD_ENV", None)
    flask(["db", "upgrade"], environment)
    return environment


def assert_one_line_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [f"Error: {message}"]


def test_admin_commands_in_real_processes(env):
    args = ["--email", "Ops@Example.com", "--name", "Ops", "--password", PASSWORD, "--admin"]
    created = flask(["users", "create", *args], env)
    assert created.stdout.strip() == "Created administrator ops@example.com (Ops)."

    listing = flask(["users", "list"], env).stdout.splitlines()
    assert listing[0].split()[:2] == ["EMAIL", "NAME"]
    assert listing[1].split()[:5] == ["ops@example.com", "Ops", "yes", "yes", "0"]

    duplicate = flask(
        ["users", "create", "--email", "ops@example.com", "--name", "X", "--password", PASSWORD],
        env,
        check=False,
    )
    assert_one_line_error(duplicate, "An account with this email already exists.")
    weak = flask(["users", "set-password", "ops@example.com", "--password", "short"], env, False)
    assert_one_line_error(weak, "Password must be between 8 and 128 characters.")
    unknown = flask(["tokens", "revoke", "ghost@example.com"], env, check=False)
    assert_one_line_error(unknown, "No user with email ghost@example.com.")

    deactivated = flask(["users", "deactivate", "ops@example.com"], env).stdout
    assert deactivated.startswith("Deactivated ops@example.com")
    listing = flask(["users", "list"], env).stdout
    assert "ops@example.com" in listing and " no " in listing
    assert "Activated" in flask(["users", "activate", "ops@example.com"], env).stdout
    revoked = flask(["tokens", "revoke", "ops@example.com"], env).stdout
    assert revoked.strip() == (
        "Revoked 0 access/refresh token pairs and 0 personal tokens of ops@example.com."
    )


def test_demo_seed_in_a_real_process(env):
    first = flask(["demo", "seed", "--tasks", "300"], env)
    assert "Log in as demo@example.com with password taskboard-demo" in first.stdout
    assert '"Benchmark" now has 300 tasks' in first.stdout
    again = flask(["demo", "seed", "--tasks", "300"], env)
    assert "nothing added" in again.stdout
    assert '"Benchmark" already has 300 tasks' in again.stdout
    listing = flask(["users", "list"], env).stdout
    assert listing.strip().endswith("3 users")


# Production mode refusing to start ----------------------------------------------------------


def production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DATABASE_URL")}
    env.update(
        TASKBOARD_ENV="production",
        TASKBOARD_INSTANCE=str(tmp_path / "instance"),
        BASE_URL="https://tasks.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'prod.db'}",
        FLASK_APP="wsgi",
    )
    return env


def test_flask_refuses_production_without_secret_key_in_one_line(tmp_path):
    result = flask(["users", "list"], production_env(tmp_path), check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Taskboard cannot start: SECRET_KEY must be set when TASKBOARD_ENV=production"
    )


def test_waitress_refuses_production_without_secret_key_in_one_line(tmp_path):
    result = subprocess.run(
        [str(BIN / "waitress-serve"), "--listen", "127.0.0.1:0", "wsgi:app"],
        cwd=ROOT,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Taskboard cannot start: SECRET_KEY must be set when TASKBOARD_ENV=production"
    )

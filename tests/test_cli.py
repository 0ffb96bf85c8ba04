"""The admin commands (SPEC §7) through Flask's CLI runner, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, ApiUser, table_counts

from taskboard.extensions import db
from taskboard.models import AuthToken, PersonalToken, User
from taskboard.services import accounts

API = "/api/v1"
TOKENS = f"{API}/auth/tokens"
ME = f"{API}/users/me"
NEW_PASSWORD = "a brand new passphrase"


# Helpers -----------------------------------------------------------------------------


def invoke(runner: Any, *args: str, input: str | None = None) -> Any:
    return runner.invoke(args=list(args), input=input)


def assert_ok(result: Any) -> str:
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.stdout


def assert_refused(result: Any, message: str) -> None:
    """Non-zero exit, one line `Error: …` on stderr naming the problem, no traceback."""
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: "), lines
    assert message in lines[0], lines
    assert "Traceback" not in result.output


def user_row(app: Any, email: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is not None:
            db.session.expunge(user)
        return user


def can_log_in(client: Any, email: str, password: str) -> bool:
    resp = client.post(TOKENS, json={"email": email, "password": password})
    assert resp.status_code in (201, 401), resp.json
    return resp.status_code == 201


def personal_token(user: ApiUser, scope: str = "write") -> str:
    resp = user.post(f"{API}/users/me/tokens", json={"name": "script", "scope": scope})
    assert resp.status_code == 201, resp.json
    return resp.json["token"]


def session_id(app: Any, email: str) -> str:
    """What flask-login keeps in the cookie of a session of this user logged in now."""
    user = user_row(app, email)
    assert user is not None
    with app.app_context():
        user = db.session.merge(user)
        accounts.start_login_session(user)
        return user.get_id()


def session_valid(app: Any, sid: str) -> bool:
    with app.app_context():
        return accounts.load_session_user(sid) is not None


def status_with(client: Any, token: str) -> int:
    return client.get(ME, headers={"Authorization": f"Bearer {token}"}).status_code


# flask users create ------------------------------------------------------------------


def test_create_with_options(runner, app, client):
    out = assert_ok(
        invoke(
            runner,
            "users", "create", "--email", "Ann@Example.com", "--name", "Ann Lee",
            "--password", PASSWORD,
        )
    )
    assert out.strip() == "Created user ann@example.com (Ann Lee)."
    user = user_row(app, "ann@example.com")
    assert user is not None and user.name == "Ann Lee"
    assert user.is_active and not user.is_admin
    assert can_log_in(client, "ann@example.com", PASSWORD)


def test_create_admin(runner, app):
    out = assert_ok(
        invoke(
            runner,
            "users", "create", "--email", "root@example.com", "--name", "Root",
            "--password", PASSWORD, "--admin",
        )
    )
    assert "Created administrator root@example.com" in out
    assert user_row(app, "root@example.com").is_admin


def test_create_prompts_for_everything_missing_password_hidden_and_twice(runner, app, client):
    result = invoke(
        runner, "users", "create", input=f"ann@example.com\nAnn Lee\n{PASSWORD}\n{PASSWORD}\n"
    )
    out = assert_ok(result)
    assert "Email:" in out and "Name:" in out and "Password:" in out
    assert "Repeat for confirmation:" in out
    assert PASSWORD not in result.output  # hidden input is not echoed
    assert user_row(app, "ann@example.com").name == "Ann Lee"
    assert can_log_in(client, "ann@example.com", PASSWORD)


def test_create_asks_again_when_the_two_passwords_differ(runner, app, client):
    result = invoke(
        runner,
        "users", "create", "--email", "ann@example.com", "--name", "Ann",
        input=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )
    assert_ok(result)
    assert "do not match" in result.output
    assert can_log_in(client, "ann@example.com", PASSWORD)


def test_create_checks_the_email_before_asking_for_the_password(runner, app):
    before = table_counts(app)
    result = invoke(runner, "users", "create", input="not-an-email\n")
    assert_refused(result, "Not a valid email address.")
    assert "Password" not in result.output
    assert table_counts(app) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "alice@example.com"], "already exists"),
        (["--email", "ALICE@example.COM"], "already exists"),
        (["--email", "not-an-email"], "Not a valid email address."),
        (["--email", ""], "Email must not be empty."),
        (["--email", "a" * 250 + "@example.com"], "at most 254 characters"),
        (["--email", "new@example.com", "--password", "short"], "between 8 and 128"),
        (["--email", "new@example.com", "--password", "x" * 129], "between 8 and 128"),
        (["--email", "new@example.com", "--name", "   "], "Name must be between 1 and 255"),
    ],
)
def test_create_bad_input_is_refused_and_changes_nothing(runner, app, alice, args, message):
    defaults = {"--email": "new@example.com", "--name": "New Person", "--password": PASSWORD}
    options = dict(zip(args[::2], args[1::2], strict=True))
    argv = [part for key in defaults for part in (key, options.get(key, defaults[key]))]
    before = table_counts(app)
    assert_refused(invoke(runner, "users", "create", *argv), message)
    assert table_counts(app) == before


def test_create_weak_prompted_password_is_refused(runner, app):
    before = table_counts(app)
    result = invoke(
        runner, "users", "create", "--email", "new@example.com", "--name", "New",
        input="short\nshort\n",
    )
    assert_refused(result, "between 8 and 128")
    assert table_counts(app) == before


# flask users list --------------------------------------------------------------------


def test_list_without_users(runner):
    assert "No users yet" in assert_ok(invoke(runner, "users", "list"))


def test_list_shows_a_table_with_project_counts(runner, app, alice, bob):
    first = alice.create_project("One")
    alice.create_project("Two")
    alice.add_member(first["id"], bob)
    assert_ok(invoke(runner, "users", "deactivate", bob.email))
    assert_ok(
        invoke(
            runner, "users", "create", "--email", "root@example.com", "--name", "Root",
            "--password", PASSWORD, "--admin",
        )
    )
    lines = assert_ok(invoke(runner, "users", "list")).splitlines()
    assert lines[0].split() == ["EMAIL", "NAME", "ACTIVE", "ADMIN", "PROJECTS", "CREATED"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {alice.email, bob.email, "root@example.com"}
    assert rows[alice.email].split()[1:6] == ["Alice", "Adams", "yes", "no", "2"]
    assert rows[bob.email].split()[1:6] == ["Bob", "Brown", "no", "no", "1"]
    assert rows["root@example.com"].split()[1:5] == ["Root", "yes", "yes", "0"]
    assert rows[alice.email].endswith("UTC")
    assert lines[-1] == "3 users"


def test_list_is_one_query_whatever_the_number_of_users(runner, make_user, count_queries):
    for n in range(6):
        user = make_user(f"user{n}@example.com")
        user.create_project(f"P{n}")
    with count_queries() as counter:
        out = assert_ok(invoke(runner, "users", "list"))
    assert out.splitlines()[-1] == "6 users"
    assert counter.count == 1, counter.statements


# flask users set-password ----------------------------------------------------------------


def test_set_password_ends_sessions_and_access_tokens(runner, app, client, alice):
    personal = personal_token(alice)
    sid = session_id(app, alice.email)
    result = invoke(runner, "users", "set-password", alice.email, "--password", NEW_PASSWORD)
    out = assert_ok(result)
    assert f"Set a new password for {alice.email}" in out
    assert can_log_in(client, alice.email, NEW_PASSWORD)
    assert not can_log_in(client, alice.email, PASSWORD)
    assert status_with(client, alice.token) == 401
    resp = client.post(f"{TOKENS}/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status_code == 401
    assert not session_valid(app, sid)
    assert status_with(client, personal) == 200  # revoked only by `flask tokens revoke`


def test_set_password_prompts_twice(runner, client, alice):
    result = invoke(
        runner, "users", "set-password", alice.email, input=f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"
    )
    assert_ok(result)
    assert NEW_PASSWORD not in result.output
    assert can_log_in(client, alice.email, NEW_PASSWORD)


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("nobody@example.com", NEW_PASSWORD, "No user with email nobody@example.com."),
        ("alice@example.com", "short", "between 8 and 128"),
        ("alice@example.com", "y" * 129, "between 8 and 128"),
    ],
)
def test_set_password_bad_input_changes_nothing(
    runner, app, client, alice, email, password, message
):
    sid = session_id(app, alice.email)
    before = table_counts(app)
    assert_refused(invoke(runner, "users", "set-password", email, "--password", password), message)
    assert table_counts(app) == before
    assert can_log_in(client, alice.email, PASSWORD)
    assert status_with(client, alice.token) == 200
    assert session_valid(app, sid)


def test_set_password_for_unknown_email_fails_before_prompting(runner):
    result = invoke(runner, "users", "set-password", "nobody@example.com", input="")
    assert_refused(result, "No user with email nobody@example.com.")
    assert "Password" not in result.output


# flask users deactivate / activate -------------------------------------------------------


def test_deactivate_stops_sessions_and_every_token_at_once(runner, app, client, alice, bob):
    personal = personal_token(alice)
    sid = session_id(app, alice.email)
    out = assert_ok(invoke(runner, "users", "deactivate", "ALICE@example.com"))
    assert out.strip().startswith(f"Deactivated {alice.email}")
    assert status_with(client, alice.token) == 401
    assert status_with(client, personal) == 401
    resp = client.post(f"{TOKENS}/refresh", json={"refresh_token": alice.refresh_token})
    assert resp.status_code == 401
    assert not session_valid(app, sid)
    assert not can_log_in(client, alice.email, PASSWORD)
    user = user_row(app, alice.email)
    assert not user.is_active
    with app.app_context():
        grants = db.session.scalars(sa.select(AuthToken).where(AuthToken.user_id == user.id))
        assert all(grant.revoked_at is not None for grant in grants)
        assert not db.session.scalars(
            sa.select(PersonalToken).where(PersonalToken.user_id == user.id)
        ).all()
    assert status_with(client, bob.token) == 200  # nobody else is touched


def test_deactivate_twice_says_so_and_succeeds(runner, alice):
    assert_ok(invoke(runner, "users", "deactivate", alice.email))
    out = assert_ok(invoke(runner, "users", "deactivate", alice.email))
    assert "already deactivated" in out


def test_activate_lets_the_user_log_in_again_but_old_tokens_stay_dead(runner, client, alice):
    assert_ok(invoke(runner, "users", "deactivate", alice.email))
    out = assert_ok(invoke(runner, "users", "activate", alice.email))
    assert out.strip() == f"Activated {alice.email}; they can log in again."
    assert can_log_in(client, alice.email, PASSWORD)
    assert status_with(client, alice.token) == 401


def test_activate_an_active_user_says_so(runner, alice):
    assert "already active" in assert_ok(invoke(runner, "users", "activate", alice.email))


@pytest.mark.parametrize("command", ["deactivate", "activate"])
def test_unknown_email_is_refused(runner, app, alice, command):
    before = table_counts(app)
    assert_refused(invoke(runner, "users", command, "ghost@example.com"), "No user with email")
    assert table_counts(app) == before


def test_missing_email_argument_is_a_usage_error(runner):
    result = invoke(runner, "users", "deactivate")
    assert result.exit_code == 2
    assert "Missing argument 'EMAIL'" in result.stderr


# flask tokens revoke ----------------------------------------------------------------------


def test_tokens_revoke_revokes_every_token_of_the_user(runner, app, client, alice, bob):
    second = client.post(TOKENS, json={"email": alice.email, "password": PASSWORD}).json
    personal = personal_token(alice, "read")
    sid = session_id(app, alice.email)
    out = assert_ok(invoke(runner, "tokens", "revoke", alice.email))
    assert out.strip() == (
        f"Revoked 2 access/refresh token pairs and 1 personal token of {alice.email}."
    )
    for token in (alice.token, second["access_token"], personal):
        assert status_with(client, token) == 401
    for refresh in (alice.refresh_token, second["refresh_token"]):
        assert client.post(f"{TOKENS}/refresh", json={"refresh_token": refresh}).status_code == 401
    assert status_with(client, bob.token) == 200
    assert session_valid(app, sid)  # tokens only; sessions end with deactivate/set-password
    assert can_log_in(client, alice.email, PASSWORD)


def test_tokens_revoke_with_nothing_to_revoke(runner, app, client, alice):
    assert_ok(invoke(runner, "tokens", "revoke", alice.email))
    out = assert_ok(invoke(runner, "tokens", "revoke", alice.email))
    assert out.strip() == (
        f"Revoked 0 access/refresh token pairs and 0 personal tokens of {alice.email}."
    )


def test_tokens_revoke_unknown_email(runner, app, alice):
    before = table_counts(app)
    assert_refused(invoke(runner, "tokens", "revoke", "ghost@example.com"), "No user with email")
    assert table_counts(app) == before
    assert status_with(app.test_client(), alice.token) == 200


def test_every_command_has_help(runner):
    for args in (["users"], ["tokens"], ["demo"], ["users", "create"], ["demo", "seed"]):
        assert_ok(invoke(runner, *args, "--help"))


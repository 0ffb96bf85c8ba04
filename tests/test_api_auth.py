"""API contract: accounts and tokens (SPEC §3 User, §4 /auth/…, /users/me, errors)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, assert_error, table_counts

from taskboard.extensions import db
from taskboard.models import AuthToken, User

API = "/api/v1"
REGISTER = f"{API}/auth/register"
TOKENS = f"{API}/auth/tokens"
REFRESH = f"{API}/auth/tokens/refresh"
ME = f"{API}/users/me"
NEW_PASSWORD = "a brand new passphrase"


# Helpers -----------------------------------------------------------------------------


def assert_unauthorized(resp: Any) -> dict:
    body = assert_error(resp, 401)
    assert resp.headers.get("WWW-Authenticate", "").startswith("Bearer")
    return body


def register(client: Any, **overrides: Any) -> Any:
    payload = {"email": "dave@example.com", "name": "Dave Davis", "password": PASSWORD}
    payload.update(overrides)
    return client.post(REGISTER, json=payload)


def login(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post(TOKENS, json={"email": email, "password": password})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def set_token_expiry(app: Any, user_id: str, *, access: bool = False, refresh: bool = False):
    """Move the expiry of every token pair of the user into the past (no sleeping)."""
    past = datetime.now(UTC) - timedelta(seconds=5)
    values: dict[str, datetime] = {}
    if access:
        values["access_expires_at"] = past
    if refresh:
        values["refresh_expires_at"] = past
    with app.app_context():
        db.session.execute(
            sa.update(AuthToken).where(AuthToken.user_id == uuid.UUID(user_id)).values(**values)
        )
        db.session.commit()


def set_active(app: Any, user_id: str, active: bool) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.id == uuid.UUID(user_id)).values(is_active=active)
        )
        db.session.commit()


# POST /auth/register -------------------------------------------------------------------


def test_register_returns_201_user_without_secrets(client):
    resp = register(client)
    assert resp.status_code == 201, resp.json
    assert set(resp.json) == {"id", "email", "name"}
    assert uuid.UUID(resp.json["id"])
    assert resp.json["email"] == "dave@example.com"
    assert resp.json["name"] == "Dave Davis"


def test_register_normalises_email_to_lower_case(client):
    resp = register(client, email="Dave.Davis@Example.COM")
    assert resp.status_code == 201, resp.json
    assert resp.json["email"] == "dave.davis@example.com"
    # And the account logs in whatever the case the email is typed in.
    assert login(client, "dave.davis@example.com").status_code == 201
    assert login(client, "DAVE.DAVIS@EXAMPLE.COM").status_code == 201


@pytest.mark.parametrize(
    "second_email", ["dave@example.com", "DAVE@EXAMPLE.COM", "Dave@Example.com"]
)
def test_register_duplicate_email_in_any_case_is_409(client, app, second_email):
    assert register(client, email="dave@example.com").status_code == 201
    before = table_counts(app)
    resp = register(client, email=second_email, name="Other Dave")
    assert_error(resp, 409)
    assert table_counts(app) == before


@pytest.mark.parametrize("length", [8, 128])
def test_register_accepts_password_at_the_length_limits(client, length):
    password = "p" * length
    assert register(client, password=password).status_code == 201
    assert login(client, "dave@example.com", password).status_code == 201


BAD_REGISTRATIONS = [
    pytest.param({"email": "not-an-email"}, "email", id="email-malformed"),
    pytest.param({"email": ""}, "email", id="email-empty"),
    pytest.param({"email": "a" * 250 + "@example.com"}, "email", id="email-over-254"),
    pytest.param({"password": "p" * 7}, "password", id="password-7-chars"),
    pytest.param({"password": ""}, "password", id="password-empty"),
    pytest.param({"password": "p" * 129}, "password", id="password-129-chars"),
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "   "}, "name", id="name-blank"),
    pytest.param({"name": "n" * 256}, "name", id="name-too-long"),
    pytest.param({"email": 123}, "email", id="email-int"),
    pytest.param({"email": None}, "email", id="email-null"),
    pytest.param({"name": 5}, "name", id="name-int"),
    pytest.param({"name": ["Dave"]}, "name", id="name-list"),
    pytest.param({"password": 12345678}, "password", id="password-int"),
    pytest.param({"is_admin": True}, "is_admin", id="unknown-field-is_admin"),
    pytest.param({"nickname": "dd"}, "nickname", id="unknown-field"),
]


@pytest.mark.parametrize(("override", "field"), BAD_REGISTRATIONS)
def test_register_invalid_input_is_422_and_writes_nothing(client, app, override, field):
    before = table_counts(app)
    resp = register(client, **override)
    assert_error(resp, 422, field)
    assert table_counts(app) == before


@pytest.mark.parametrize("missing", ["email", "name", "password"])
def test_register_missing_field_is_422_and_writes_nothing(client, app, missing):
    payload = {"email": "dave@example.com", "name": "Dave", "password": PASSWORD}
    del payload[missing]
    before = table_counts(app)
    resp = client.post(REGISTER, json=payload)
    assert_error(resp, 422, missing)
    assert table_counts(app) == before


@pytest.mark.parametrize("raw", ["[]", '"dave"', "42", "null"])
def test_register_body_that_is_not_an_object_is_422(client, app, raw):
    before = table_counts(app)
    resp = client.post(REGISTER, data=raw, content_type="application/json")
    assert_error(resp, 422)
    assert table_counts(app) == before


# Malformed and oversized bodies ------------------------------------------------------------


@pytest.mark.parametrize("raw", ["{bad json", '{"email": "a@b.c",}', "{'email': 1}"])
def test_malformed_json_is_400(client, app, raw):
    before = table_counts(app)
    resp = client.post(REGISTER, data=raw, content_type="application/json")
    assert_error(resp, 400)
    assert table_counts(app) == before


def test_malformed_json_on_an_authenticated_route_is_400(alice, app):
    before = table_counts(app)
    resp = alice.client.post(
        f"{API}/projects", data='{"title": ', content_type="application/json", headers=alice.headers
    )
    assert_error(resp, 400)
    assert table_counts(app) == before


def test_body_over_one_mebibyte_is_413_and_writes_nothing(client, app):
    before = table_counts(app)
    resp = register(client, name="n" * (1024 * 1024 + 1))
    assert_error(resp, 413)
    assert table_counts(app) == before


def test_oversized_body_on_an_authenticated_route_is_413(alice, app):
    before = table_counts(app)
    resp = alice.post(f"{API}/projects", json={"title": "Big", "description": "d" * (1 << 21)})
    assert_error(resp, 413)
    assert table_counts(app) == before


# POST /auth/tokens ---------------------------------------------------------------------------


def test_tokens_returns_bearer_pair_valid_30_minutes(client):
    register(client)
    resp = login(client, "dave@example.com")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert isinstance(body["access_token"], str) and len(body["access_token"]) >= 20
    assert isinstance(body["refresh_token"], str) and len(body["refresh_token"]) >= 20
    assert body["access_token"] != body["refresh_token"]
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["email"] == "dave@example.com"


def test_each_login_issues_distinct_tokens(client):
    register(client)
    first, second = login(client, "dave@example.com").json, login(client, "dave@example.com").json
    assert first["access_token"] != second["access_token"]
    assert first["refresh_token"] != second["refresh_token"]


def test_wrong_password_and_unknown_email_get_the_same_401(client, alice):
    wrong_password = login(client, alice.email, "not the password")
    unknown_email = login(client, "nobody@example.com", PASSWORD)
    body_wrong = assert_unauthorized(wrong_password)
    body_unknown = assert_unauthorized(unknown_email)
    assert body_wrong["message"]
    assert body_wrong == body_unknown


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "alice@example.com"},
        {"password": PASSWORD},
        {"email": "alice@example.com", "password": 123},
        {"email": ["alice@example.com"], "password": PASSWORD},
        {"email": "alice@example.com", "password": PASSWORD, "remember": True},
    ],
    ids=["no-password", "no-email", "password-int", "email-list", "unknown-field"],
)
def test_tokens_malformed_credentials_are_422(client, alice, payload):
    assert_error(client.post(TOKENS, json=payload), 422)


def test_deactivated_user_cannot_log_in_same_answer_as_wrong_password(client, app, alice):
    wrong_password = login(client, alice.email, "not the password")
    set_active(app, alice.id, False)
    deactivated = login(client, alice.email, PASSWORD)
    assert assert_unauthorized(deactivated) == assert_unauthorized(wrong_password)


def test_deactivated_user_tokens_stop_working_at_once(client, app, alice):
    assert alice.get(ME).status_code == 200
    set_active(app, alice.id, False)
    assert_unauthorized(alice.get(ME))
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": alice.refresh_token}))


# POST /auth/tokens/refresh ------------------------------------------------------------------


def test_refresh_returns_a_new_pair_and_the_new_access_token_works(client, alice):
    resp = client.post(REFRESH, json={"refresh_token": alice.refresh_token})
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["access_token"] != alice.token
    assert body["refresh_token"] != alice.refresh_token
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json["id"] == alice.id


def test_refresh_token_works_only_once(client, alice):
    assert client.post(REFRESH, json={"refresh_token": alice.refresh_token}).status_code == 201
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": alice.refresh_token}))


def test_refreshed_refresh_token_can_itself_be_refreshed(client, alice):
    second = client.post(REFRESH, json={"refresh_token": alice.refresh_token}).json
    third = client.post(REFRESH, json={"refresh_token": second["refresh_token"]})
    assert third.status_code == 201
    assert client.get(ME, headers=bearer(third.json["access_token"])).status_code == 200


@pytest.mark.parametrize("kind", ["garbage", "empty", "access-token"])
def test_refresh_with_an_invalid_token_is_401(client, alice, kind):
    token = {"garbage": "tbr_" + "x" * 40, "empty": "", "access-token": alice.token}[kind]
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": token}))


def test_refresh_with_an_expired_refresh_token_is_401(client, app, alice):
    set_token_expiry(app, alice.id, refresh=True)
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": alice.refresh_token}))


@pytest.mark.parametrize(
    "payload",
    [{}, {"refresh_token": 5}, {"refresh_token": "x", "access_token": "y"}],
    ids=["missing", "int", "unknown-field"],
)
def test_refresh_malformed_body_is_422(client, alice, payload):
    assert_error(client.post(REFRESH, json=payload), 422)


# DELETE /auth/tokens ------------------------------------------------------------------------


def test_logout_revokes_that_access_token_and_its_refresh_token(client, alice):
    resp = alice.delete(TOKENS)
    assert resp.status_code == 204
    assert resp.get_data() == b""
    assert_unauthorized(alice.get(ME))
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": alice.refresh_token}))


def test_logout_leaves_the_users_other_tokens_working(client, alice):
    other = login(client, alice.email).json
    assert alice.delete(TOKENS).status_code == 204
    assert client.get(ME, headers=bearer(other["access_token"])).status_code == 200
    assert client.post(REFRESH, json={"refresh_token": other["refresh_token"]}).status_code == 201


def test_logout_twice_is_401(alice):
    assert alice.delete(TOKENS).status_code == 204
    assert_unauthorized(alice.delete(TOKENS))


def test_logout_without_token_is_401(client):
    assert_unauthorized(client.delete(TOKENS))


def test_access_token_of_a_refreshed_pair_is_revoked_by_logout_of_new_pair(client, alice):
    new = client.post(REFRESH, json={"refresh_token": alice.refresh_token}).json
    assert client.delete(TOKENS, headers=bearer(new["access_token"])).status_code == 204
    assert_unauthorized(client.get(ME, headers=bearer(new["access_token"])))
    assert_unauthorized(client.post(REFRESH, json={"refresh_token": new["refresh_token"]}))


# Bearer authentication ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer garbage"},
        {"Authorization": "Bearer tba_" + "A" * 43},
        {"Authorization": "Basic YWxpY2U6cGFzc3dvcmQ="},
        {"Authorization": "Token abc"},
    ],
    ids=[
        "no-header",
        "empty",
        "scheme-only",
        "scheme-space",
        "garbage",
        "unknown-access-token",
        "basic",
        "other-scheme",
    ],
)
@pytest.mark.parametrize("path", [ME, f"{API}/projects", f"{API}/tasks"])
def test_protected_routes_without_a_valid_token_are_401(client, alice, headers, path):
    assert_unauthorized(client.get(path, headers=headers))


def test_expired_access_token_is_401(client, app, alice):
    assert alice.get(ME).status_code == 200
    set_token_expiry(app, alice.id, access=True)
    assert_unauthorized(alice.get(ME))


def test_expired_access_token_can_still_be_refreshed(client, app, alice):
    set_token_expiry(app, alice.id, access=True)
    resp = client.post(REFRESH, json={"refresh_token": alice.refresh_token})
    assert resp.status_code == 201
    assert client.get(ME, headers=bearer(resp.json["access_token"])).status_code == 200


def test_refresh_token_is_not_an_access_token(client, alice):
    assert_unauthorized(client.get(ME, headers=bearer(alice.refresh_token)))


def test_token_of_one_user_never_shows_another(alice, bob):
    assert alice.get(ME).json["id"] == alice.id
    assert bob.get(ME).json["id"] == bob.id


def test_tokens_are_not_stored_in_clear(app, alice):
    with app.app_context():
        rows = db.session.execute(sa.select(AuthToken.access_hash, AuthToken.refresh_hash)).all()
    stored = {value for row in rows for value in row}
    assert alice.token not in stored
    assert alice.refresh_token not in stored


# GET /users/me ----------------------------------------------------------------------------------


def test_get_me_returns_user_with_notifications(alice):
    resp = alice.get(ME)
    assert resp.status_code == 200
    assert resp.json == {
        "id": alice.id,
        "email": "alice@example.com",
        "name": "Alice Adams",
        "notifications": True,
    }


def test_get_me_without_token_is_401(client):
    assert_unauthorized(client.get(ME))


# PATCH /users/me ------------------------------------------------------------------------------


def test_patch_me_changes_name(alice):
    resp = alice.patch(ME, json={"name": "Alice Archer"})
    assert resp.status_code == 200, resp.json
    assert resp.json["name"] == "Alice Archer"
    assert set(resp.json) == {"id", "email", "name", "notifications"}
    assert alice.get(ME).json["name"] == "Alice Archer"


@pytest.mark.parametrize("value", [False, True])
def test_patch_me_sets_notifications(alice, value):
    if value:
        alice.patch(ME, json={"notifications": False})
    resp = alice.patch(ME, json={"notifications": value})
    assert resp.status_code == 200
    assert resp.json["notifications"] is value
    assert alice.get(ME).json["notifications"] is value


def test_patch_me_empty_body_changes_nothing(alice):
    resp = alice.patch(ME, json={})
    assert resp.status_code == 200
    assert resp.json["name"] == "Alice Adams"
    assert resp.json["notifications"] is True


def test_patch_me_changes_password(client, alice):
    resp = alice.patch(ME, json={"password": NEW_PASSWORD, "current_password": PASSWORD})
    assert resp.status_code == 200, resp.json
    assert "password" not in resp.json
    assert_unauthorized(login(client, alice.email, PASSWORD))
    assert login(client, alice.email, NEW_PASSWORD).status_code == 201


def test_patch_me_wrong_current_password_is_403_and_changes_nothing(client, alice):
    resp = alice.patch(
        ME,
        json={"name": "Mallory", "password": NEW_PASSWORD, "current_password": "wrong guess!"},
    )
    assert_error(resp, 403)
    assert alice.get(ME).json["name"] == "Alice Adams"
    assert login(client, alice.email, PASSWORD).status_code == 201
    assert_unauthorized(login(client, alice.email, NEW_PASSWORD))


def test_patch_me_password_without_current_password_is_422(client, alice):
    resp = alice.patch(ME, json={"password": NEW_PASSWORD})
    assert_error(resp, 422, "current_password")
    assert login(client, alice.email, PASSWORD).status_code == 201


@pytest.mark.parametrize("password", ["p" * 7, "p" * 129, ""], ids=["7", "129", "empty"])
def test_patch_me_password_length_rules_are_422(client, alice, password):
    resp = alice.patch(ME, json={"password": password, "current_password": PASSWORD})
    assert_error(resp, 422, "password")
    assert login(client, alice.email, PASSWORD).status_code == 201


BAD_ME_PATCHES = [
    pytest.param({"name": ""}, "name", id="name-empty"),
    pytest.param({"name": "n" * 256}, "name", id="name-too-long"),
    pytest.param({"name": 7}, "name", id="name-int"),
    pytest.param({"name": None}, "name", id="name-null"),
    pytest.param({"notifications": "yes"}, "notifications", id="notifications-string"),
    pytest.param({"notifications": 1}, "notifications", id="notifications-int"),
    pytest.param({"notifications": None}, "notifications", id="notifications-null"),
    pytest.param({"email": "new@example.com"}, "email", id="unknown-email"),
    pytest.param({"is_admin": True}, "is_admin", id="unknown-is_admin"),
]


@pytest.mark.parametrize(("payload", "field"), BAD_ME_PATCHES)
def test_patch_me_invalid_input_is_422_and_changes_nothing(alice, payload, field):
    resp = alice.patch(ME, json=payload)
    assert_error(resp, 422, field)
    assert alice.get(ME).json == {
        "id": alice.id,
        "email": "alice@example.com",
        "name": "Alice Adams",
        "notifications": True,
    }


def test_patch_me_without_token_is_401(client):
    assert_unauthorized(client.patch(ME, json={"name": "Nobody"}))


# Error bodies ------------------------------------------------------------------------------------


def test_422_field_errors_are_listed_per_field(client):
    resp = client.post(
        REGISTER, json={"email": "nope", "name": "Dave", "password": PASSWORD, "x": 1}
    )
    body = assert_error(resp, 422)
    fields = body["errors"]["json"]
    assert {"email", "x"} <= set(fields)
    assert all(isinstance(messages, list) and messages for messages in fields.values())


def test_unknown_api_path_is_a_json_404(alice):
    body = assert_error(alice.get(f"{API}/no-such-thing"), 404)
    assert body["status"] == "Not Found"

"""Rate limits: sign-in endpoints per client and per account, the API per token (SPEC §2)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from conftest import BASE_CONFIG, PASSWORD, REDIS_URL, register

from taskboard import create_app
from taskboard.extensions import db

API = "/api/v1"


def limited_app(tmp_path: Any, **config: Any) -> Any:
    app = create_app(
        {
            **BASE_CONFIG,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'limits.db'}",
            "RATELIMIT_ENABLED": True,
            "TASKBOARD_RATE_AUTH": "3/minute",
            "TASKBOARD_RATE_API": "5/minute",
            "RATELIMIT_KEY_PREFIX": f"taskboard-test-{uuid.uuid4().hex[:8]}",
            **config,
        }
    )
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def app(tmp_path: Any) -> Any:
    return limited_app(tmp_path)


def login(client: Any, email: str, password: str, addr: str = "10.0.0.1") -> Any:
    return client.post(
        f"{API}/auth/tokens",
        json={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": addr},
    )


def assert_429(resp: Any) -> None:
    assert resp.status_code == 429, resp.get_data(as_text=True)
    assert int(resp.headers["Retry-After"]) > 0
    body = resp.json
    assert body["code"] == 429 and body["status"] == "Too Many Requests"
    assert "try again" in body["message"]


def test_token_endpoint_limits_failed_attempts_per_client(client):
    register(client, "ann@example.com")
    for i in range(3):
        assert login(client, f"nobody{i}@example.com", "wrong password").status_code == 401
    assert_429(login(client, "ann@example.com", PASSWORD))
    # Another client is not affected.
    assert login(client, "ann@example.com", PASSWORD, addr="10.0.0.2").status_code == 201


def test_token_endpoint_limits_attempts_per_account_across_clients(client):
    register(client, "ann@example.com")
    for i in range(3):
        resp = login(client, "ANN@example.com", "wrong password", addr=f"10.0.1.{i}")
        assert resp.status_code == 401
    assert_429(login(client, "ann@example.com", PASSWORD, addr="10.0.1.99"))
    # Another account from a fresh client still gets in.
    register(client, "bob@example.com")
    assert login(client, "bob@example.com", PASSWORD, addr="10.0.2.1").status_code == 201


def test_each_sign_in_endpoint_counts_on_its_own(client):
    for _ in range(3):
        assert login(client, "x@example.com", "wrong password", addr="10.0.3.1").status_code == 401
    resp = client.post(
        f"{API}/auth/register",
        json={"email": "new@example.com", "name": "New", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.3.1"},
    )
    assert resp.status_code == 201
    for _ in range(3):
        resp = client.post(
            f"{API}/auth/tokens/refresh",
            json={"refresh_token": "tbr_nothing"},
            environ_base={"REMOTE_ADDR": "10.0.3.1"},
        )
        assert resp.status_code == 401
    assert_429(
        client.post(
            f"{API}/auth/tokens/refresh",
            json={"refresh_token": "tbr_nothing"},
            environ_base={"REMOTE_ADDR": "10.0.3.1"},
        )
    )


def test_api_is_limited_per_token(client):
    ann = register(client, "ann@example.com")
    bob = register(client, "bob@example.com")
    for _ in range(5):
        assert ann.get(f"{API}/projects").status_code == 200
    assert_429(ann.get(f"{API}/projects"))
    assert_429(ann.post(f"{API}/projects", json={"title": "blocked"}))
    assert bob.get(f"{API}/projects").status_code == 200
    assert bob.get(f"{API}/projects").json == []


def test_limits_can_be_turned_off(tmp_path):
    client = limited_app(tmp_path, RATELIMIT_ENABLED=False).test_client()
    for _ in range(6):
        assert login(client, "x@example.com", "wrong password").status_code == 401


def test_unreachable_counter_store_lets_requests_through(tmp_path, caplog):
    app = limited_app(tmp_path, REDIS_URL="redis://127.0.0.1:9/0", HUEY_IMMEDIATE=True)
    client = app.test_client()
    for _ in range(5):
        assert login(client, "x@example.com", "wrong password").status_code == 401
    register(client, "ann@example.com")
    assert login(client, "ann@example.com", PASSWORD).status_code == 201


def test_counters_in_redis_are_shared_by_processes(tmp_path):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    prefix = f"taskboard-test-{uuid.uuid4().hex[:8]}"
    one = limited_app(tmp_path, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    for _ in range(3):
        assert login(one.test_client(), "x@example.com", "bad password").status_code == 401
    two = limited_app(tmp_path, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    assert_429(login(two.test_client(), "x@example.com", "bad password"))


def test_login_page_is_limited_with_a_friendly_page(tmp_path):
    app = limited_app(tmp_path, WTF_CSRF_ENABLED=False)
    register(app.test_client(), "ann@example.com")
    client = app.test_client()
    form = {"email": "ann@example.com", "password": "wrong password"}
    for _ in range(3):
        resp = client.post("/login", data=form, environ_base={"REMOTE_ADDR": "10.0.9.1"})
        assert resp.status_code == 401
    resp = client.post(
        "/login",
        data={"email": "ann@example.com", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.0.9.2"},
    )
    assert resp.status_code == 429
    assert resp.mimetype == "text/html"
    assert int(resp.headers["Retry-After"]) > 0
    assert "wait a minute and try again" in resp.get_data(as_text=True)


def test_pages_are_limited_per_session(tmp_path):
    client = limited_app(tmp_path, WTF_CSRF_ENABLED=False).test_client()
    register(client, "ann@example.com")
    resp = client.post("/login", data={"email": "ann@example.com", "password": PASSWORD})
    assert resp.status_code == 303
    for _ in range(5):
        assert client.get("/projects").status_code == 200
    resp = client.get("/projects")
    assert resp.status_code == 429 and resp.mimetype == "text/html"


# One guessing budget per account (SPEC §16) ----------------------------------------


def page_login(client: Any, email: str, password: str, addr: str) -> Any:
    return client.post(
        "/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": addr}
    )


def test_every_password_check_spends_one_budget_per_account(tmp_path):
    app = limited_app(tmp_path, WTF_CSRF_ENABLED=False, TASKBOARD_RATE_API="100/minute")
    ann = register(app.test_client(), "ann@example.com")  # her own client, logged in before
    stranger = app.test_client()
    assert page_login(stranger, "ann@example.com", "wrong one", "10.1.0.1").status_code == 401
    assert login(stranger, "ann@example.com", "wrong two", addr="10.1.0.2").status_code == 401
    assert login(stranger, "Ann@Example.com", "wrong three", addr="10.1.0.3").status_code == 401
    # The account's shared budget is spent: any client that never logged in is held back,
    # on the page and on the API, even with the right password.
    fresh = app.test_client()
    assert_429(login(fresh, "ann@example.com", PASSWORD, addr="10.1.0.4"))
    resp = page_login(fresh, "ann@example.com", PASSWORD, "10.1.0.5")
    assert resp.status_code == 429 and "wait a minute" in resp.get_data(as_text=True)
    # Ann's own client logged in before: strangers' failures do not lock her out.
    assert login(ann.client, "ann@example.com", PASSWORD, addr="10.1.0.6").status_code == 201


def test_current_password_checks_join_the_budget(tmp_path):
    app = limited_app(tmp_path, TASKBOARD_RATE_API="100/minute")
    ann = register(app.test_client(), "ann@example.com")
    ann.client.delete_cookie("taskboard_device")  # a script: keeps no cookies
    wrong = {"password": "a new password", "current_password": "not it"}
    assert ann.patch(f"{API}/users/me", json=wrong).status_code == 403
    email = {"email": "ann2@example.com", "current_password": "not it either"}
    assert ann.post(f"{API}/users/me/email", json=email).status_code == 403
    assert ann.patch(f"{API}/users/me", json=wrong).status_code == 403
    # Three wrong guesses through a token: the account's budget is spent, for these
    # checks and for logging in from any client that has not logged in before.
    assert_429(ann.patch(f"{API}/users/me", json={**wrong, "current_password": PASSWORD}))
    assert_429(ann.post(f"{API}/users/me/email", json=email))
    assert_429(login(app.test_client(), "ann@example.com", PASSWORD, addr="10.2.0.9"))


def test_a_device_cookie_is_signed(tmp_path):
    app = limited_app(tmp_path)
    register(app.test_client(), "ann@example.com")
    for i in range(3):
        resp = login(app.test_client(), "ann@example.com", "bad", addr=f"10.3.0.{i}")
        assert resp.status_code == 401
    forged = app.test_client()
    forged.set_cookie("taskboard_device", "eyJhIjoiYiJ9.forged")
    assert_429(login(forged, "ann@example.com", PASSWORD, addr="10.3.0.9"))

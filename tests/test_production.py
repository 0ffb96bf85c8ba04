"""Production mode (TASKBOARD_ENV=production): unsafe settings refused, cookies, proxies."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, session
from flask_login import login_user
from werkzeug.middleware.proxy_fix import ProxyFix

from taskboard import create_app
from taskboard.config import ConfigError
from taskboard.extensions import db
from taskboard.services import accounts

ROOT = Path(__file__).resolve().parent.parent
GOOD_SECRET = "0123456789abcdef" * 4
SETTINGS = (
    "TASKBOARD_ENV",
    "SECRET_KEY",
    "BASE_URL",
    "DATABASE_URL",
    "SESSION_COOKIE_SECURE",
    "TRUSTED_PROXIES",
    "FLASK_DEBUG",
    "REDIS_URL",
)


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """A clean environment: only what each test sets, an instance folder of its own."""
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKBOARD_INSTANCE", str(tmp_path / "instance"))
    return monkeypatch


@pytest.fixture
def production(env: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """Every setting production needs, set right; tests then break one."""
    env.setenv("TASKBOARD_ENV", "production")
    env.setenv("SECRET_KEY", GOOD_SECRET)
    env.setenv("BASE_URL", "https://tasks.example.com/")
    env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.db'}")
    return env


def refusal() -> str:
    with pytest.raises(ConfigError) as info:
        create_app()
    message = str(info.value)
    assert "\n" not in message
    return message


def probe(app: Flask) -> None:
    """Routes that show what the app sees of a request and set the cookies under test."""

    @app.get("/_probe")
    def _probe() -> dict[str, Any]:
        return {"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    @app.get("/_session")
    def _session() -> str:
        session["seen"] = True
        return "ok"

    @app.get("/_remember")
    def _remember() -> str:
        login_user(accounts.find_by_email("ann@example.com"), remember=True)
        return "ok"


def cookie_attributes(resp: Any, name: str) -> set[str]:
    """The attributes of the Set-Cookie header for `name`: {"secure", "samesite=lax", …}."""
    header = next(h for h in resp.headers.getlist("Set-Cookie") if h.startswith(name + "="))
    attributes = set()
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        key = key.lower()
        attributes.add(f"{key}={value.lower()}" if key == "samesite" else key)
    return attributes


# Refusals ------------------------------------------------------------------------------


def test_production_without_secret_key_refuses_with_a_clear_message(production):
    production.delenv("SECRET_KEY")
    assert refusal() == "SECRET_KEY must be set when TASKBOARD_ENV=production"


def test_production_with_nothing_set_names_every_problem_on_one_line(env):
    env.setenv("TASKBOARD_ENV", "production")
    message = refusal()
    for name in ("SECRET_KEY", "BASE_URL", "DATABASE_URL"):
        assert f"{name} must be set" in message


def test_production_refuses_a_short_secret(production):
    production.setenv("SECRET_KEY", "change-me")
    assert "SECRET_KEY must be at least 32 characters" in refusal()


def test_production_refuses_without_base_url(production):
    production.delenv("BASE_URL")
    assert refusal() == "BASE_URL must be set when TASKBOARD_ENV=production"


def test_production_does_not_fall_back_to_the_embedded_database(production):
    production.delenv("DATABASE_URL")
    assert refusal().startswith("DATABASE_URL must be set when TASKBOARD_ENV=production")


def test_production_refuses_insecure_cookies(production):
    production.setenv("SESSION_COOKIE_SECURE", "false")
    assert "SESSION_COOKIE_SECURE cannot be off" in refusal()


def test_production_refuses_debug(production):
    production.setenv("FLASK_DEBUG", "1")
    assert "FLASK_DEBUG must be off" in refusal()


@pytest.mark.parametrize("value", ["prod", "staging", "test"])
def test_unknown_environment_is_refused(env, value):
    env.setenv("TASKBOARD_ENV", value)
    assert "TASKBOARD_ENV must be development or production" in refusal()


@pytest.mark.parametrize("value", ["tasks.example.com", "ftp://tasks.example.com", "https://"])
def test_malformed_base_url_is_refused_in_any_mode(env, value):
    env.setenv("BASE_URL", value)
    assert "BASE_URL must be an absolute http(s) URL" in refusal()


def test_negative_trusted_proxies_is_refused(env):
    env.setenv("TRUSTED_PROXIES", "-1")
    assert "TRUSTED_PROXIES must be 0 or more" in refusal()


def test_production_never_writes_a_generated_secret(production, tmp_path):
    app = create_app()
    assert app.config["SECRET_KEY"] == GOOD_SECRET
    assert not (tmp_path / "instance" / "secret_key").exists()


# What production turns on ---------------------------------------------------------------


def test_production_settings(production):
    app = create_app()
    assert app.config["PRODUCTION"] is True
    assert app.debug is False
    assert app.config["BASE_URL"] == "https://tasks.example.com"
    assert app.config["PREFERRED_URL_SCHEME"] == "https"
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")


def test_production_cookies_are_secure_httponly_and_lax(production):
    app = create_app()
    probe(app)
    with app.app_context():
        db.create_all()
        accounts.register("ann@example.com", "Ann", "long enough secret")
    client = app.test_client()
    session_cookie = cookie_attributes(client.get("/_session"), app.config["SESSION_COOKIE_NAME"])
    assert {"secure", "httponly", "samesite=lax"} <= session_cookie
    remember = cookie_attributes(client.get("/_remember"), "remember_token")
    assert {"secure", "httponly", "samesite=lax"} <= remember


def test_development_cookies_are_httponly_and_lax_but_not_secure(env):
    app = create_app()
    probe(app)
    attributes = cookie_attributes(app.test_client().get("/_session"), "session")
    assert {"httponly", "samesite=lax"} <= attributes
    assert "secure" not in attributes


# Proxies ----------------------------------------------------------------------------------

FORWARDED = {
    "X-Forwarded-For": "203.0.113.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "tasks.example.com",
}


def test_forwarded_headers_are_ignored_unless_proxies_are_configured(production):
    app = create_app()
    probe(app)
    assert not isinstance(app.wsgi_app, ProxyFix)
    seen = app.test_client().get("/_probe", headers=FORWARDED, base_url="http://localhost").json
    assert seen == {"remote_addr": "127.0.0.1", "scheme": "http", "host": "localhost"}


@pytest.mark.parametrize("hops", [1, 2])
def test_trusted_proxies_apply_proxy_fix_with_that_many_hops(production, hops):
    production.setenv("TRUSTED_PROXIES", str(hops))
    app = create_app()
    probe(app)
    assert isinstance(app.wsgi_app, ProxyFix)
    assert app.wsgi_app.x_for == hops and app.wsgi_app.x_proto == hops
    # With two proxies, the client is the second address from the right.
    chain = {**FORWARDED, "X-Forwarded-For": "203.0.113.7, 10.0.0.2"}
    seen = app.test_client().get("/_probe", headers=chain, base_url="http://localhost").json
    assert seen["remote_addr"] == ("10.0.0.2" if hops == 1 else "203.0.113.7")
    if hops == 1:
        assert seen["scheme"] == "https" and seen["host"] == "tasks.example.com"


# Documentation ----------------------------------------------------------------------------


def test_every_setting_read_from_the_environment_is_in_the_readme():
    sources = "".join(
        (ROOT / "taskboard" / name).read_text() for name in ("config.py", "__init__.py")
    )
    names = set(re.findall(r'env_\w+\(\s*"([A-Z_]+)"', sources))
    names |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z_]+)"', sources))
    assert {"SECRET_KEY", "DATABASE_URL", "TRUSTED_PROXIES"} <= names
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    table = table[: table.index("\n## ", 1)]
    documented = set(re.findall(r"^\| `([A-Z_]+)`|, `([A-Z_]+)`", table, re.M))
    documented_names = {name for pair in documented for name in pair if name}
    missing = sorted(names - documented_names)
    assert not missing, f"settings missing from the README's configuration table: {missing}"

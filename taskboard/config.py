"""Settings from environment variables, with the embedded defaults of the spec."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the app refuses to start."""


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(f"{name} must be true/false/1/0, not {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, not {raw!r}") from exc


def env_str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def normalise_database_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret(instance_path: Path) -> str:
    """The embedded mode's secret: generated once and kept under instance/."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


def load(instance_path: Path) -> dict[str, Any]:
    """Read every setting from the environment (a `.env` file has been loaded by then)."""
    env = (env_str("TASKBOARD_ENV", "development") or "development").lower()
    production = env == "production"
    database_url = env_str("DATABASE_URL") or f"sqlite:///{instance_path / 'taskboard.db'}"
    secret = env_str("SECRET_KEY")
    if production and not secret:
        raise ConfigError("SECRET_KEY must be set when TASKBOARD_ENV=production")
    base_url = env_str("BASE_URL")
    if production and not base_url:
        raise ConfigError("BASE_URL must be set when TASKBOARD_ENV=production")
    mail_server = env_str("MAIL_SERVER")
    return {
        "TASKBOARD_ENV": env,
        "PRODUCTION": production,
        "SECRET_KEY": secret or instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "REDIS_URL": env_str("REDIS_URL"),
        "BASE_URL": (base_url or "http://127.0.0.1:8000").rstrip("/"),
        "PORT": env_int("PORT", 8000),
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": env_str("MAIL_USERNAME"),
        "MAIL_PASSWORD": env_str("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", "Taskboard <taskboard@localhost>"),
        "MAIL_OUTBOX_DIR": str(instance_path / "outbox"),
        "HUEY_SQLITE_PATH": str(instance_path / "huey.db"),
        "RATELIMIT_ENABLED": env_bool("RATELIMIT_ENABLED", True),
        "TASKBOARD_RATE_AUTH": env_str("TASKBOARD_RATE_AUTH", "10/minute"),
        "TASKBOARD_RATE_API": env_str("TASKBOARD_RATE_API", "600/minute"),
        "TRUSTED_PROXIES": env_int("TRUSTED_PROXIES", 0),
        "SESSION_COOKIE_SECURE": env_bool("SESSION_COOKIE_SECURE", production),
        "LOG_LEVEL": (env_str("LOG_LEVEL", "INFO") or "INFO").upper(),
    }


# Fixed settings: not meant to be changed per deployment.
STATIC: dict[str, Any] = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "ACCESS_TOKEN_TTL": 30 * 60,
    "REFRESH_TOKEN_TTL": 7 * 24 * 3600,
    "API_TITLE": "Taskboard API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "JSON_SORT_KEYS": False,
    "PASSWORD_HASH_METHOD": "scrypt",
    # CSRF tokens live as long as the session: a board left open all day still works.
    "WTF_CSRF_TIME_LIMIT": None,
}

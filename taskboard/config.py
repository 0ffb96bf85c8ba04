"""Settings from environment variables, with the embedded defaults of the spec."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

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


def env_positive_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 1:
        raise ConfigError(f"{name} must be 1 or more, not {value}")
    return value


def env_nonnegative_int(name: str, default: int) -> int:
    value = env_int(name, default)
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, not {value}")
    return value


def env_str(name: str, default: str | None = None) -> str | None:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip()


def check_storage(raw: str | None, instance_path: Path) -> str:
    """Where attachments go: `s3://bucket[/prefix]`, or a folder (default
    `instance/attachments`; a relative path is taken from the instance folder)."""
    if not raw:
        return str(instance_path / "attachments")
    if raw.startswith("s3://"):
        bucket = raw[len("s3://") :].partition("/")[0]
        if not bucket:
            raise ConfigError(f"ATTACHMENT_STORAGE names no bucket: {raw!r} (s3://bucket/prefix)")
        return raw
    if "://" in raw:
        raise ConfigError(f"ATTACHMENT_STORAGE must be s3://bucket/prefix or a folder, not {raw!r}")
    return str(instance_path / raw)


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


ENVIRONMENTS = ("development", "production")
SECRET_KEY_MIN = 32


def check_base_url(url: str) -> str:
    parsed = urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"BASE_URL must be an absolute http(s) URL, not {url!r}")
    return url.rstrip("/")


def production_problems(
    *, secret: str | None, base_url: str | None, database_url: str | None, cookie_secure: bool
) -> list[str]:
    """What keeps a production deployment from starting, one short sentence each."""
    problems = []
    if not secret:
        problems.append("SECRET_KEY must be set when TASKBOARD_ENV=production")
    elif len(secret) < SECRET_KEY_MIN:
        problems.append(
            f"SECRET_KEY must be at least {SECRET_KEY_MIN} characters in production "
            "(python3 -c 'import secrets; print(secrets.token_hex(32))' makes one)"
        )
    if not base_url:
        problems.append("BASE_URL must be set when TASKBOARD_ENV=production")
    if not database_url:
        problems.append(
            "DATABASE_URL must be set when TASKBOARD_ENV=production "
            "(postgresql+psycopg://…, or sqlite:///path to choose SQLite deliberately)"
        )
    if not cookie_secure:
        problems.append("SESSION_COOKIE_SECURE cannot be off when TASKBOARD_ENV=production")
    if env_bool("FLASK_DEBUG", False):
        problems.append("FLASK_DEBUG must be off when TASKBOARD_ENV=production")
    return problems


def default_base_url(host: str, port: int) -> str:
    """Where the embedded server answers (scripts/serve.sh listens on HOST:PORT), for the
    links in mail when BASE_URL is not set. A wildcard address is no place to send a
    browser to: links then name the loopback address."""
    if host in ("0.0.0.0", "::", "*", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def load(instance_path: Path) -> dict[str, Any]:
    """Read every setting from the environment (a `.env` file has been loaded by then).

    Production mode refuses to start, naming every problem at once, rather than run with
    a guessable secret, an embedded database nobody chose, cookies sent over plain HTTP
    or the debugger on.
    """
    env = (env_str("TASKBOARD_ENV", "development") or "development").lower()
    if env not in ENVIRONMENTS:
        raise ConfigError(f"TASKBOARD_ENV must be development or production, not {env!r}")
    production = env == "production"
    database_url = env_str("DATABASE_URL")
    secret = env_str("SECRET_KEY")
    base_url = env_str("BASE_URL")
    cookie_secure = env_bool("SESSION_COOKIE_SECURE", production)
    if production:
        problems = production_problems(
            secret=secret,
            base_url=base_url,
            database_url=database_url,
            cookie_secure=cookie_secure,
        )
        if problems:
            raise ConfigError("; ".join(problems))
    trusted_proxies = env_int("TRUSTED_PROXIES", 0)
    if trusted_proxies < 0:
        raise ConfigError(f"TRUSTED_PROXIES must be 0 or more, not {trusted_proxies}")
    port = env_int("PORT", 8000)
    host = env_str("HOST", "127.0.0.1") or "127.0.0.1"
    base_url = check_base_url(base_url or default_base_url(host, port))
    idle_days = env_positive_int("SESSION_IDLE_DAYS", 14)
    max_days = env_positive_int("SESSION_MAX_DAYS", 30)
    if idle_days > max_days:
        raise ConfigError(
            f"SESSION_IDLE_DAYS ({idle_days}) cannot be more than SESSION_MAX_DAYS ({max_days})"
        )
    mail_server = env_str("MAIL_SERVER")
    storage = check_storage(env_str("ATTACHMENT_STORAGE"), instance_path)
    settings: dict[str, Any] = {
        "TASKBOARD_ENV": env,
        "PRODUCTION": production,
        "SECRET_KEY": secret or instance_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(
            database_url or f"sqlite:///{instance_path / 'taskboard.db'}"
        ),
        "REDIS_URL": env_str("REDIS_URL"),
        "BASE_URL": base_url,
        "PREFERRED_URL_SCHEME": urlsplit(base_url).scheme,
        "PORT": port,
        "HOST": host,
        "MAIL_SERVER": mail_server,
        "MAIL_PORT": env_int("MAIL_PORT", 25),
        "MAIL_USE_TLS": env_bool("MAIL_USE_TLS", False),
        "MAIL_USE_SSL": env_bool("MAIL_USE_SSL", False),
        "MAIL_USERNAME": env_str("MAIL_USERNAME"),
        "MAIL_PASSWORD": env_str("MAIL_PASSWORD"),
        "MAIL_DEFAULT_SENDER": env_str("MAIL_DEFAULT_SENDER", "Taskboard <taskboard@localhost>"),
        "MAIL_OUTBOX_DIR": str(instance_path / "outbox"),
        "MAIL_TIMEOUT": env_positive_int("MAIL_TIMEOUT", 30),
        "HUEY_SQLITE_PATH": str(instance_path / "huey.db"),
        "HUEY_NAME": env_str("HUEY_NAME", "taskboard"),
        "NOTIFY_SWEEP_SECONDS": env_positive_int("NOTIFY_SWEEP_SECONDS", 60),
        "NOTIFY_REMINDER_SECONDS": env_positive_int("NOTIFY_REMINDER_SECONDS", 900),
        "NOTIFY_RETRY_SECONDS": env_positive_int("NOTIFY_RETRY_SECONDS", 30),
        "NOTIFY_RETRY_MAX_SECONDS": env_positive_int("NOTIFY_RETRY_MAX_SECONDS", 120),
        "NOTIFY_MAX_ATTEMPTS": env_positive_int("NOTIFY_MAX_ATTEMPTS", 30),
        "NOTIFY_LEASE_SECONDS": env_positive_int("NOTIFY_LEASE_SECONDS", 300),
        "NOTIFY_KEEP_DAYS": env_positive_int("NOTIFY_KEEP_DAYS", 90),
        "NOTIFY_COALESCE_SECONDS": env_nonnegative_int("NOTIFY_COALESCE_SECONDS", 120),
        "BOARD_COLUMN_PAGE": env_positive_int("BOARD_COLUMN_PAGE", 50),
        "ATTACHMENT_STORAGE": storage,
        "TRASH_DAYS": env_positive_int("TRASH_DAYS", 30),
        "IMPORT_MAX_BYTES": env_positive_int("IMPORT_MAX_BYTES", 50 * 1024 * 1024),
        "ATTACHMENT_MAX_BYTES": env_positive_int("ATTACHMENT_MAX_BYTES", 25 * 1024 * 1024),
        "ATTACHMENT_PROJECT_MAX_BYTES": env_nonnegative_int("ATTACHMENT_PROJECT_MAX_BYTES", 0),
        "S3_ENDPOINT_URL": env_str("S3_ENDPOINT_URL"),
        "WEBHOOK_ALLOW_PRIVATE": env_bool("WEBHOOK_ALLOW_PRIVATE", False),
        "WEBHOOK_TIMEOUT_SECONDS": env_positive_int("WEBHOOK_TIMEOUT_SECONDS", 10),
        "WEBHOOK_RETRY_SECONDS": env_positive_int("WEBHOOK_RETRY_SECONDS", 10),
        "WEBHOOK_RETRY_MAX_SECONDS": env_positive_int("WEBHOOK_RETRY_MAX_SECONDS", 3600),
        "WEBHOOK_MAX_ATTEMPTS": env_positive_int("WEBHOOK_MAX_ATTEMPTS", 10),
        "WEBHOOK_DISABLE_AFTER": env_positive_int("WEBHOOK_DISABLE_AFTER", 3),
        "METRICS_TOKEN": env_str("METRICS_TOKEN"),
        "AWS_REGION": env_str("AWS_REGION", "us-east-1"),
        "RATELIMIT_ENABLED": env_bool("RATELIMIT_ENABLED", True),
        "TASKBOARD_RATE_AUTH": env_str("TASKBOARD_RATE_AUTH", "10/minute"),
        "TASKBOARD_RATE_API": env_str("TASKBOARD_RATE_API", "600/minute"),
        "TRUSTED_PROXIES": trusted_proxies,
        "SESSION_COOKIE_SECURE": cookie_secure,
        "REMEMBER_COOKIE_SECURE": cookie_secure,
        "LOG_LEVEL": (env_str("LOG_LEVEL", "INFO") or "INFO").upper(),
        "SESSION_IDLE_DAYS": idle_days,
        "SESSION_MAX_DAYS": max_days,
        # The cookie lives until the session's absolute end and is not renewed on each
        # request; the server checks both timeouts (services/accounts.py).
        "PERMANENT_SESSION_LIFETIME": timedelta(days=max_days),
        "SESSION_REFRESH_EACH_REQUEST": False,
        "HSTS": production,
    }
    if production:
        settings["DEBUG"] = False
    return settings


# Fixed settings: not meant to be changed per deployment.
STATIC: dict[str, Any] = {
    "SQLALCHEMY_TRACK_MODIFICATIONS": False,
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "ACCESS_TOKEN_TTL": 30 * 60,
    "REFRESH_TOKEN_TTL": 7 * 24 * 3600,
    "API_TITLE": "Taskboard API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "PASSWORD_HASH_METHOD": "scrypt",
    # Whether mail goes to SMTP or to the outbox folder is decided by MAIL_SERVER alone,
    # not by Flask's TESTING flag (which Flask-Mail would otherwise read as "suppress").
    "MAIL_SUPPRESS_SEND": False,
    # CSRF tokens live as long as the session: a board left open all day still works.
    "WTF_CSRF_TIME_LIMIT": None,
}

"""Rate limits (Flask-Limiter): counters in Redis when REDIS_URL is set, else in memory.

Sign-in style endpoints (login, register, tokens, refresh, password reset) each count on
their own, per client address and per account; the API as a whole is limited per token or
session. When the counter store is unreachable the limiter lets requests through and logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from flask import Flask, current_app, request, session
from flask_limiter import Limiter


def client_address() -> str:
    """The client's address (the proxy's view of it only where TRUSTED_PROXIES says so)."""
    return "client:" + (request.remote_addr or "unknown")


def submitted_account() -> str:
    """The account a sign-in attempt names: the email in the JSON body or the form."""
    data: Any = request.get_json(silent=True) if request.is_json else request.form
    email = data.get("email") if isinstance(data, dict) or hasattr(data, "get") else None
    if not isinstance(email, str):
        return ""
    return email.strip().lower()[:254]


def _account_key() -> str:
    return "account:" + submitted_account()


def _no_account() -> bool:
    return not submitted_account()


def _failed(response: Any) -> bool:
    return response.status_code >= 400


def _bearer_or_session() -> str:
    """Per token for the API, per logged-in session for pages, else per client."""
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        digest = hashlib.sha256(header[7:].strip().encode()).hexdigest()[:32]
        return "token:" + digest
    user_id = session.get("_user_id")
    if user_id:
        return "session:" + str(user_id).partition(":")[0]
    return client_address()


def _auth_rate() -> str:
    return current_app.config["TASKBOARD_RATE_AUTH"]


def _api_rate() -> str:
    return current_app.config["TASKBOARD_RATE_API"]


limiter = Limiter(key_func=client_address)


def auth_limits(
    *,
    methods: Sequence[str] = ("POST",),
    per_account: bool = True,
    every_attempt: bool = False,
    scope: str | None = None,
) -> list[Any]:
    """Decorators for a sign-in style route: its own counters, per client and per account.

    Every attempt counts per client; failed ones count per account too, or every one with
    `every_attempt` (a password reset always succeeds, yet must not flood a mailbox).
    `scope` names a counter shared by the routes that give it (a page and its API twin).
    """

    def limit(rate: Any, **options: Any) -> Any:
        if scope:
            return limiter.shared_limit(rate, scope, **options)
        return limiter.limit(rate, **options)

    decorators = [
        limit(
            _auth_rate,
            key_func=client_address,
            methods=list(methods),
            error_message="Too many attempts; wait a minute and try again.",
        )
    ]
    if per_account:
        decorators.append(
            limit(
                _auth_rate,
                key_func=_account_key,
                methods=list(methods),
                exempt_when=_no_account,
                # Failed attempts count against the account, so its owner still gets in.
                deduct_when=None if every_attempt else _failed,
                error_message="Too many attempts for this account; wait a minute and try again.",
            )
        )
    return decorators


def auth_limited(view: Any) -> Any:
    """A sign-in style view function with the decorators of `auth_limits()` applied."""
    for decorator in auth_limits():
        view = decorator(view)
    return view


_limited_blueprints: set[str] = set()


def limit_api(blueprint: Any) -> None:
    """The general per-token (or per-session) limit on every route of a blueprint (once)."""
    if blueprint.name in _limited_blueprints:
        return
    _limited_blueprints.add(blueprint.name)
    limiter.limit(
        _api_rate,
        key_func=_bearer_or_session,
        override_defaults=False,
        error_message="Too many requests; slow down and try again shortly.",
    )(blueprint)


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", redis_url or "memory://")
    if redis_url:
        # An unreachable Redis must cost milliseconds, not a hung request.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
        )
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "taskboard")
    limiter.init_app(app)

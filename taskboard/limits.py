"""Rate limits (Flask-Limiter): counters in Redis when REDIS_URL is set, else in memory.

Sign-in style endpoints (login, register, tokens, refresh, password reset) each count on
their own per client address; register and the reset also per account. The API as a whole
is limited per token or session. When the counter store is unreachable the limiter lets
requests through and logs.

Password guesses have one budget per account across every route that checks a password
(`PasswordGuard`): the login page, `POST /auth/tokens`, and the current-password checks of
the password and email changes. So that strangers cannot lock its owner out, a browser
or client that logged into the account before carries a signed device cookie (OWASP's
"device cookies") and counts on its own budget; the shared one is for everyone else.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Sequence
from typing import Any

from flask import Flask, after_this_request, current_app, has_request_context, request, session
from flask_limiter import Limiter
from itsdangerous import BadSignature, URLSafeSerializer
from limits import parse

from .errors import TooManyRequests
from .http import bearer_token

log = logging.getLogger("taskboard.limits")


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
    token = bearer_token(request.headers.get("Authorization"))
    if token is not None:
        return "token:" + hashlib.sha256(token.encode()).hexdigest()[:32]
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


def auth_limited(view: Any = None, **options: Any) -> Any:
    """A sign-in style view function with the decorators of `auth_limits(**options)`
    applied: `@auth_limited` or `@auth_limited(per_account=False)`."""
    if view is None:
        return lambda func: auth_limited(func, **options)
    for decorator in auth_limits(**options):
        view = decorator(view)
    return view


_limited_blueprints: set[str] = set()


def limit_per_caller(blueprint: Any) -> None:
    """The general limit (TASKBOARD_RATE_API) on every route of a blueprint, counted per
    caller: per bearer token on the API, per login session on the pages, else per client.
    Applied once per blueprint."""
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


# Password guesses --------------------------------------------------------------------

DEVICE_COOKIE = "taskboard_device"
DEVICE_COOKIE_DAYS = 365
DEVICES_KEPT = 5  # accounts remembered per browser
TOO_MANY_GUESSES = "Too many wrong passwords for this account; wait a minute and try again."


def _account_digest(account: str) -> str:
    return hashlib.sha256(account.encode()).hexdigest()[:24]


def _device_signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.secret_key, salt="taskboard-device")


def _devices() -> dict[str, str]:
    """The accounts this client logged into before: account digest → device id."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return {}
    try:
        data = _device_signer().loads(raw)
    except BadSignature:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str)}


class PasswordGuard:
    """The guessing budget of one account, as this request's client sees it.

    `check()` before comparing a password (TooManyRequests when the budget is spent),
    `failed()` after a wrong one, `succeeded()` after a right one: the client then gets
    (or keeps) a device cookie for the account. Outside a request, or with rate limits
    off, it does nothing.
    """

    def __init__(self, account: str) -> None:
        self.account = account.strip().lower()
        self.active = bool(
            self.account
            and has_request_context()
            and current_app.config.get("RATELIMIT_ENABLED", True)
        )
        if not self.active:
            return
        digest = _account_digest(self.account)
        self.device = _devices().get(digest)
        # A known device has a budget of its own; every other client shares the account's.
        prefix = current_app.config.get("RATELIMIT_KEY_PREFIX", "taskboard")
        if self.device:
            self.key: tuple[str, ...] = (prefix, "password", "device", self.device)
        else:
            self.key = (prefix, "password", "account", digest)
        self.rate = parse(current_app.config["TASKBOARD_RATE_AUTH"])

    def check(self) -> None:
        if not self.active:
            return
        try:
            allowed = limiter.limiter.test(self.rate, *self.key)
        except Exception:  # noqa: BLE001 - a counter store outage must not lock anyone out
            log.warning("password guard: the counter store is unreachable; allowing")
            return
        if not allowed:
            raise TooManyRequests(TOO_MANY_GUESSES, field="password")

    def failed(self) -> None:
        if not self.active:
            return
        try:
            limiter.limiter.hit(self.rate, *self.key)
        except Exception:  # noqa: BLE001 - see check()
            log.warning("password guard: the counter store is unreachable; not counted")

    def succeeded(self) -> None:
        """Remember this client as one that knows the account's password."""
        if not self.active or self.device:
            return
        devices = _devices()
        devices.pop(_account_digest(self.account), None)
        devices[_account_digest(self.account)] = secrets.token_urlsafe(16)
        kept = dict(list(devices.items())[-DEVICES_KEPT:])
        value = _device_signer().dumps(kept)

        @after_this_request
        def set_cookie(response: Any) -> Any:
            response.set_cookie(
                DEVICE_COOKIE,
                value,
                max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
                secure=current_app.config.get("SESSION_COOKIE_SECURE", False),
                httponly=True,
                samesite="Lax",
            )
            return response

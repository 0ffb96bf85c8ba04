"""One-click unsubscribe (RFC 8058): every notification mail names a signed link that
switches the kinds of that mail off for its recipient, without a login.

`List-Unsubscribe: <https://…/unsubscribe/<token>>` with `List-Unsubscribe-Post:
List-Unsubscribe=One-Click`: a mail client POSTs to the link and the kinds go off. A GET
(a person clicking, or a mail scanner following links) only shows a page asking to
confirm, so nothing changes by merely opening it. The token holds the user's id and the
kinds, signed with SECRET_KEY and dated: it works for LIFETIME.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import Gone, NotFound
from ..extensions import db
from ..models import User
from . import preferences

SALT = "taskboard.unsubscribe"
LIFETIME = timedelta(days=90)
BAD = "This unsubscribe link is not valid."
EXPIRED = "This unsubscribe link has expired; change what mail you get on your account page."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def link(user: User, kinds: list[str]) -> str:
    token = _serializer().dumps({"u": str(user.id), "k": kinds})
    return f"{str(current_app.config['BASE_URL']).rstrip('/')}/unsubscribe/{token}"


def headers(user: User, kinds: list[str]) -> dict[str, str]:
    return {
        "List-Unsubscribe": f"<{link(user, kinds)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def read(token: str) -> tuple[User, list[str]]:
    """The user and kinds of a link: NotFound if forged, Gone if expired."""
    try:
        data = _serializer().loads(token, max_age=int(LIFETIME.total_seconds()))
        user_id = uuid.UUID(data["u"])
        kinds = [k for k in data["k"] if k in preferences.KINDS]
    except SignatureExpired as exc:
        raise Gone(EXPIRED) from exc
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound(BAD) from exc
    user = db.session.get(User, user_id)
    if user is None or not kinds:
        raise NotFound(BAD)
    return user, kinds


def apply(token: str) -> tuple[User, list[str]]:
    """Switch the link's kinds off; the user and the kinds."""
    user, kinds = read(token)
    preferences.kinds_off(user, kinds)
    return user, kinds

"""GET /healthz: is the database answering, is the queue's storage answering."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from sqlalchemy import text

from .extensions import db
from .queue import queue_ok

bp = Blueprint("health", __name__)


def database_ok() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # noqa: BLE001 - any failure means "not ok"
        db.session.rollback()
        return False
    return True


@bp.get("/healthz")
def healthz() -> tuple[dict[str, Any], int]:
    parts = {"database": database_ok(), "queue": queue_ok()}
    body: dict[str, Any] = {"status": "ok" if all(parts.values()) else "error"}
    body.update({name: "ok" if ok else "error" for name, ok in parts.items()})
    return body, 200 if all(parts.values()) else 503

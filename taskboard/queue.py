"""The huey instance, its storage chosen from the app's configuration.

Jobs are declared against this one instance at import time; `init_app` points its storage
at Redis (`REDIS_URL`) or, in the embedded default, at a SQLite file under instance/.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from huey import Huey
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from redis import ConnectionPool


class TaskboardHuey(Huey):
    def configure(self, storage_class: type, **storage_kwargs: Any) -> None:
        self.storage_class = storage_class
        self.storage_kwargs = storage_kwargs
        self.storage = self.create_storage()


huey = TaskboardHuey("taskboard", storage_class=MemoryStorage, utc=True)


def init_app(app: Flask) -> None:
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        huey.configure(RedisStorage, connection_pool=pool)
    else:
        huey.configure(SqliteStorage, filename=app.config["HUEY_SQLITE_PATH"])
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE", False))
    app.extensions["huey"] = huey


def queue_ok() -> bool:
    """Whether the queue's storage answers (no worker needs to run)."""
    try:
        huey.storage.queue_size()
    except Exception:  # noqa: BLE001 - any failure of the storage means "not ok"
        return False
    return True

"""The huey instance, its storage chosen from the app's configuration, and its consumer.

Jobs are declared against this one instance at import time (`taskboard.jobs`); `init_app`
points its storage at Redis (`REDIS_URL`) or, in the embedded default, at a SQLite file
under instance/, and remembers the app so jobs can open its context in a worker thread.
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, has_app_context
from flask.ctx import AppContext
from huey import Huey
from huey.consumer import Consumer, Scheduler
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from redis import ConnectionPool

log = logging.getLogger("taskboard.queue")


class TaskboardHuey(Huey):
    def configure(self, name: str, storage_class: type, **storage_kwargs: Any) -> None:
        self.name = name
        self.storage_class = storage_class
        self.storage_kwargs = storage_kwargs
        self.storage = self.create_storage()


# No result store: jobs report through the database (the outbox) and the log.
huey = TaskboardHuey("taskboard", results=False, storage_class=MemoryStorage, utc=True)
_app: Flask | None = None


def init_app(app: Flask) -> None:
    global _app
    name = app.config.get("HUEY_NAME") or "taskboard"
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        pool = ConnectionPool.from_url(redis_url, socket_connect_timeout=2, socket_timeout=10)
        huey.configure(name, RedisStorage, connection_pool=pool)
    else:
        huey.configure(name, SqliteStorage, filename=app.config["HUEY_SQLITE_PATH"])
    huey.immediate = bool(app.config.get("HUEY_IMMEDIATE", False))
    app.extensions["huey"] = huey
    _app = app
    from . import jobs  # noqa: F401 - registers the jobs with huey


def bound_app() -> Flask:
    """The app whose context a job runs in: the current one, else the one that set up huey."""
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        raise RuntimeError("huey is not set up: create the app first (see wsgi.py)")
    return _app


def job_context() -> AppContext:
    """A fresh app context (and so a fresh database session) for one job run."""
    return bound_app().app_context()


def queue_ok() -> bool:
    """Whether the queue's storage answers (no worker needs to run)."""
    try:
        huey.storage.queue_size()
    except Exception:  # noqa: BLE001 - any failure of the storage means "not ok"
        return False
    return True


class Every:
    """A periodic job's schedule: once per interval, given in seconds or as the name of a
    setting holding them (read from the app when checked).

    The interval counts from the epoch, so consumers started at different moments agree on
    when a new interval begins; the first check after start always runs the job.
    """

    def __init__(self, interval: str | int) -> None:
        self.interval = interval
        self.last: int | None = None

    def __call__(self, timestamp: datetime) -> bool:
        if isinstance(self.interval, int):
            seconds = self.interval
        else:
            seconds = int(bound_app().config[self.interval])
        moment = timestamp.replace(tzinfo=UTC) if timestamp.tzinfo is None else timestamp
        interval = int(moment.timestamp()) // seconds
        if interval == self.last:
            return False
        self.last = interval
        return True


PERIODIC_SETTINGS = ("NOTIFY_SWEEP_SECONDS", "NOTIFY_REMINDER_SECONDS")


class TaskboardConsumer(Consumer):
    """huey's consumer, checking periodic jobs as often as the shortest interval needs."""

    def __init__(self, app: Flask, **options: Any) -> None:
        shortest = min(int(app.config[name]) for name in PERIODIC_SETTINGS)
        self.periodic_seconds = max(1, min(60, shortest))
        super().__init__(huey, **options)
        # Both Ctrl-C and SIGTERM (docker stop, scripts/run.sh) let running jobs finish;
        # a second one stops at once. A row cut off mid-send is retried after its lease.
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._signal_actions[signum] = (False, True)

    def _create_scheduler(self) -> Scheduler:
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.periodic_seconds
        return scheduler


def create_consumer(app: Flask, *, workers: int = 2, max_delay: float = 10.0) -> Consumer:
    if huey.immediate:
        raise RuntimeError("HUEY_IMMEDIATE is set: there is no queue to consume")
    return TaskboardConsumer(
        app,
        workers=workers,
        worker_type="thread",
        periodic=True,
        initial_delay=0.1,
        backoff=1.15,
        max_delay=max_delay,
        check_worker_health=True,
        shutdown_timeout=float(app.config["MAIL_TIMEOUT"]) + 5,
    )

"""Notification delivery at volume, in one process on a fresh database:

    .venv/bin/python bench/notify.py                      # SQLite, 1,000 and 10,000
    .venv/bin/python bench/notify.py --database postgresql
    .venv/bin/python bench/notify.py --burst 2000 --digests 20000

- a burst: N users with one pending change each, sent by the worker's sweep (mail to the
  outbox folder, so SMTP is not what is measured): seconds, mails a second, and SQL
  statements per mail (the same for every mail: the number does not grow with N);
- digests: M users in digest mode whose hour has come, with two waiting changes each,
  sent by `send_digests` (users read 200 at a time): seconds, digests a second, the
  statements per digest, and the process's peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from run import database, log

from taskboard import create_app
from taskboard.extensions import db
from taskboard.models import Notification, User, utcnow
from taskboard.services import delivery


def make_app(url: str, tmp: Path) -> Any:
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "bench-" + "x" * 32,
            "SQLALCHEMY_DATABASE_URI": url,
            "HUEY_IMMEDIATE": True,
            "REDIS_URL": None,
            "MAIL_SERVER": None,
            "MAIL_OUTBOX_DIR": str(tmp / "outbox"),
            "RATELIMIT_ENABLED": False,
            "NOTIFY_COALESCE_SECONDS": 0,
        }
    )
    with app.app_context():
        db.create_all()
    return app


def add_users(count: int, *, mode: str, status: str, rows_each: int) -> None:
    now = utcnow()
    users, notes = [], []
    for n in range(count):
        user_id = uuid.uuid4()
        users.append(
            {
                "id": user_id,
                "email": f"{mode}-{n}-{user_id.hex[:6]}@example.com",
                "name": f"Person {n}",
                "password_hash": "x",
                "is_active": True,
                "is_admin": False,
                "notifications": True,
                "notify_mode": mode,
                "notify_kinds": {},
                "digest_hour": 8,
                "time_zone": "UTC",
                "digest_next_at": now if mode == "digest" else None,
                "session_version": 0,
                "created_at": now,
            }
        )
        for k in range(rows_each):
            notes.append(
                {
                    "id": uuid.uuid4(),
                    "kind": "added_to_project",
                    "user_id": user_id,
                    "payload": {"project_title": f"Project {k}", "actor_name": "Bench"},
                    "status": status,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
            )
    for chunk in range(0, len(users), 5000):
        db.session.execute(sa.insert(User), users[chunk : chunk + 5000])
    for chunk in range(0, len(notes), 5000):
        db.session.execute(sa.insert(Notification), notes[chunk : chunk + 5000])
    db.session.commit()


class Counter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: Any) -> None:
        self.count += 1


def timed(app: Any, action: Any) -> tuple[float, int, Any]:
    counter = Counter()
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", counter)
        try:
            started = time.perf_counter()
            result = action()
            return time.perf_counter() - started, counter.count, result
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", counter)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--digests", type=int, default=10000)
    args = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp, database(args.database, Path(tmp)) as url:
        app = make_app(url, Path(tmp))
        for size in sorted({args.burst // 10, args.burst}):
            with app.app_context():
                add_users(size, mode="instant", status="pending", rows_each=1)
            seconds, statements, result = timed(app, lambda: delivery.sweep(limit=10**6))
            sent = result.outcomes.get("sent", 0)
            rows.append(
                {
                    "scenario": f"burst of {size:,} mails",
                    "seconds": round(seconds, 2),
                    "per_second": round(sent / seconds),
                    "statements_per_item": round(statements / max(sent, 1), 1),
                    "done": sent,
                }
            )
            log(json.dumps(rows[-1]))
        for size in sorted({args.digests // 10, args.digests}):
            with app.app_context():
                add_users(size, mode="digest", status="digest", rows_each=2)
            seconds, statements, sent = timed(app, delivery.send_digests)
            rows.append(
                {
                    "scenario": f"{size:,} digests",
                    "seconds": round(seconds, 2),
                    "per_second": round(sent / seconds),
                    "statements_per_item": round(statements / max(sent, 1), 1),
                    "done": sent,
                }
            )
            log(json.dumps(rows[-1]))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n{args.database}; peak memory of the process {peak:.0f} MB\n")
    print("| scenario | seconds | per second | SQL statements each | sent |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['scenario']} | {r['seconds']} | {r['per_second']} | "
            f"{r['statements_per_item']} | {r['done']:,} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

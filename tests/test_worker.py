"""Mail end to end through real parts: Redis as the queue, `flask worker` processes, an SMTP
server. The faults of SPEC §6 — worker down, Redis down, SMTP refusing, worker killed
mid-send — each end with every mail delivered exactly once.

The changes are made through the app in this process (the test client) on a database the
worker processes share; each test has its own huey name, so runs never see each other's jobs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import BASE_CONFIG, REDIS_URL, ApiUser, register
from flask import Flask
from flask_migrate import upgrade
from mailsink import MailSink, mail_sink
from servers import BIN, ROOT, LiveServer, app_env, flask, free_port

from taskboard import create_app
from taskboard.extensions import db
from taskboard.models import Notification, User, utcnow
from taskboard.queue import huey

pytestmark = pytest.mark.slow

BASE_URL = "http://board.test"
# Short intervals so faults heal in seconds, not minutes.
FAST = {
    "NOTIFY_SWEEP_SECONDS": "1",
    "NOTIFY_RETRY_SECONDS": "1",
    "NOTIFY_RETRY_MAX_SECONDS": "1",
    "NOTIFY_LEASE_SECONDS": "3",
    "MAIL_TIMEOUT": "5",
    "NOTIFY_COALESCE_SECONDS": "0",
}


@dataclass
class Stack:
    database_url: str
    env: dict[str, str]
    sink: MailSink
    tmp: Path
    huey_name: str
    workers: list[subprocess.Popen]

    def app(self, **overrides: Any) -> Flask:
        """An app in this process on the same database, queue and mail server."""
        return create_app(
            {
                **BASE_CONFIG,
                "SQLALCHEMY_DATABASE_URI": self.database_url,
                "REDIS_URL": REDIS_URL,
                "HUEY_NAME": self.huey_name,
                "HUEY_IMMEDIATE": False,
                "MAIL_SERVER": "127.0.0.1",
                "MAIL_PORT": self.sink.port,
                "BASE_URL": BASE_URL,
                "MAIL_OUTBOX_DIR": str(self.tmp / "outbox"),
                **overrides,
            }
        )

    @contextmanager
    def worker(self, **env: str) -> Iterator[subprocess.Popen]:
        """A `flask worker` process; stopped (gracefully) at the end of the block."""
        log_path = self.tmp / f"worker-{len(self.workers)}.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen(
                [str(BIN / "flask"), "worker", "--workers", "2", "--max-delay", "0.2"],
                cwd=ROOT,
                env={**self.env, **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.workers.append(proc)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text()}" for path in sorted(self.tmp.glob("worker-*.log"))
        )

    def wait_for_mail(self, count: int, timeout: float = 30) -> list[Any]:
        return self.sink.wait_for(count, timeout, what=self.logs)


def make_stack(database_url: str, tmp: Path, sink: MailSink) -> Stack:
    name = f"taskboard-test-{uuid.uuid4().hex[:12]}"
    env = app_env(
        database_url,
        tmp / "instance",
        REDIS_URL=REDIS_URL,
        HUEY_NAME=name,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        BASE_URL=BASE_URL,
        **FAST,
    )
    stack = Stack(database_url, env, sink, tmp, name, [])
    app = stack.app()
    with app.app_context():
        upgrade()  # the real migrations, as `flask db upgrade` runs them
        db.engine.dispose()
    return stack


@contextmanager
def running_stack(database_url: str, tmp: Path) -> Iterator[Stack]:
    with mail_sink() as sink:
        stack = make_stack(database_url, tmp, sink)
        try:
            yield stack
        finally:
            for proc in stack.workers:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            app = stack.app()
            huey.storage.flush_all()
            with app.app_context():
                db.engine.dispose()


@pytest.fixture
def pg_stack(postgres: Any, tmp_path: Path) -> Iterator[Stack]:
    """Two workers on PostgreSQL: row locks, not a file lock, keep them from sending twice."""
    with running_stack(postgres.create_database("taskboard_worker"), tmp_path) as stack:
        yield stack


@pytest.fixture
def sqlite_stack(tmp_path: Path) -> Iterator[Stack]:
    """The fault tests: one database is enough to show the queue and the mail heal."""
    with running_stack(f"sqlite:///{tmp_path / 'taskboard.db'}", tmp_path) as stack:
        yield stack


def outbox(app: Flask) -> list[Notification]:
    with app.app_context():
        notes = list(db.session.scalars(sa.select(Notification).order_by(Notification.created_at)))
        db.session.expunge_all()
        return notes


def wait_until(check: Callable[[], bool], timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting: {what}")
        time.sleep(0.05)


def team(app: Flask) -> tuple[ApiUser, ApiUser, ApiUser, dict[str, Any]]:
    """Alice's project with Bob and Carol as members: two "added" mails."""
    client = app.test_client()
    alice = register(client, "alice@example.com", "Alice Adams")
    bob = register(client, "bob@example.com", "Bob Brown")
    carol = register(client, "carol@example.com", "Carol Chen")
    project = alice.create_project("Launch")
    alice.add_member(project["id"], bob)
    alice.add_member(project["id"], carol)
    return alice, bob, carol, project


def assert_each_once(stack: Stack, app: Flask, expected: int, settle: float = 1.2) -> None:
    """`expected` mails arrived, then a few sweeps later still exactly those: none twice."""
    stack.wait_for_mail(expected)
    time.sleep(settle)
    ids = [m["Message-ID"] for m in stack.sink.messages]
    assert len(ids) == expected, stack.logs()
    assert len(set(ids)) == expected, "a mail was sent twice"
    notes = outbox(app)
    assert len(notes) == expected
    assert {n.status for n in notes} == {"sent"}, [(n.kind, n.status, n.last_error) for n in notes]


def test_workers_deliver_every_mail_once(pg_stack: Stack) -> None:
    stack = pg_stack
    app = stack.app()
    with stack.worker(), stack.worker():  # two consumers: each row is still sent once
        alice, bob, carol, project = team(app)
        task = alice.create_task(project["id"], "Write copy", assignee_ids=[bob.id, carol.id])
        resp = bob.post(f"/api/v1/tasks/{task['id']}/comments", json={"body": "Draft is up"})
        assert resp.status_code == 201
        resp = alice.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"})
        assert resp.status_code == 200
        # Bob: added, assigned, moved to Done. Carol: added, assigned, commented, Done.
        assert_each_once(stack, app, 7)

    assert len(stack.sink.to("bob@example.com")) == 3
    assert len(stack.sink.to("carol@example.com")) == 4
    assert stack.sink.to("alice@example.com") == []
    [done] = [m for m in stack.sink.to("bob@example.com") if "Done" in m["Subject"]]
    assert done["Subject"] == "[Taskboard] “Write copy” was moved to Done"
    text = done.get_body(("plain",)).get_content()
    assert f"{BASE_URL}/projects/{project['id']}?task={task['id']}" in text
    assert huey.pending_count() == 0


def test_a_stopped_worker_delivers_when_started(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    app = stack.app()
    team(app)
    assert {n.status for n in outbox(app)} == {"pending"}
    assert huey.pending_count() == 2  # the jobs wait in Redis for a worker
    assert stack.sink.messages == []
    with stack.worker():
        assert_each_once(stack, app, 2)
    assert huey.pending_count() == 0


def test_redis_down_at_the_change_is_delivered_by_the_sweep(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    down = stack.app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    team(down)  # each request succeeds; the enqueue fails
    client = down.test_client()
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["queue"] == "error"
    assert health.json["database"] == "ok"
    assert [n.status for n in outbox(down)] == ["pending", "pending"]

    app = stack.app()  # Redis is back (the worker uses the real one)
    assert huey.pending_count() == 0  # nothing reached the queue
    with stack.worker():
        assert_each_once(stack, app, 2)


def test_smtp_refusing_at_first_is_retried_until_it_accepts(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    replies = ["451 4.3.0 Try again later", "421 4.3.2 Service shutting down"]
    stack.sink.refusals = list(replies)
    app = stack.app()
    with stack.worker():
        client = app.test_client()
        alice = register(client, "alice@example.com", "Alice Adams")
        bob = register(client, "bob@example.com", "Bob Brown")
        project = alice.create_project("Launch")
        alice.add_member(project["id"], bob)
        assert_each_once(stack, app, 1)
    assert stack.sink.refused == replies
    [note] = outbox(app)
    assert note.attempts == 3
    assert note.last_error is None and note.sent_at is not None


def test_worker_killed_mid_send_is_retried_after_the_lease(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    stack.sink.hold = True  # the server takes the message but never answers
    app = stack.app()
    client = app.test_client()
    alice = register(client, "alice@example.com", "Alice Adams")
    bob = register(client, "bob@example.com", "Bob Brown")
    project = alice.create_project("Launch")
    with stack.worker() as first:
        alice.add_member(project["id"], bob)
        assert stack.sink.holding.wait(15), stack.logs()
        first.kill()  # SIGKILL: no chance to record anything
        first.wait()
    [note] = outbox(app)
    assert note.status == "sending" and note.attempts == 1
    stack.sink.release()
    assert stack.sink.messages == []

    with stack.worker():
        assert_each_once(stack, app, 1)
    [note] = outbox(app)
    assert note.attempts == 2


def test_coalesced_mail_arrives_once_in_one_mail_across_smtp_and_redis_failures(
    pg_stack: Stack,
) -> None:
    """Three changes for Bob within the window, Redis down for the last, SMTP refusing
    the first try, two workers: one mail listing all three, sent once."""
    stack = pg_stack
    window = {"NOTIFY_COALESCE_SECONDS": "2"}
    app = stack.app(NOTIFY_COALESCE_SECONDS=2)
    down = stack.app(NOTIFY_COALESCE_SECONDS=2, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    stack.sink.refusals = ["451 4.3.0 Try again later"]
    client = app.test_client()
    alice = register(client, "alice@example.com", "Alice Adams")
    register(client, "bob@example.com", "Bob Brown")
    project = alice.create_project("Launch")
    with stack.worker(**window), stack.worker(**window):
        resp = alice.post(
            f"/api/v1/projects/{project['id']}/members", json={"email": "bob@example.com"}
        )
        assert resp.status_code == 201
        bob_id = resp.json["id"]
        alice.create_task(project["id"], "One", assignee_ids=[bob_id])
        alice_down = ApiUser(down.test_client(), alice.id, alice.email, alice.name, alice.token, "")
        alice_down.create_task(project["id"], "Two", assignee_ids=[bob_id])  # queue down
        stack.wait_for_mail(1, timeout=30)
        time.sleep(2.5)  # sweeps later: still one
    mails = stack.sink.to("bob@example.com")
    assert len(mails) == 1, stack.logs()
    assert mails[0]["Subject"] == "[Taskboard] 3 updates on your boards"
    assert stack.sink.refused == ["451 4.3.0 Try again later"]
    notes = [n for n in outbox(app) if n.user_id is not None and str(n.user_id) == bob_id]
    assert {n.status for n in notes} == {"sent"} and len({n.batch_id for n in notes}) == 1


def test_a_coalesced_mail_whose_worker_is_killed_is_sent_again_whole(
    sqlite_stack: Stack,
) -> None:
    stack = sqlite_stack
    window = {"NOTIFY_COALESCE_SECONDS": "1"}
    stack.sink.hold = True  # the server takes the message but never answers
    app = stack.app(NOTIFY_COALESCE_SECONDS=1)
    client = app.test_client()
    alice = register(client, "alice@example.com", "Alice Adams")
    bob = register(client, "bob@example.com", "Bob Brown")
    project = alice.create_project("Launch")
    with stack.worker(**window) as first:
        alice.add_member(project["id"], bob)
        alice.create_task(project["id"], "One", assignee_ids=[bob.id])
        assert stack.sink.holding.wait(15), stack.logs()
        first.kill()  # SIGKILL: no chance to record anything
        first.wait()
    notes = [n for n in outbox(app) if n.user_id is not None]
    assert {n.status for n in notes} == {"sending"} and len({n.batch_id for n in notes}) == 1
    stack.sink.release()
    with stack.worker(**window):
        stack.wait_for_mail(1, timeout=30)
        time.sleep(2)
    (mail,) = stack.sink.to("bob@example.com")
    assert mail["Subject"] == "[Taskboard] 2 updates on your boards"
    notes = [n for n in outbox(app) if n.user_id is not None]
    assert {n.status for n in notes} == {"sent"} and {n.attempts for n in notes} == {2}
    assert mail["Message-ID"].startswith(f"<{notes[0].batch_id}@")


def test_a_digest_goes_out_once_from_two_workers(sqlite_stack: Stack) -> None:
    stack = sqlite_stack
    app = stack.app()
    client = app.test_client()
    alice = register(client, "alice@example.com", "Alice Adams")
    bob = register(client, "bob@example.com", "Bob Brown")
    bob.patch("/api/v1/users/me/notification-settings", json={"mode": "digest"})
    project = alice.create_project("Launch")
    alice.add_member(project["id"], bob)
    alice.create_task(project["id"], "Digest me", assignee_ids=[bob.id])
    assert stack.sink.messages == []
    with app.app_context():  # the digest's hour has come
        db.session.execute(
            sa.update(User)
            .where(User.email == "bob@example.com")
            .values(digest_next_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    with stack.worker(), stack.worker():
        stack.wait_for_mail(1, timeout=30)
        time.sleep(2.5)
    mails = stack.sink.to("bob@example.com")
    assert len(mails) == 1, stack.logs()
    assert mails[0]["Subject"] == "[Taskboard] Your daily digest: 2 updates"


def test_webhooks_arrive_once_each_across_worker_and_receiver_failures(
    sqlite_stack: Stack,
) -> None:
    """No worker when the changes happen, then a receiver failing at first: every event
    reaches it, each delivery answered 2xx exactly once, in worker processes."""
    from test_integrations import Receiver

    stack = sqlite_stack
    app = stack.app(WEBHOOK_ALLOW_PRIVATE=True)
    receiver = Receiver()
    try:
        client = app.test_client()
        alice = register(client, "alice@example.com", "Alice Adams")
        project = alice.create_project("Hooked")
        hook = alice.post(
            f"/api/v1/projects/{project['id']}/webhooks",
            json={"url": receiver.url, "events": ["task.created", "task.deleted"]},
        )
        assert hook.status_code == 201
        tasks = [alice.create_task(project["id"], f"t{n}") for n in range(3)]
        alice.delete(f"/api/v1/tasks/{tasks[0]['id']}")
        assert receiver.got == []  # no worker yet: the deliveries wait
        receiver.answers = [500, 502, 503]
        fast = {"WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_SECONDS": "1"}
        with stack.worker(**fast), stack.worker(**fast):

            def delivered() -> set[str]:
                return {
                    item["headers"]["X-Taskboard-Delivery"]
                    for item in receiver.got
                    if item.get("status") == 200
                }

            wait_until(lambda: len(delivered()) == 4, 30, stack.logs())
            time.sleep(2.5)  # a few sweeps later: nothing more
        ok = [i["headers"]["X-Taskboard-Delivery"] for i in receiver.got if i["status"] == 200]
        assert len(ok) == len(set(ok)) == 4, "a delivery was answered 2xx twice"
        assert sorted(
            json.loads(i["body"])["event"] for i in receiver.got if i["status"] == 200
        ) == ["task.created", "task.created", "task.created", "task.deleted"]
        assert len(receiver.got) == 4 + 3  # the three refusals were tried again
    finally:
        receiver.server.shutdown()


def test_serve_script_runs_web_and_worker_and_ctrl_c_stops_both(tmp_path: Path) -> None:
    """The embedded mode as scripts/run.sh starts it: queue in SQLite, mail to a folder."""
    instance = tmp_path / "instance"
    env = app_env(f"sqlite:///{tmp_path / 'taskboard.db'}", instance, **FAST)
    env["PORT"] = str(free_port())
    flask(["db", "upgrade"], env)
    log_path = tmp_path / "serve.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            ["bash", "scripts/serve.sh"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal gives it
        )
    server = LiveServer(f"http://127.0.0.1:{env['PORT']}", log_path)
    try:
        wait_until(lambda: _answers(server), 30, "the web server")
        alice = _login(server, "alice@example.com")
        _login(server, "bob@example.com")
        project = server.request("POST", "/api/v1/projects", {"title": "Garden"}, token=alice)
        resp = server.request(
            "POST",
            f"/api/v1/projects/{project.json['id']}/members",
            {"email": "bob@example.com"},
            token=alice,
        )
        assert resp.status == 201
        outbox = instance / "outbox"
        wait_until(lambda: len(list(outbox.glob("*.eml"))) == 1, 20, "mail in the outbox folder")
        [eml] = outbox.glob("*.eml")
        assert b"Subject: [Taskboard] You were added to the project" in eml.read_bytes()
        assert "mail to bob@example.com" in server.log()

        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        assert proc.wait(timeout=30) == 130, server.log()
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # neither the web server nor the worker is left
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _answers(server: LiveServer) -> bool:
    try:
        return server.request("GET", "/healthz").status == 200
    except OSError:
        return False


def _login(server: LiveServer, email: str) -> str:
    body = {"email": email, "name": email.split("@")[0], "password": "s3cret-enough"}
    assert server.request("POST", "/api/v1/auth/register", body).status == 201
    resp = server.request(
        "POST", "/api/v1/auth/tokens", {"email": email, "password": body["password"]}
    )
    return resp.json["access_token"]

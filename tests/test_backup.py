"""`flask backup` and `flask restore` (SPEC §13) on the embedded instance: a consistent copy
while the app keeps writing, a faithful restore, and every refusal leaving things as they were.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import subprocess
import threading
import time
import urllib.request
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from conftest import BASE_CONFIG, PASSWORD
from flask import Flask
from flask_migrate import stamp, upgrade
from servers import BIN, ROOT, app_env, free_port

from taskboard import backup, create_app
from taskboard.extensions import db
from taskboard.models import Attachment, User
from taskboard.services import accounts, attachments, projects, tasks
from taskboard.storage import storage

# The embedded mode: the secret comes from instance/secret_key, not from the settings.
EMBEDDED = {k: v for k, v in BASE_CONFIG.items() if k != "SECRET_KEY"}
# Files a running server or worker makes and removes as it goes; not the instance's data.
TRANSIENT = (backup.LOCK_FILE, "-wal", "-shm", "huey.db", "outbox")


def embedded_app(monkeypatch: pytest.MonkeyPatch, folder: Path, **config: Any) -> Flask:
    """An app on its own instance folder, with everything in it."""
    for name in ("SECRET_KEY", "DATABASE_URL", "ATTACHMENT_STORAGE", "TASKBOARD_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TASKBOARD_INSTANCE", str(folder))
    return create_app(
        {
            **EMBEDDED,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'taskboard.db'}",
            "HUEY_SQLITE_PATH": str(folder / "huey.db"),
            "MAIL_OUTBOX_DIR": str(folder / "outbox"),
            "ATTACHMENT_STORAGE": str(folder / "attachments"),
            **config,
        }
    )


def dispose(app: Flask) -> None:
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def make_instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """make_instance("name") is an app on the instance folder tmp_path/name."""
    made: list[Flask] = []

    def make(name: str, **config: Any) -> Flask:
        made.append(embedded_app(monkeypatch, tmp_path / name, **config))
        return made[-1]

    yield make
    for app in made:
        dispose(app)


def migrated(app: Flask) -> Flask:
    with app.app_context():
        db.create_all()
        stamp()
        db.engine.dispose()
    return app


def content(title: str) -> bytes:
    """The bytes uploaded for a task: known from its title alone, binary included."""
    return hashlib.sha256(title.encode()).digest() * 40 + title.encode()


def fill(app: Flask, count: int = 6, files: bool = True) -> dict[str, Any]:
    """An account, a project, tasks with a comment each and an attachment on every other."""
    with app.app_context():
        owner = accounts.register("ann@example.com", "Ann", PASSWORD)
        project = projects.create(owner, "Launch")
        ids = []
        for i in range(count):
            card = tasks.create(owner, project.id, title=f"task {i}", description=f"about {i}")
            tasks.add_comment(owner, card.id, f"comment on {i}")
            if files and i % 2 == 0:
                attachments.upload(owner, card.id, io.BytesIO(content(card.title)), f"f{i}.bin")
            ids.append(card.id)
        return {"owner": owner.id, "project": project.id, "tasks": ids}


def invoke(app: Flask, *args: str, input: str | None = None) -> Any:
    return app.test_cli_runner().invoke(args=list(args), input=input)


def assert_refused(result: Any, message: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert message in lines[0], lines[0]
    assert "Traceback" not in result.output


def rows(database: Path) -> dict[str, list[tuple]]:
    """Every row of every table, sorted: two databases with equal contents compare equal."""
    with closing(sqlite3.connect(database)) as conn:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {
            name: sorted(conn.execute(f'SELECT * FROM "{name}"'), key=repr)
            for name in names
            if not name.startswith("sqlite_")
        }


def state(app: Flask) -> dict[str, Any]:
    """What a restore must not change when it refuses: rows, files and secret."""
    folder = Path(app.instance_path)
    database = folder / "taskboard.db"
    files = folder / "attachments"
    return {
        "rows": rows(database) if database.exists() else None,
        "files": {
            str(p.relative_to(files)): p.read_bytes() for p in files.rglob("*") if p.is_file()
        }
        if files.exists()
        else None,
        "secret": (folder / "secret_key").read_bytes(),
        "names": sorted(p.name for p in folder.iterdir() if not p.name.endswith(TRANSIENT)),
    }


def extract_database(archive: Path, dest: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        dest.write_bytes(zf.read(backup.DATABASE))
    return dest


def rewrite(archive: Path, dest: Path, **replace: bytes) -> Path:
    """A copy of the archive with some members' bytes replaced."""
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(dest, "w") as out:
        for info in source.infolist():
            out.writestr(info, replace.get(info.filename, source.read(info)))
    return dest


# Backing up while the app writes -------------------------------------------------------


class Writer(threading.Thread):
    """Keeps making tasks through the services, an attachment on every third and the
    deletion of an older attachment on every fifth, until told to stop."""

    def __init__(self, app: Flask, owner: uuid.UUID, project: uuid.UUID) -> None:
        super().__init__(daemon=True)
        self.app, self.owner, self.project = app, owner, project
        self.stop = threading.Event()
        self.made = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                owner = db.session.get(User, self.owner)
                uploaded = []
                while not self.stop.is_set():
                    self.made += 1
                    title = f"written {self.made}"
                    card = tasks.create(owner, self.project, title=title, description=title)
                    if self.made % 3 == 0:
                        data = io.BytesIO(content(title))
                        uploaded.append(attachments.upload(owner, card.id, data, "w.bin").id)
                    if self.made % 5 == 0 and uploaded:
                        attachments.delete_attachment(owner, uploaded.pop(0))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc


def test_backup_while_tasks_are_written_is_consistent(make_instance, tmp_path):
    app = migrated(make_instance("live"))
    seeded = fill(app)
    writer = Writer(app, seeded["owner"], seeded["project"])
    writer.start()
    try:
        while writer.made < 15 and writer.is_alive():
            time.sleep(0.02)
        made = []
        for n in range(3):
            before = writer.made
            with app.app_context():
                result = backup.backup(tmp_path / f"b{n}.zip")
            made.append((result, before, writer.made))
    finally:
        writer.stop.set()
        writer.join(10)
    assert writer.error is None, writer.error
    assert any(after > before for _, before, after in made), "nothing written during a backup"
    same = "SELECT id, title, description, column_id, created_by_id, created_at FROM tasks"
    with closing(sqlite3.connect(Path(app.instance_path) / "taskboard.db")) as conn:
        live = set(conn.execute(same))

    for n, (result, before, after) in enumerate(made):
        copy = extract_database(result.path, tmp_path / f"b{n}.db")
        with closing(sqlite3.connect(copy)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            titles = [t for (t,) in conn.execute("SELECT title FROM tasks")]
            written = sorted(int(t.split()[1]) for t in titles if t.startswith("written"))
            # A moment's copy: the writer's tasks up to some point, none missing in between.
            assert written == list(range(1, len(written) + 1))
            assert before - 1 <= len(written) <= after  # `made` counts the one under way
            bad = conn.execute(
                "SELECT t.title FROM tasks t WHERE t.description != t.title "
                "AND t.title LIKE 'written %' OR t.attachment_count != "
                "(SELECT count(*) FROM attachments a WHERE a.task_id = t.id)"
            ).fetchall()
            assert bad == [], f"tasks not intact in backup {n}: {bad}"
            assert set(conn.execute(same)) <= live  # each as it was written
            files = conn.execute(
                "SELECT a.storage_key, a.size, t.title FROM attachments a "
                "JOIN tasks t ON t.id = a.task_id"
            ).fetchall()
        assert result.manifest["counts"]["tasks"] == len(titles)
        assert result.manifest["attachments"]["missing"] == []
        with zipfile.ZipFile(result.path) as zf:
            for key, size, title in files:
                data = zf.read(backup.FILES + key)
                assert data == content(title) and len(data) == size, key
        summary = f"Backed up {len(titles)} tasks, {len(files)} attachment"
        assert result.summary().startswith(summary), result.summary()
        assert f" to {result.path} (" in result.summary()


def test_a_file_deleted_between_the_copy_and_its_files_makes_a_new_copy(
    make_instance, tmp_path, monkeypatch
):
    app = migrated(make_instance("live"))
    seeded = fill(app, count=4)
    with app.app_context():
        doomed = db.session.scalars(sa.select(Attachment).order_by(Attachment.filename)).first()
        doomed_id, doomed_key = doomed.id, doomed.storage_key
    real_snapshot, taken = backup.snapshot, []

    def snapshot_then_delete(source: Path, target: Path) -> None:
        real_snapshot(source, target)
        taken.append(target)
        if len(taken) == 1:  # the row is in the copy, its file goes before it is copied
            owner = db.session.get(User, seeded["owner"])
            attachments.delete_attachment(owner, doomed_id)

    monkeypatch.setattr(backup, "snapshot", snapshot_then_delete)
    with app.app_context():
        result = backup.backup(tmp_path / "b.zip")
    assert len(taken) == 2
    assert result.manifest["attachments"]["files"] == 1
    assert result.manifest["attachments"]["missing"] == []
    copy = extract_database(result.path, tmp_path / "b.db")
    with closing(sqlite3.connect(copy)) as conn:
        keys = [key for (key,) in conn.execute("SELECT storage_key FROM attachments")]
    assert len(keys) == 1 and doomed_key not in keys
    with zipfile.ZipFile(result.path) as zf:
        assert (
            zf.read(backup.FILES + keys[0])
            == (Path(app.instance_path) / "attachments" / keys[0]).read_bytes()
        )


def test_a_file_missing_from_the_storage_is_reported_not_fatal(make_instance, tmp_path):
    source = migrated(make_instance("source"))
    fill(source, count=4)
    with source.app_context():
        lost = db.session.scalars(sa.select(Attachment.storage_key)).first()
    (Path(source.instance_path) / "attachments" / lost).unlink()
    path = tmp_path / "b.zip"
    made = invoke(source, "backup", str(path))
    assert made.exit_code == 0, made.output
    assert (
        f"1 attachment file(s) named by the database were not in the storage: {lost}."
        in made.stdout
    )
    assert "Backed up 4 tasks, 1 attachment to" in made.stdout
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the secret key

    restored = invoke(make_instance("target"), "restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert f"were not in the storage when the backup was made: {lost}." in restored.stdout


# Restoring -----------------------------------------------------------------------------


def test_restore_into_a_fresh_instance_gives_the_same_rows_files_and_secret(
    make_instance, tmp_path
):
    source = migrated(make_instance("source"))
    seeded = fill(source)
    archive = tmp_path / "taskboard.zip"
    made = invoke(source, "backup", str(archive))
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith(f"Backed up 6 tasks, 3 attachments to {archive} (")
    again = invoke(source, "backup", str(archive))
    assert_refused(again, "already exists; add --force")
    assert invoke(source, "backup", str(archive), "--force").exit_code == 0

    target = make_instance("target")  # nothing in it yet, not even a database
    restored = invoke(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert restored.stdout.startswith(f"Restored 6 tasks, 3 attachments from {archive}")
    assert "kept" not in restored.stdout  # a fresh instance had nothing worth keeping

    src, dst = Path(source.instance_path), Path(target.instance_path)
    assert rows(dst / "taskboard.db") == rows(src / "taskboard.db")
    assert (dst / "secret_key").read_bytes() == (src / "secret_key").read_bytes()
    with source.app_context():
        keys = dict(db.session.execute(sa.select(Attachment.storage_key, Attachment.size)).all())
    assert len(keys) == 3
    with target.app_context():
        for key, size in keys.items():
            data = b"".join(storage().chunks(key))
            assert data == (src / "attachments" / key).read_bytes() and len(data) == size
    assert not list(dst.glob(".*restore*")), "temporary files left behind"

    # The restored instance works: log in with the old password, read a task.
    client = target.test_client()
    login = client.post(
        "/api/v1/auth/tokens", json={"email": "ann@example.com", "password": PASSWORD}
    )
    assert login.status_code == 201, login.json
    headers = {"Authorization": f"Bearer {login.json['access_token']}"}
    task = client.get(f"/api/v1/tasks/{seeded['tasks'][0]}", headers=headers)
    assert task.status_code == 200 and task.json["title"] == "task 0"


def test_restore_over_data_asks_and_keeps_what_it_replaced(make_instance, tmp_path):
    source = migrated(make_instance("source"))
    fill(source, count=2)
    archive = tmp_path / "two.zip"
    with source.app_context():
        backup.backup(archive)
    target = migrated(make_instance("target"))
    fill(target, count=5)
    before = state(target)

    declined = invoke(target, "restore", str(archive), input="n\n")
    assert declined.exit_code == 1
    assert (
        "holds 1 user, 1 project, 5 tasks, attachment files. Replace them with" in declined.output
    )
    assert state(target) == before

    restored = invoke(target, "restore", str(archive), "--yes")
    assert restored.exit_code == 0, restored.output
    assert rows(Path(target.instance_path) / "taskboard.db") == rows(
        Path(source.instance_path) / "taskboard.db"
    )
    kept = [Path(line.strip()) for line in restored.stdout.splitlines() if ".pre-restore-" in line]
    assert sorted(p.name.split(".pre-restore-")[0] for p in kept) == [
        "attachments",
        "secret_key",
        "taskboard.db",
    ]
    old = next(p for p in kept if p.name.startswith("taskboard.db"))
    assert rows(old) == before["rows"]


def test_restore_upgrades_a_backup_of_an_older_version(make_instance, tmp_path):
    from alembic.script import ScriptDirectory

    source = make_instance("source")
    with source.app_context():
        script = ScriptDirectory.from_config(source.extensions["migrate"].migrate.get_config())
        head = script.get_current_head()
        older = script.get_revision(head).down_revision
        upgrade(revision=older)
        db.engine.dispose()
    archive = tmp_path / "older.zip"
    with source.app_context():
        assert backup.backup(archive).manifest["alembic_revision"] == older

    target = make_instance("target")
    restored = invoke(target, "restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert f"Upgraded its database from revision {older}" in restored.stdout
    with closing(sqlite3.connect(Path(target.instance_path) / "taskboard.db")) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]


# Refusals ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real backup of a small instance (the tests only read it)."""
    folder = tmp_path_factory.mktemp("archive")
    with pytest.MonkeyPatch.context() as monkeypatch:
        source = migrated(embedded_app(monkeypatch, folder / "source"))
        fill(source, count=2)
        with source.app_context():
            backup.backup(folder / "real.zip")
        dispose(source)
    return folder / "real.zip"


def test_restore_refuses_a_backup_of_a_newer_taskboard(make_instance, archive, tmp_path):
    newer = "f00dfeedcafe"
    copy = extract_database(archive, tmp_path / "newer.db")
    with closing(sqlite3.connect(copy)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (newer,))
        conn.commit()
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(backup.MANIFEST))
    manifest["alembic_revision"] = newer
    manifest["database"].update(
        bytes=copy.stat().st_size, sha256=hashlib.sha256(copy.read_bytes()).hexdigest()
    )
    crafted = rewrite(
        archive,
        tmp_path / "newer.zip",
        **{backup.MANIFEST: json.dumps(manifest).encode(), backup.DATABASE: copy.read_bytes()},
    )
    target = migrated(make_instance("target"))
    fill(target, count=1)
    before = state(target)
    result = invoke(target, "restore", str(crafted), "--yes")
    assert_refused(result, "This backup was made by a newer Taskboard")
    assert "upgrade first" in result.stderr
    assert state(target) == before


def test_restore_refuses_what_is_not_a_whole_backup(make_instance, archive, tmp_path):
    real = archive.read_bytes()
    with zipfile.ZipFile(archive) as zf:
        manifest = json.loads(zf.read(backup.MANIFEST))
        db_info = zf.getinfo(backup.DATABASE)
    other = tmp_path / "other.zip"
    with zipfile.ZipFile(other, "w") as zf:
        zf.writestr("readme.txt", "hello")
    foreign = rewrite(archive, tmp_path / "foreign.zip", **{backup.MANIFEST: b'{"format": "x"}'})
    lying = rewrite(
        archive,
        tmp_path / "lying.zip",
        **{backup.MANIFEST: json.dumps({**manifest, "counts": {"tasks": 99}}).encode()},
    )
    without = tmp_path / "without.zip"
    with zipfile.ZipFile(archive) as source, zipfile.ZipFile(without, "w") as out:
        for info in source.infolist():
            if not info.filename.startswith(backup.FILES):
                out.writestr(info, source.read(info))
    flipped = bytearray(real)
    middle = db_info.header_offset + 100 + db_info.compress_size // 2
    flipped[middle] ^= 0xFF
    cases = {
        "garbage": (os.urandom(4096), "is not a Taskboard backup (not a readable zip file"),
        "empty": (b"", "is not a Taskboard backup"),
        "another zip": (other.read_bytes(), "is not a Taskboard backup (it has no manifest.json)"),
        "another manifest": (foreign.read_bytes(), "is not a Taskboard backup (its manifest"),
        "truncated": (real[: len(real) // 2], "is not a Taskboard backup (not a readable zip"),
        "flipped byte": (bytes(flipped), "The archive is damaged"),
        "edited manifest": (lying.read_bytes(), "damaged or was edited"),
        "files left out": (without.read_bytes(), "The archive is incomplete"),
    }
    target = migrated(make_instance("target"))
    fill(target, count=1)
    before = state(target)
    for name, (data, message) in cases.items():
        path = tmp_path / f"{name}.zip"
        path.write_bytes(data)
        result = invoke(target, "restore", str(path), "--yes")
        assert result.exit_code == 1, (name, result.output)
        assert message in result.stderr, (name, result.stderr)
        assert "Traceback" not in result.output, name
        assert state(target) == before, name


def test_postgresql_is_refused_with_its_own_tools_named(make_instance, tmp_path):
    app = make_instance("pg", SQLALCHEMY_DATABASE_URI="postgresql+psycopg://tb@127.0.0.1:9/tb")
    made = invoke(app, "backup", str(tmp_path / "pg.zip"))
    assert_refused(made, "The database is PostgreSQL: back it up with pg_dump -Fc")
    assert not (tmp_path / "pg.zip").exists()
    (tmp_path / "any.zip").write_bytes(b"")  # refused before it is opened
    restored = invoke(app, "restore", str(tmp_path / "any.zip"), "--yes")
    assert_refused(restored, "The database is PostgreSQL: restore it with pg_restore")


def test_attachments_in_s3_leave_the_bucket_to_its_own_tools(make_instance, tmp_path):
    app = migrated(make_instance("s3", ATTACHMENT_STORAGE="s3://tb-bucket/files"))
    fill(app, count=1, files=False)
    path = tmp_path / "s3.zip"
    made = invoke(app, "backup", str(path))
    assert made.exit_code == 0, made.output
    assert "The attachment files are in s3://tb-bucket/files: back up that bucket" in made.stdout
    with zipfile.ZipFile(path) as zf:
        assert sorted(zf.namelist()) == [backup.MANIFEST, backup.SECRET, backup.DATABASE]
        assert json.loads(zf.read(backup.MANIFEST))["attachments"]["storage"] == "s3"


# The lock: servers and workers against restores ----------------------------------------


def test_restore_refuses_while_the_server_or_the_worker_runs(make_instance, archive, tmp_path):
    target = migrated(make_instance("target"))
    fill(target, count=1)
    folder = Path(target.instance_path)
    env = app_env(f"sqlite:///{folder / 'taskboard.db'}", folder, HUEY_NAME="backup-test")
    for name in ("SECRET_KEY", "TASKBOARD_ENV", "FLASK_RUN_FROM_CLI", "ATTACHMENT_STORAGE"):
        env.pop(name, None)
    port = free_port()
    logs = {name: open(tmp_path / f"{name}.log", "w") for name in ("web", "worker")}  # noqa: SIM115
    web = subprocess.Popen(
        [str(BIN / "waitress-serve"), "--listen", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=logs["web"],
        stderr=subprocess.STDOUT,
    )
    worker = subprocess.Popen(
        [str(BIN / "flask"), "worker", "--workers", "1", "--max-delay", "0.5"],
        cwd=ROOT,
        env=env,
        stdout=logs["worker"],
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until(lambda: answers(port), "the web server")
        wait_until(lambda: "Worker:" in (tmp_path / "worker.log").read_text(), "the worker")
        before = state(target)
        for still_running in (web, worker):
            result = invoke(target, "restore", str(archive), "--yes")
            assert_refused(result, "A Taskboard web server or worker is running on")
            assert state(target) == before
            still_running.terminate()
            still_running.wait(20)
        result = invoke(target, "restore", str(archive), "--yes")
        assert result.exit_code == 0, result.output
    finally:
        for proc in (web, worker):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs.values():
            log.close()


def test_a_worker_refuses_to_start_while_a_restore_runs(make_instance):
    app = migrated(make_instance("target"))
    with backup.instance_lock(app.instance_path):
        result = invoke(app, "worker")
        assert_refused(result, "A restore into")
        with pytest.raises(backup.InstanceBusy):
            backup.hold_instance_lock(app.instance_path)


def answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def wait_until(check: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not start in {timeout} s")
        time.sleep(0.1)

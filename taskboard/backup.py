"""Backup and restore of the embedded instance: `flask backup PATH`, `flask restore PATH`.

A backup is one zip file:

    manifest.json       format and version, the database's alembic revision, when, counts
    taskboard.db        the SQLite database, copied with SQLite's online backup API
    secret_key          instance/secret_key, when there is one
    attachments/<key>   the files of a folder storage that the database names

The database is copied first, the files after it. A file is stored before its row is
committed and removed only after its row is gone, so every file the copy names is still
there then, unless its attachment was deleted meanwhile: then the database is copied
again (files already copied stay: the bytes under a key never change).

The web server and the worker hold `instance/taskboard.lock` shared for as long as they
run (`hold_instance_lock`); a restore takes it exclusively, without waiting, so it refuses
an instance something runs on, and a server or worker started during a restore refuses to
start. A restore writes and checks everything in temporary files next to their targets, then
renames them into place, keeping what they replace (`….pre-restore-<time>`), and upgrades
a database from an older Taskboard with the migrations.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import shutil
import sqlite3
import stat
import tempfile
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.engine import make_url

from .cli import domain_errors
from .config import env_str
from .errors import DomainError
from .extensions import db
from .services.attachments import human_size
from .storage import CHUNK, storage

log = logging.getLogger("taskboard.backup")

FORMAT = "taskboard-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "taskboard.db"
SECRET = "secret_key"
FILES = "attachments/"
LOCK_FILE = "taskboard.lock"
SNAPSHOTS = 3  # copies of the database at most, while attachments are being deleted
BUSY_TIMEOUT_S = 10
COUNTED = ("users", "projects", "tasks", "comments", "attachments")


class BackupError(DomainError):
    default_message = "The backup could not be made or restored."


class InstanceBusy(BackupError):
    """A server or worker runs on the instance (for a restore), or a restore does."""


# The instance's lock -------------------------------------------------------------------

_held: dict[Path, int] = {}


def lock_path(instance_path: str | Path) -> Path:
    return Path(instance_path).absolute() / LOCK_FILE


def hold_instance_lock(instance_path: str | Path) -> None:
    """Hold the instance's lock, shared, until this process ends (the web server and the
    worker call this as they start). Any number of them hold it together; a restore needs
    it alone. InstanceBusy while a restore runs."""
    path = lock_path(instance_path)
    if path in _held:
        return
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:  # a read-only instance folder: there is nothing to restore into
        log.warning("cannot open %s (%s); flask restore cannot see this process", path, exc)
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InstanceBusy(
            f"A restore into {path.parent} is running; start again when it has finished."
        ) from None
    _held[path] = fd


@contextmanager
def instance_lock(instance_path: str | Path) -> Iterator[None]:
    """The instance's lock, alone; InstanceBusy at once while anything else holds it."""
    path = lock_path(instance_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InstanceBusy(
                f"A Taskboard web server or worker is running on {path.parent} (it holds "
                f"{path.name}); stop it first. Nothing was changed."
            ) from None
        yield
    finally:
        os.close(fd)


# The instance's files ------------------------------------------------------------------


@dataclass(frozen=True)
class Instance:
    folder: Path
    database: Path
    secret: Path
    storage: str  # ATTACHMENT_STORAGE
    attachments: Path | None  # None: the files are in S3


def embedded_instance(app: Flask, postgres_advice: str) -> Instance:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    backend = url.get_backend_name()
    if backend == "postgresql":
        raise BackupError(
            f"The database is PostgreSQL: {postgres_advice} (see the README, "
            '"Backup and restore"); this command is for the embedded SQLite database.'
        )
    if backend != "sqlite" or url.database in (None, "", ":memory:"):
        raise BackupError(f"Only an SQLite database file can be backed up, not {url}.")
    target = str(app.config["ATTACHMENT_STORAGE"])
    return Instance(
        folder=Path(app.instance_path),
        database=Path(url.database).absolute(),
        secret=Path(app.instance_path) / SECRET,
        storage=target,
        attachments=None if target.startswith("s3://") else Path(target).absolute(),
    )


# What a database holds -----------------------------------------------------------------


@dataclass
class Facts:
    revision: str
    counts: dict[str, int]
    files: dict[str, int | None]  # storage key → size (None: a file of the trash's)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def referenced_files(conn: sqlite3.Connection) -> dict[str, int | None]:
    """Every stored file the database names: its attachments' and its trash's."""
    tables = _tables(conn)
    files: dict[str, int | None] = {}
    if "trash_items" in tables:
        for (keys,) in conn.execute("SELECT file_keys FROM trash_items"):
            files.update(dict.fromkeys(json.loads(keys or "[]")))
    if "attachments" in tables:
        files.update(conn.execute("SELECT storage_key, size FROM attachments"))
    return files


def read_facts(path: Path) -> Facts:
    """A database copy's revision, counts and files; BackupError if it is damaged."""
    try:
        with closing(_connect(path)) as conn:
            check = conn.execute("PRAGMA integrity_check").fetchall()
            if check != [("ok",)]:
                raise BackupError(f"The database copy is damaged: {check[0][0]}")
            tables = _tables(conn)
            if "alembic_version" not in tables:
                raise BackupError(
                    "The database has no migration revision (alembic_version): "
                    "run flask db upgrade (or flask db stamp head) first."
                )
            revisions = [rev for (rev,) in conn.execute("SELECT version_num FROM alembic_version")]
            if len(revisions) != 1:
                raise BackupError(f"The database's migration revision is unclear: {revisions}.")
            counts = {
                name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                for name in COUNTED
                if name in tables
            }
            return Facts(revisions[0], counts, referenced_files(conn))
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"The database copy cannot be read: {exc}.") from exc


def snapshot(source: Path, target: Path) -> None:
    """Copy the database with SQLite's online backup, in one step: the copy is the database
    as of one moment, while the server's writers go on (WAL)."""
    target.unlink(missing_ok=True)
    with closing(_connect(source)) as live, closing(_connect(target)) as copy:
        live.backup(copy)
        mode = copy.execute("PRAGMA journal_mode=DELETE").fetchone()[0]  # one file, no -wal
    if mode != "delete":
        raise BackupError(f"The database copy stayed in journal mode {mode}.")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


# Backup --------------------------------------------------------------------------------


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        counts, files = self.manifest["counts"], self.manifest["attachments"]
        where = " (the attachment files are in S3, not in it)" if files["storage"] == "s3" else ""
        return (
            f"Backed up {_plural(counts.get('tasks', 0), 'task')}, "
            f"{_plural(files['files'], 'attachment')} to "
            f"{self.path}{where} ({human_size(self.path.stat().st_size)}, database revision "
            f"{self.manifest['alembic_revision']})."
        )


def backup(target: str | Path, *, force: bool = False) -> BackupResult:
    """Write a backup of the embedded instance to `target` (a zip file) while it runs."""
    where = embedded_instance(current_app, "back it up with pg_dump -Fc")
    target = Path(target).absolute()
    if target.is_dir():
        raise BackupError(
            f"{target} is a folder; name the backup file, e.g. {target}/taskboard.zip."
        )
    if target.exists() and not force:
        raise BackupError(f"{target} already exists; add --force to replace it.")
    if not target.parent.is_dir():
        raise BackupError(f"There is no folder {target.parent} to write the backup into.")
    if not where.database.is_file():
        raise BackupError(f"There is no database at {where.database}: nothing to back up.")
    work = Path(tempfile.mkdtemp(prefix=".taskboard-backup-", dir=target.parent))
    try:
        partial = work / "backup.zip"
        manifest, notes = _write(where, partial, work / DATABASE)
        with _opened(partial) as (archive, written):
            if written != manifest:
                raise BackupError(f"The backup's {MANIFEST} did not read back as written.")
            notes += _verify(archive, written, work / "verify.db", full=True)[1]
        # It holds the secret key and every password hash: for its owner's eyes only.
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return BackupResult(target, manifest, notes)


def _write(where: Instance, partial: Path, copy: Path) -> tuple[dict[str, Any], list[str]]:
    copied: dict[str, int] = {}
    missing: list[str] = []
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for attempt in range(1, SNAPSHOTS + 1):
            snapshot(where.database, copy)
            facts = read_facts(copy)
            if where.attachments is None:
                break
            missing = _add_files(archive, facts.files, copied)
            if not missing or attempt == SNAPSHOTS or not _deleted_since(where.database, missing):
                break
        archive.write(copy, DATABASE)
        if where.secret.is_file():
            archive.write(where.secret, SECRET)
        included = [key for key in facts.files if key in copied]
        manifest = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "alembic_revision": facts.revision,
            "counts": facts.counts,
            "database": {"file": DATABASE, "bytes": copy.stat().st_size, "sha256": _sha256(copy)},
            "attachments": {
                "storage": "s3" if where.attachments is None else "folder",
                "files": len(included),
                "bytes": sum(copied[key] for key in included),
                "missing": missing,
            },
            "secret_key": where.secret.is_file(),
        }
        archive.writestr(MANIFEST, json.dumps(manifest, indent=2) + "\n")
    notes = []
    if where.attachments is None:
        notes.append(
            f"The attachment files are in {where.storage}: back up that bucket with the "
            "provider's tools (e.g. aws s3 sync, rclone); this backup holds their list only."
        )
    if missing:
        notes.append(_missing_note(missing, "storage"))
    if not manifest["secret_key"]:
        notes.append(
            "There is no instance/secret_key (SECRET_KEY is set): keep SECRET_KEY with this "
            "backup, sessions, tokens and links are signed with it."
        )
    return manifest, notes


def _add_files(
    archive: zipfile.ZipFile, files: dict[str, int | None], copied: dict[str, int]
) -> list[str]:
    """Copy the files not yet in the archive; the keys that have none in the storage."""
    store = storage()
    missing = []
    for key, size in sorted(files.items()):
        if key in copied:
            continue
        try:
            chunks = store.chunks(key)
        except (FileNotFoundError, ValueError):
            missing.append(key)
            continue
        written = 0
        large = size is None or size > 1 << 30
        with archive.open(FILES + key, "w", force_zip64=large) as out:
            for block in chunks:
                out.write(block)
                written += len(block)
        copied[key] = written
    return missing


def _deleted_since(database: Path, keys: list[str]) -> bool:
    """Whether the live database no longer names some of these files (their attachments
    were deleted after the copy, so a new copy will not name them either)."""
    with closing(_connect(database)) as conn:
        live = referenced_files(conn)
    return any(key not in live for key in keys)


def _missing_note(keys: list[str], where: str) -> str:
    shown = ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")
    return f"{len(keys)} attachment file(s) named by the database were not in the {where}: {shown}."


# Reading a backup ----------------------------------------------------------------------


@contextmanager
def _opened(path: Path) -> Iterator[tuple[zipfile.ZipFile, dict[str, Any]]]:
    """The archive and its manifest; BackupError unless it is a backup this code can read."""
    not_ours = f"{path} is not a Taskboard backup"
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BackupError(f"{not_ours} (not a readable zip file: {exc}).") from exc
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except KeyError:
            raise BackupError(f"{not_ours} (it has no {MANIFEST}).") from None
        except (ValueError, zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BackupError(f"{path} is damaged: its {MANIFEST} cannot be read ({exc}).") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BackupError(f"{not_ours} (its {MANIFEST} is another program's).")
        version = manifest.get("format_version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BackupError(
                f"{path} is in backup format {version!r}, newer than this Taskboard reads "
                f"({FORMAT_VERSION}); upgrade first."
            )
        if not _well_formed(manifest):
            raise BackupError(f"{path} is damaged: its {MANIFEST} is incomplete.")
        yield archive, manifest


MANIFEST_SHAPE = {
    "created_at": str,
    "alembic_revision": str,
    "counts": dict,
    "database": dict,
    "attachments": dict,
    "secret_key": bool,
}


def _well_formed(manifest: dict[str, Any]) -> bool:
    if any(not isinstance(manifest.get(k), kind) for k, kind in MANIFEST_SHAPE.items()):
        return False
    files = manifest["attachments"]
    return (
        files.get("storage") in ("folder", "s3")
        and isinstance(files.get("files"), int)
        and isinstance(files.get("missing"), list)
        and all(isinstance(key, str) for key in files["missing"])
    )


def _extract(archive: zipfile.ZipFile, name: str, dest: Path) -> None:
    with archive.open(name) as source, open(dest, "wb") as out:
        shutil.copyfileobj(source, out, CHUNK)


def _verify(
    archive: zipfile.ZipFile, manifest: dict[str, Any], db_copy: Path, full: bool = False
) -> tuple[Facts, list[str]]:
    """Check the archive's database against its manifest and that every file it names is
    in the archive (`full`: every member's checksum too); extracts the database to
    `db_copy`. The facts, and notes on what the backup lacked when it was made."""
    try:
        if full and (bad := archive.testzip()) is not None:
            raise BackupError(f"The archive is damaged: {bad} fails its checksum.")
        _extract(archive, DATABASE, db_copy)
    except KeyError:
        raise BackupError(f"The archive is damaged: it has no {DATABASE}.") from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise BackupError(f"The archive is damaged: {exc}.") from exc
    if _sha256(db_copy) != manifest["database"].get("sha256"):
        raise BackupError("The archive is damaged or was edited: its database is not the one made.")
    facts = read_facts(db_copy)
    if facts.revision != manifest["alembic_revision"] or facts.counts != manifest["counts"]:
        raise BackupError("The archive is damaged or was edited: its database and manifest differ.")
    notes = []
    files = manifest["attachments"]
    if files.get("storage") == "folder":
        names = set(archive.namelist())
        missing = set(files.get("missing") or ())
        absent = [key for key in facts.files if key not in missing and FILES + key not in names]
        if absent:
            raise BackupError(f"The archive is incomplete: {_missing_note(absent, 'archive')}")
        if missing:
            notes.append(_missing_note(sorted(missing), "storage when the backup was made"))
    return facts, notes


def _check_revision(revision: str) -> bool:
    """Whether the backup's database needs the migrations; BackupError if it is newer."""
    from alembic.script import ScriptDirectory

    config = current_app.extensions["migrate"].migrate.get_config()
    script = ScriptDirectory.from_config(config)
    if revision in script.get_heads():
        return False
    if revision not in {rev.revision for rev in script.walk_revisions()}:
        raise BackupError(
            f"This backup was made by a newer Taskboard (its database is at revision "
            f"{revision}, which this version does not know); upgrade first. Nothing was changed."
        )
    return True


# Restore -------------------------------------------------------------------------------


@dataclass
class RestoreResult:
    manifest: dict[str, Any]
    upgraded_from: str | None
    kept: list[Path]
    notes: list[str]

    def summary(self, source: Path) -> str:
        counts, files = self.manifest["counts"], self.manifest["attachments"]
        return (
            f"Restored {_plural(counts.get('tasks', 0), 'task')}, "
            f"{_plural(files['files'], 'attachment')} from "
            f"{source} (made {self.manifest['created_at']})."
        )


@dataclass
class _Step:
    """One file or folder to put in place: made at `staged`, moved to `target`."""

    staged: Path
    target: Path
    kept: Path | None = None
    done: bool = False


def restore(source: str | Path, *, confirm: Callable[[str], bool]) -> RestoreResult:
    """Restore a backup into the configured instance. Refuses (BackupError, nothing
    changed) a running instance, anything but a whole backup, and a newer one; asks
    `confirm` before replacing data."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    where = embedded_instance(app, "restore it with pg_restore")
    source = Path(source).absolute()
    with instance_lock(where.folder), _opened(source) as (archive, manifest):
        needs_upgrade = _check_revision(manifest["alembic_revision"])
        steps: list[_Step] = []
        try:
            facts, notes = _stage(archive, manifest, where, steps)
            present = _existing_data(where)
            if present and not confirm(_question(where, present, manifest)):
                raise BackupError("Nothing was restored.")
            db.engine.dispose()
            _retire_log(where.database)
            _swap(steps, keep=bool(present))
        finally:
            for step in steps:
                if not step.done:
                    _remove(step.staged)
        upgraded_from = None
        if needs_upgrade:
            _upgrade(facts.revision)
            upgraded_from = facts.revision
    if manifest["secret_key"] and env_str("SECRET_KEY"):
        notes.append(
            "SECRET_KEY is set in the environment, so the restored instance/secret_key is "
            "not used: sessions and links signed with it are not accepted."
        )
    if manifest["attachments"]["storage"] == "s3" and where.attachments is not None:
        notes.append(
            f"The backup holds no attachment files (they were in S3): copy the bucket's "
            f"objects into {where.attachments}."
        )
    if manifest["attachments"]["files"] and where.attachments is None:
        notes.append(
            f"The attachment files were not restored: ATTACHMENT_STORAGE is {where.storage}; "
            "unzip the archive's attachments/ into the bucket with the provider's tools."
        )
    return RestoreResult(manifest, upgraded_from, [s.kept for s in steps if s.kept], notes)


def _stage(
    archive: zipfile.ZipFile, manifest: dict[str, Any], where: Instance, steps: list[_Step]
) -> tuple[Facts, list[str]]:
    """Write everything to temporary names next to its place, checking it on the way."""
    where.database.parent.mkdir(parents=True, exist_ok=True)
    database = _Step(_temp_name(where.database), where.database)
    steps.append(database)
    facts, notes = _verify(archive, manifest, database.staged)
    if where.attachments is not None and manifest["attachments"]["storage"] == "folder":
        root = where.attachments
        root.parent.mkdir(parents=True, exist_ok=True)
        folder = _Step(_temp_name(root), root)
        steps.insert(0, folder)
        folder.staged.mkdir()
        missing = set(manifest["attachments"]["missing"])
        try:
            for key in facts.files:
                if key not in missing:
                    dest = folder.staged / _safe_key(key)
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    _extract(archive, FILES + key, dest)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BackupError(f"The archive is damaged: {exc}.") from exc
    if manifest["secret_key"]:
        secret = _Step(_temp_name(where.secret), where.secret)
        steps.insert(0, secret)
        try:
            _extract(archive, SECRET, secret.staged)
        except KeyError:
            raise BackupError(f"The archive is damaged: it has no {SECRET}.") from None
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise BackupError(f"The archive is damaged: {exc}.") from exc
        secret.staged.chmod(0o600)
    for step in steps:
        if step.target.exists():
            step.staged.chmod(stat.S_IMODE(step.target.stat().st_mode))
    return facts, notes


def _temp_name(target: Path) -> Path:
    """A name next to `target` for its restored version (made with the usual umask)."""
    return target.with_name(f".{target.name}.restore-{uuid.uuid4().hex[:12]}")


def _safe_key(key: str) -> PurePosixPath:
    path = PurePosixPath(key)
    if path.is_absolute() or not path.parts or any(p in ("", ".", "..") for p in path.parts):
        raise BackupError(f"The archive is damaged: it names a file outside the storage, {key!r}.")
    return path


def _existing_data(where: Instance) -> list[str]:
    """What the instance holds now, e.g. ["3 users", "12 tasks"]; [] for a fresh one."""
    found = []
    if where.database.is_file():
        try:
            with closing(_connect(where.database)) as conn:
                tables = _tables(conn)
                for name in ("users", "projects", "tasks"):
                    if name in tables:
                        count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                        if count:
                            found.append(_plural(count, name[:-1]))
        except sqlite3.DatabaseError:
            found.append(f"a database file it cannot read ({where.database.name})")
    root = where.attachments
    if root is not None and root.is_dir() and any(p.is_file() for p in root.rglob("*")):
        found.append("attachment files")
    return found


def _question(where: Instance, present: list[str], manifest: dict[str, Any]) -> str:
    counts, files = manifest["counts"], manifest["attachments"]["files"]
    made = ", ".join(
        [_plural(counts.get(n, 0), n[:-1]) for n in ("users", "tasks")]
        + [_plural(files, "attachment")]
    )
    return (
        f"{where.folder} holds {', '.join(present)}. Replace them with the backup of "
        f"{manifest['created_at']} ({made})?"
    )


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _retire_log(database: Path) -> None:
    """Fold the old database's write-ahead log into it and remove the log, so that no
    `-wal` file of the old database is ever read with the restored one."""
    if database.is_file():
        try:
            with closing(sqlite3.connect(database, timeout=2)) as conn:
                mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            mode = str(exc)
        if mode != "delete":
            raise BackupError(
                f"{database} is in use by another process ({mode}); stop it and try again. "
                "Nothing was changed."
            )
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


def _swap(steps: list[_Step], keep: bool) -> None:
    """Rename each staged file or folder into place, the old one aside (`keep`) or away;
    on a failure, put back what was moved."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        for step in steps:
            if step.target.exists():
                step.kept = _free_name(
                    step.target.with_name(f"{step.target.name}.pre-restore-{stamp}")
                )
                os.replace(step.target, step.kept)
            os.replace(step.staged, step.target)
            step.done = True
    except OSError as exc:
        for step in reversed(steps):
            if step.done:
                os.replace(step.target, step.staged)
                step.done = False
            if step.kept is not None and step.kept.exists():
                os.replace(step.kept, step.target)
            step.kept = None
        raise BackupError(
            f"Could not put the restored files in place ({exc}); nothing was changed."
        ) from exc
    if not keep:
        for step in steps:
            if step.kept is not None:
                _remove(step.kept)
                step.kept = None


def _free_name(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    return candidate


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _upgrade(revision: str) -> None:
    from flask_migrate import upgrade

    db.engine.dispose()
    try:
        upgrade()
    except Exception as exc:
        raise BackupError(
            f"The backup was restored, but upgrading its database from revision {revision} "
            f"failed ({exc}); run flask db upgrade to see why."
        ) from exc
    finally:
        db.engine.dispose()


# The commands --------------------------------------------------------------------------


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@with_appcontext
@domain_errors
def backup_command(path: Path, force: bool) -> None:
    """Back up the embedded instance into PATH, one zip file: the SQLite database (copied
    while the server keeps running), the attachment files and the secret key."""
    result = backup(path, force=force)
    for note in result.notes:
        click.echo(note)
    click.echo(result.summary())


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Replace the instance's data without asking.")
@with_appcontext
@domain_errors
def restore_command(path: Path, yes: bool) -> None:
    """Restore a zip file made by flask backup into this instance, then upgrade its
    database if it is older. Stop the web server and the worker first."""
    result = restore(path, confirm=(lambda _question: True) if yes else _ask)
    click.echo(result.summary(path))
    if result.upgraded_from:
        click.echo(f"Upgraded its database from revision {result.upgraded_from} to this version's.")
    for note in result.notes:
        click.echo(note)
    if result.kept:
        click.echo("What it replaced is kept (delete it when all is well):")
        for path_kept in result.kept:
            click.echo(f"  {path_kept}")


def _ask(question: str) -> bool:
    return click.confirm(question, default=False)

"""Attachments: files on a card, their bytes in the storage (`taskboard.storage`).

An upload is copied to the storage in chunks while it is counted (over
ATTACHMENT_MAX_BYTES it stops and is refused), its type sniffed from its first bytes
(`filetype`), never taken from the client. Then, under the board's write lock, the
project's quota is checked and the row, the card's count, its version and a history
entry are written in one transaction. A refused or failed upload leaves no file behind.

Deleting an attachment, a task or a project writes a `BlobRemoval` row per file in the
same transaction; a job removes the files after the commit (and the worker's sweep
retries whatever failed), so the request never waits on, or fails with, the storage.
"""

from __future__ import annotations

import logging
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

import filetype
from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import InvalidRequestError

from ..errors import Forbidden, Invalid, NotFound, TooLarge
from ..extensions import db
from ..models import Activity, Attachment, BlobRemoval, Membership, Project, Task, utcnow
from ..storage import storage
from .common import Actor, Page, lock_project
from .task_reads import TASK_NOT_FOUND, _visible

log = logging.getLogger("taskboard.attachments")

NOT_FOUND = "No such attachment."
FILENAME_MAX = 255
SNIFF_BYTES = 8192
# Shown in the browser (an <img>, or opened in a tab); everything else is downloaded.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
REMOVAL_RETRY_MAX = timedelta(minutes=30)


def clean_filename(name: str | None) -> str:
    """The name as uploaded, spaces and punctuation kept, less any folder part and control
    characters, at most 255 characters (the extension kept). "file" if nothing is left."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = unicodedata.normalize("NFC", base).strip().strip(".").strip()
    if not base:
        return "file"
    if len(base) > FILENAME_MAX:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            base = stem[: FILENAME_MAX - len(ext) - 1].rstrip() + "." + ext
        else:
            base = base[:FILENAME_MAX]
    return base


def sniff(head: bytes) -> str:
    """The content type the bytes show: a known binary format, else plain text if they
    read as UTF-8 text, else application/octet-stream."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if head and b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not merely a character cut at the end
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


class _Counted:
    """A reader that passes the head it was given, then the rest of the source, counting
    the bytes and stopping with TooLarge past the limit. `read(n)` returns n bytes until
    the end, as file readers do (boto3 takes a short read for the end of the file)."""

    def __init__(self, head: bytes, source: BinaryIO, limit: int) -> None:
        self.head = head
        self.source = source
        self.limit = limit
        self.size = 0

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            parts = []
            while block := self.read(1024 * 1024):
                parts.append(block)
            return b"".join(parts)
        parts = []
        wanted = size
        if self.head:
            parts.append(self.head[:wanted])
            self.head = self.head[wanted:]
            wanted -= len(parts[0])
        while wanted > 0:
            block = self.source.read(wanted)
            if not block:
                break
            parts.append(block)
            wanted -= len(block)
        data = b"".join(parts)
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(too_large_message(self.limit))
        return data


def too_large_message(limit: int) -> str:
    return f"The file is larger than {human_size(limit)}, the most an attachment may be."


def human_size(size: int) -> str:
    """'812 B', '4.2 KB', '25 MB' (binary units, as file managers show them)."""
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            if unit == "B":
                return f"{int(value)} B"
            return f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{size} B"


def _task(actor: Actor, task_id: uuid.UUID) -> Task:
    task = db.session.scalar(_visible(actor).where(Task.id == task_id))
    if task is None:
        raise NotFound(TASK_NOT_FOUND)
    return task


def _record(task: Task, actor: Actor, verb: str, by: int, **detail: Any) -> None:
    now = utcnow()
    db.session.add(
        Activity(task_id=task.id, actor_id=actor.id, verb=verb, detail=detail, created_at=now)
    )
    task.attachment_count = Task.attachment_count + by
    task.version = Task.version + 1
    task.updated_at = now


def upload(actor: Actor, task_id: uuid.UUID, source: BinaryIO, filename: str | None) -> Attachment:
    """Store a file on a card; TooLarge past the size limit or the project's quota."""
    task = _task(actor, task_id)
    name = clean_filename(filename)
    limit = int(current_app.config["ATTACHMENT_MAX_BYTES"])
    head = source.read(SNIFF_BYTES)
    if not head:
        raise Invalid("The file is empty.", field="file")
    content_type = sniff(head)
    attachment_id = uuid.uuid4()
    key = f"{task.project_id}/{attachment_id}"
    counted = _Counted(head, source, limit)
    store = storage()
    try:
        store.save(key, counted)  # type: ignore[arg-type]
    except BaseException:
        _forget(key)
        raise
    try:
        attachment = _register(actor, task, attachment_id, key, name, content_type, counted.size)
    except BaseException:
        db.session.rollback()
        _forget(key)
        raise
    return attachment


def _register(
    actor: Actor,
    task: Task,
    attachment_id: uuid.UUID,
    key: str,
    name: str,
    content_type: str,
    size: int,
) -> Attachment:
    lock_project(task.project_id, task.id)
    try:
        db.session.refresh(task)
    except InvalidRequestError as exc:  # the task was deleted meanwhile
        raise NotFound(TASK_NOT_FOUND) from exc
    quota = int(current_app.config["ATTACHMENT_PROJECT_MAX_BYTES"])
    if quota:
        used = db.session.scalar(
            select(func.coalesce(func.sum(Attachment.size), 0)).where(
                Attachment.project_id == task.project_id
            )
        )
        if int(used or 0) + size > quota:
            raise TooLarge(
                f"The project's attachments would take more than its {human_size(quota)}; "
                f"{human_size(max(quota - int(used or 0), 0))} are left. Delete some first."
            )
    now = utcnow()
    attachment = Attachment(
        id=attachment_id,
        task_id=task.id,
        project_id=task.project_id,
        filename=name,
        content_type=content_type,
        size=size,
        storage_key=key,
        uploaded_by_id=actor.id,
        created_at=now,
    )
    db.session.add(attachment)
    _record(task, actor, "attachment_added", 1, attachment_id=str(attachment_id), filename=name)
    db.session.commit()
    return attachment


def _forget(key: str) -> None:
    """Remove a file that never got its row; if the storage refuses, leave it to the
    removal job (a row of its own, in a transaction of its own)."""
    try:
        storage().delete(key)
    except Exception:
        log.warning("could not remove the file of a failed upload; queued", exc_info=True)
        db.session.rollback()
        db.session.add(BlobRemoval(storage_key=key))
        db.session.commit()


def list_for_task(
    actor: Actor, task_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Attachment]:
    """A card's attachments, oldest first."""
    _task(actor, task_id)
    base = select(Attachment).where(Attachment.task_id == task_id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.order_by(Attachment.created_at, Attachment.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


def get(actor: Actor, attachment_id: uuid.UUID) -> Attachment:
    """An attachment of a project the actor is a member of; NotFound otherwise."""
    attachment = db.session.scalar(
        select(Attachment)
        .join(Membership, Membership.project_id == Attachment.project_id)
        .where(Attachment.id == attachment_id, Membership.user_id == actor.id)
    )
    if attachment is None:
        raise NotFound(NOT_FOUND)
    return attachment


@dataclass(frozen=True)
class Download:
    attachment: Attachment
    chunks: Iterator[bytes]

    @property
    def inline(self) -> bool:
        return self.attachment.content_type in INLINE_TYPES


def download(actor: Actor, attachment_id: uuid.UUID) -> Download:
    attachment = get(actor, attachment_id)
    try:
        chunks = storage().chunks(attachment.storage_key)
    except FileNotFoundError as exc:
        log.error("attachment %s has no file in the storage", attachment.id)
        raise NotFound("The file of this attachment is missing from the storage.") from exc
    return Download(attachment, chunks)


def delete_attachment(actor: Actor, attachment_id: uuid.UUID) -> Attachment:
    """Delete an attachment: its uploader or the project's owner (403 for other members)."""
    attachment = get(actor, attachment_id)
    project = db.session.get(Project, attachment.project_id)
    if attachment.uploaded_by_id != actor.id and (project is None or project.owner_id != actor.id):
        raise Forbidden("Only its uploader or the project's owner can delete an attachment.")
    task = db.session.get(Task, attachment.task_id)
    assert task is not None, "attachments go with their task"
    lock_project(task.project_id, task.id)
    gone = db.session.execute(delete(Attachment).where(Attachment.id == attachment.id)).rowcount
    if gone != 1:
        db.session.rollback()
        raise NotFound(NOT_FOUND)
    _record(
        task,
        actor,
        "attachment_removed",
        -1,
        attachment_id=str(attachment.id),
        filename=attachment.filename,
    )
    removal = BlobRemoval(id=uuid.uuid4(), storage_key=attachment.storage_key)
    db.session.add(removal)
    db.session.commit()
    queue_removals([removal.id])
    return attachment


# Removing files: the job and the sweep --------------------------------------------------


def queue_removals(ids: Iterable[uuid.UUID] | None = None) -> None:
    """Hand removals to the queue after the commit; never raises (the sweep catches up)."""
    from .. import jobs

    try:
        jobs.remove_blobs([str(i) for i in ids] if ids is not None else None)
    except Exception:
        log.warning("could not queue file removals; the sweep will do them", exc_info=True)


def remove_due(ids: Iterable[uuid.UUID] | None = None, limit: int = 500) -> tuple[int, int]:
    """Remove the files of due removal rows (these ids, or any due): (removed, failed).
    A failure is tried again later, the wait doubling up to half an hour."""
    now = utcnow()
    query = select(BlobRemoval).where(BlobRemoval.next_attempt_at <= now)
    if ids is not None:
        query = query.where(BlobRemoval.id.in_(list(ids)))
    rows = list(db.session.scalars(query.order_by(BlobRemoval.next_attempt_at).limit(limit)))
    removed = failed = 0
    store = storage()
    for row in rows:
        try:
            store.delete(row.storage_key)
        except Exception as exc:  # noqa: BLE001 - kept and retried
            failed += 1
            row.attempts += 1
            wait = min(timedelta(seconds=30 * 2 ** min(row.attempts, 10)), REMOVAL_RETRY_MAX)
            row.next_attempt_at = utcnow() + wait
            row.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            log.warning("could not remove file %s (try %d): %s", row.storage_key, row.attempts, exc)
        else:
            removed += 1
            db.session.delete(row)
        db.session.commit()
    return removed, failed


def pending_removals() -> int:
    return db.session.scalar(select(func.count()).select_from(BlobRemoval)) or 0

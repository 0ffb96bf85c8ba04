"""Where attachments' bytes live: a folder, or S3-compatible object storage.

One small interface (`Storage`) with two implementations, picked by ATTACHMENT_STORAGE:
a folder (the embedded default, `instance/attachments`) for one machine, or
`s3://bucket/prefix` (boto3; `S3_ENDPOINT_URL` for any S3-compatible store, credentials
from the usual AWS variables) for several web processes on several machines. Files are
copied in chunks both ways, never held whole in memory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from flask import Flask, current_app

CHUNK = 64 * 1024


class Storage(Protocol):
    def save(self, key: str, source: BinaryIO) -> None:
        """Store what `source` reads under `key` (read in chunks, to its end)."""

    def chunks(self, key: str) -> Iterator[bytes]:
        """The stored bytes in chunks; FileNotFoundError if there are none."""

    def delete(self, key: str) -> None:
        """Remove the bytes; nothing to remove is not an error."""

    def keys(self) -> list[str]:
        """Every stored key (for checks and clean-ups, not for requests)."""


class FolderStorage:
    """Files under a folder: `<root>/<key>`, written to a temporary name and renamed, so a
    half-written file is never seen under its key."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key outside the folder: {key!r}")
        return path

    def save(self, key: str, source: BinaryIO) -> None:
        path = self._path(key)
        incoming = self.root / ".incoming"
        incoming.mkdir(parents=True, exist_ok=True)
        partial = incoming / uuid.uuid4().hex
        try:
            with open(partial, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
            for _ in range(3):  # a removal may take the emptied folder meanwhile
                path.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(partial, path)
                    break
                except FileNotFoundError:
                    continue
        finally:
            partial.unlink(missing_ok=True)

    def chunks(self, key: str) -> Iterator[bytes]:
        handle = open(self._path(key), "rb")  # noqa: SIM115 - closed when the iterator ends

        def read() -> Iterator[bytes]:
            with handle:
                while block := handle.read(CHUNK):
                    yield block

        return read()

    def delete(self, key: str) -> None:
        path = self._path(key)
        path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # the project's folder, once empty
            path.parent.rmdir()

    def keys(self) -> list[str]:
        if not self.root.exists():
            return []
        return sorted(
            str(path.relative_to(self.root))
            for path in self.root.rglob("*")
            if path.is_file() and ".incoming" not in path.parts
        )


PART_BYTES = 5 * 1024 * 1024  # S3's smallest part


class S3Storage:
    """Objects in a bucket, under a prefix. Uploads go in parts of 5 MiB, one at a time
    (`bench/upload.py`: two 8 MiB parts at a time cost the web process 28 MB more), so a
    large file costs a bounded amount of memory."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client
        self._bucket_seen = False

    def _key(self, key: str) -> str:
        return self.prefix + key

    def save(self, key: str, source: BinaryIO) -> None:
        from boto3.s3.transfer import TransferConfig

        config = TransferConfig(
            multipart_threshold=PART_BYTES,
            multipart_chunksize=PART_BYTES,
            max_concurrency=1,
            use_threads=False,
        )
        self._ensure_bucket()
        self.client.upload_fileobj(source, self.bucket, self._key(key), Config=config)

    def _ensure_bucket(self) -> None:
        """Make the bucket if the store has none by that name (once per process)."""
        if self._bucket_seen:
            return
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            region = self.client.meta.region_name
            where = {} if region in (None, "us-east-1") else {"LocationConstraint": region}
            if where:
                self.client.create_bucket(Bucket=self.bucket, CreateBucketConfiguration=where)
            else:
                self.client.create_bucket(Bucket=self.bucket)
        self._bucket_seen = True

    def chunks(self, key: str) -> Iterator[bytes]:
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey as exc:
            raise FileNotFoundError(key) from exc
        body = answer["Body"]

        def read() -> Iterator[bytes]:
            try:
                yield from body.iter_chunks(CHUNK)
            finally:
                body.close()

        return read()

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self) -> list[str]:
        found: list[str] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
                found.extend(item["Key"][len(self.prefix) :] for item in page.get("Contents", []))
        except self.client.exceptions.NoSuchBucket:
            return []
        return sorted(found)


def from_config(config: Any) -> Storage:
    target = str(config["ATTACHMENT_STORAGE"])
    if not target.startswith("s3://"):
        return FolderStorage(target)
    import boto3
    from botocore.config import Config

    bucket, _, prefix = target[len("s3://") :].partition("/")
    client = boto3.client(
        "s3",
        endpoint_url=config.get("S3_ENDPOINT_URL"),
        region_name=config.get("AWS_REGION"),
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 3}),
    )
    return S3Storage(bucket, prefix, client)


def init_app(app: Flask) -> None:
    app.extensions["taskboard_storage"] = from_config(app.config)


def storage() -> Storage:
    return current_app.extensions["taskboard_storage"]

"""Attachments (SPEC §10) through the API and the pages, on both storages: a folder, and
S3 through a real S3-compatible server (moto's server mode) started for the test run.

After every test the storage holds exactly the files the database knows: no orphan."""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import boto3
import pytest
import sqlalchemy as sa
from conftest import ApiUser, assert_error, table_counts
from flask import Flask
from flask.testing import FlaskClient
from servers import free_port
from webutil import csrf_from, text, web_login

from taskboard import storage as storage_module
from taskboard.extensions import db
from taskboard.models import Activity, Attachment, BlobRemoval, TrashItem, utcnow
from taskboard.services import attachments, trash

API = "/api/v1"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.7\n" + b"0" * 200
HTML = b"<!doctype html><html><script>alert(document.cookie)</script></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
# A GIF header with a page behind it: shown as an image at most, never run as a page.
POLYGLOT = b"GIF89a/*\x01\x00\x01\x00\x00\x00\x00*/=1;<script>alert(1)</script>"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto's server mode) on a free local port."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def store(
    request: pytest.FixtureRequest, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> Iterator[storage_module.Storage]:
    """The app's attachment storage, of each kind; the test fails if it ends with a file
    the database does not know, or a row without its file."""
    if request.param == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
        }.items():
            monkeypatch.setenv(name, value)
        app.config.update(
            ATTACHMENT_STORAGE=f"s3://tb-{uuid.uuid4().hex[:12]}/files",
            S3_ENDPOINT_URL=endpoint,
            AWS_REGION="us-east-1",
        )
        storage_module.init_app(app)
    with app.app_context():
        store = storage_module.storage()
    yield store
    with app.app_context():
        known = set(db.session.scalars(sa.select(Attachment.storage_key)))
        for keys in db.session.scalars(sa.select(TrashItem.file_keys)):
            known |= set(keys)  # kept for a restore until the trash is purged
        pending = set(db.session.scalars(sa.select(BlobRemoval.storage_key)))
    assert set(store.keys()) == known, f"orphans or missing files (removals pending: {pending})"


def upload(user: ApiUser, task_id: str, content: bytes, name: str = "notes.txt", **kw: Any) -> Any:
    return user.post(
        f"{API}/tasks/{task_id}/attachments",
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
        **kw,
    )


def raw_upload(user: ApiUser, task_id: str, content: bytes, disposition: str) -> Any:
    """A multipart body written by hand, for names a client library would not send."""
    boundary = "----tb" + uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; {disposition}\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return user.post(
        f"{API}/tasks/{task_id}/attachments",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.fixture
def card(alice: ApiUser, bob: ApiUser) -> dict[str, str]:
    project = alice.create_project("Files")
    alice.add_member(project["id"], bob)
    task = alice.create_task(project["id"], "With files")
    return {"project": project["id"], "task": task["id"]}


def test_upload_list_download_and_delete(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    made = upload(alice, card["task"], PNG, "Screenshot 2026-12-03 at 10.00.png")
    assert made.status_code == 201, made.json
    body = made.json
    assert set(body) == {
        "id",
        "task_id",
        "filename",
        "content_type",
        "size",
        "uploaded_by",
        "created_at",
    }
    assert body["filename"] == "Screenshot 2026-12-03 at 10.00.png"  # spaces and dots kept
    assert body["content_type"] == "image/png" and body["size"] == len(PNG)
    assert body["uploaded_by"]["id"] == alice.id and body["task_id"] == card["task"]
    assert upload(alice, card["task"], PDF, "spec.pdf").status_code == 201

    listed = alice.get(f"{API}/tasks/{card['task']}/attachments")
    assert [a["filename"] for a in listed.json] == [body["filename"], "spec.pdf"]
    assert alice.get(f"{API}/attachments/{body['id']}").json == body
    task = alice.get(f"{API}/tasks/{card['task']}").json
    assert task["attachment_count"] == 2

    got = alice.get(f"{API}/attachments/{body['id']}/download")
    assert got.status_code == 200 and got.data == PNG
    assert got.headers["Content-Type"] == "image/png"
    assert got.headers["Content-Disposition"].startswith("inline;")
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got.headers["Content-Security-Policy"]
    assert "default-src 'none'" in got.headers["Content-Security-Policy"]
    pdf_id = listed.json[1]["id"]
    pdf = alice.get(f"{API}/attachments/{pdf_id}/download")
    assert pdf.headers["Content-Type"] == "application/octet-stream" and pdf.data == PDF
    assert pdf.headers["Content-Disposition"].startswith("attachment;")

    assert alice.delete(f"{API}/attachments/{body['id']}").status_code == 204
    assert_error(alice.get(f"{API}/attachments/{body['id']}"), 404)
    assert_error(alice.get(f"{API}/attachments/{body['id']}/download"), 404)
    assert alice.get(f"{API}/tasks/{card['task']}").json["attachment_count"] == 1
    with app.app_context():
        verbs = list(
            db.session.scalars(
                sa.select(Activity.verb).where(Activity.task_id == uuid.UUID(card["task"]))
            )
        )
    assert verbs.count("attachment_added") == 2 and verbs.count("attachment_removed") == 1
    assert len(store.keys()) == 1


def test_a_file_of_many_megabytes_comes_back_byte_for_byte(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    """Larger than every buffer on the way (the sniffed head, S3's multipart parts)."""
    content = os.urandom(9 * 1024 * 1024 + 12345)
    made = upload(alice, card["task"], content, "big.bin")
    assert made.status_code == 201 and made.json["size"] == len(content)
    got = alice.get(f"{API}/attachments/{made.json['id']}/download")
    assert got.headers["Content-Length"] == str(len(content))
    assert got.data == content


def test_the_type_comes_from_the_bytes_and_only_images_show_inline(
    store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    cases = [
        (JPEG, "photo.txt", "image/jpeg", "inline"),  # the name does not decide
        (HTML, "page.html", "text/plain", "attachment"),
        (SVG, "drawing.svg", "text/plain", "attachment"),
        (POLYGLOT, "trick.html", "image/gif", "inline"),
        (b"\x00\x01\x02binary", "data.bin", "application/octet-stream", "attachment"),
    ]
    for content, name, content_type, disposition in cases:
        made = alice.post(
            f"{API}/tasks/{card['task']}/attachments",
            data={"file": (io.BytesIO(content), name, "image/png")},  # the client lies
            content_type="multipart/form-data",
        )
        assert made.status_code == 201 and made.json["content_type"] == content_type, name
        got = alice.get(f"{API}/attachments/{made.json['id']}/download")
        assert got.data == content
        served = content_type if disposition == "inline" else "application/octet-stream"
        assert got.headers["Content-Type"] == served, name
        assert got.headers["Content-Disposition"].split(";")[0] == disposition, name
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in got.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('filename="../../etc/passwd"', "passwd"),
        ('filename="C:\\\\Users\\\\me\\\\report.pdf"', "report.pdf"),
        ('filename="two%0Alines.txt"', "two%0Alines.txt"),
        ('filename="bell\x07and\ttab.txt"', "bellandtab.txt"),
        ("filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt", "naïve café.txt"),
        ('filename=".."', "file"),
        ('filename="' + "x" * 300 + '.txt"', "x" * 251 + ".txt"),
    ],
)
def test_filenames_are_cleaned_of_paths_and_control_characters(
    store: Any, alice: ApiUser, card: dict[str, str], disposition: str, expected: str
) -> None:
    made = raw_upload(alice, card["task"], b"some text", disposition)
    assert made.status_code == 201, made.json
    assert made.json["filename"] == expected
    got = alice.get(f"{API}/attachments/{made.json['id']}/download")
    header = got.headers["Content-Disposition"]
    assert "\n" not in header and "\r" not in header and "/" not in header.split(";", 1)[1]
    assert "filename*=UTF-8''" in header


def test_clean_filename_keeps_what_a_person_typed() -> None:
    assert (
        attachments.clean_filename("Q3 report (final), v2!.xlsx") == "Q3 report (final), v2!.xlsx"
    )
    assert attachments.clean_filename("a/b\\c\u202e.txt") == "c.txt"  # bidi override too
    assert attachments.clean_filename("line\r\nbreak.txt") == "linebreak.txt"
    assert attachments.clean_filename("   ") == "file"
    assert attachments.clean_filename(None) == "file"


def test_too_large_files_are_refused_and_leave_nothing(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    app.config["ATTACHMENT_MAX_BYTES"] = 1000
    assert upload(alice, card["task"], b"x" * 1000, "exactly.txt").status_code == 201
    before = table_counts(app)
    keys = store.keys()
    # Within the body limit (the form's slack) but over the file's limit: refused while copied.
    over = assert_error(upload(alice, card["task"], b"x" * 1001, "over.txt"), 413)
    assert "larger than 1000 B" in over["message"]
    assert table_counts(app) == before and store.keys() == keys


def test_a_body_over_the_limit_is_refused_before_it_is_read(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    class Unreadable(io.BytesIO):
        def read(self, *_: Any) -> bytes:
            raise AssertionError("the body was read")

        readinto = readline = read  # type: ignore[assignment]

    size = app.config["ATTACHMENT_MAX_BYTES"] + 1024 * 1024
    resp = alice.client.post(
        f"{API}/tasks/{card['task']}/attachments",
        headers={**alice.headers, "Content-Type": "multipart/form-data; boundary=x"},
        input_stream=Unreadable(),
        environ_overrides={"CONTENT_LENGTH": str(size)},
    )
    assert_error(resp, 413)
    # Other routes keep the small limit: a 2 MiB JSON body is 413 too.
    big = alice.post(f"{API}/projects", json={"title": "x" * (2 * 1024 * 1024)})
    assert_error(big, 413)


def test_the_project_quota_holds(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    app.config["ATTACHMENT_PROJECT_MAX_BYTES"] = 250
    assert upload(alice, card["task"], b"a" * 200, "first.txt").status_code == 201
    before = table_counts(app)
    refused = assert_error(upload(alice, card["task"], b"b" * 100, "second.txt"), 413)
    assert "50 B are left" in refused["message"]
    assert table_counts(app) == before and len(store.keys()) == 1
    other = alice.create_project("Another")
    task = alice.create_task(other["id"])
    assert upload(alice, task["id"], b"c" * 200, "elsewhere.txt").status_code == 201


def test_who_may_see_upload_and_delete(
    app: Flask, store: Any, alice: ApiUser, bob: ApiUser, carol: ApiUser, card: dict[str, str]
) -> None:
    mine = upload(alice, card["task"], b"alice's", "alice.txt").json
    theirs = upload(bob, card["task"], b"bob's", "bob.txt").json
    before = table_counts(app)
    # Carol is no member: none of it exists for her.
    assert_error(upload(carol, card["task"], b"x"), 404)
    assert_error(carol.get(f"{API}/tasks/{card['task']}/attachments"), 404)
    assert_error(carol.get(f"{API}/attachments/{mine['id']}"), 404)
    assert_error(carol.get(f"{API}/attachments/{mine['id']}/download"), 404)
    assert_error(carol.delete(f"{API}/attachments/{mine['id']}"), 404)
    # Bob is a member but neither uploader nor owner of Alice's file.
    assert_error(bob.delete(f"{API}/attachments/{mine['id']}"), 403)
    # A read-scoped token reads, and cannot upload or delete.
    read = alice.post(f"{API}/users/me/tokens", json={"name": "ro", "scope": "read"}).json
    headers = {"Authorization": f"Bearer {read['token']}"}
    assert alice.client.get(f"{API}/attachments/{mine['id']}/download", headers=headers).data
    refused = alice.client.post(
        f"{API}/tasks/{card['task']}/attachments",
        data={"file": (io.BytesIO(b"x"), "x.txt")},
        content_type="multipart/form-data",
        headers=headers,
    )
    assert_error(refused, 403)
    assert_error(alice.client.delete(f"{API}/attachments/{mine['id']}", headers=headers), 403)
    after = table_counts(app)
    assert after.pop("personal_tokens") == before.pop("personal_tokens") + 1
    assert after == before
    # The owner deletes anyone's; the uploader their own.
    assert alice.delete(f"{API}/attachments/{theirs['id']}").status_code == 204
    assert upload(bob, card["task"], b"again", "bob2.txt").status_code == 201
    bob2 = alice.get(f"{API}/tasks/{card['task']}/attachments").json[-1]
    assert bob.delete(f"{API}/attachments/{bob2['id']}").status_code == 204


def test_bad_uploads_get_a_clear_4xx_and_change_nothing(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    before = table_counts(app)
    url = f"{API}/tasks/{card['task']}/attachments"
    assert_error(alice.post(url, json={"file": "x"}), 422, "file", location="files")
    assert_error(
        alice.post(
            url, data={"other": (io.BytesIO(b"x"), "x.txt")}, content_type="multipart/form-data"
        ),
        422,
    )
    extra = alice.post(
        url,
        data={"file": (io.BytesIO(b"x"), "x.txt"), "note": "hello"},
        content_type="multipart/form-data",
    )
    assert_error(extra, 422, "note")
    empty = assert_error(upload(alice, card["task"], b"", "empty.txt"), 422)
    assert empty["message"] == "The file is empty."
    assert_error(upload(alice, str(uuid.uuid4()), b"x"), 404)
    assert table_counts(app) == before and store.keys() == []


def test_files_stay_while_in_the_trash_and_go_when_it_is_purged(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str]
) -> None:
    upload(alice, card["task"], b"one", "one.txt")
    other = alice.create_task(card["project"], "Second")
    upload(alice, other["id"], b"two", "two.txt")
    made = upload(alice, other["id"], PNG, "three.png").json
    assert len(store.keys()) == 3
    assert alice.delete(f"{API}/tasks/{other['id']}").status_code == 204
    assert len(store.keys()) == 3  # in the trash: restorable with its files
    assert alice.post(f"{API}/tasks/{other['id']}/restore").status_code == 200
    assert alice.get(f"{API}/tasks/{other['id']}").json["attachment_count"] == 2
    assert alice.get(f"{API}/attachments/{made['id']}/download").data == PNG
    assert alice.delete(f"{API}/tasks/{other['id']}").status_code == 204
    assert alice.delete(f"{API}/projects/{card['project']}").status_code == 204
    assert len(store.keys()) == 3
    with app.app_context():
        later = utcnow() + timedelta(days=app.config["TRASH_DAYS"], seconds=1)
        assert trash.purge(later) == 2  # the project, and the task trashed before it
        assert attachments.pending_removals() == 0
    assert store.keys() == []


def test_a_failed_removal_never_fails_the_request_and_is_retried(
    app: Flask, store: Any, alice: ApiUser, card: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    made = upload(alice, card["task"], b"stubborn", "stubborn.txt").json
    real_delete = type(store).delete

    def refuse(self: Any, key: str) -> None:
        raise OSError("storage unreachable")

    monkeypatch.setattr(type(store), "delete", refuse)
    assert alice.delete(f"{API}/attachments/{made['id']}").status_code == 204
    assert alice.get(f"{API}/tasks/{card['task']}").json["attachment_count"] == 0
    with app.app_context():
        (row,) = db.session.scalars(sa.select(BlobRemoval))
        assert row.attempts == 1 and "storage unreachable" in (row.last_error or "")
        assert attachments.remove_due() == (0, 0)  # not due again yet
        db.session.execute(sa.update(BlobRemoval).values(next_attempt_at=sa.func.now()))
        db.session.commit()
    monkeypatch.setattr(type(store), "delete", real_delete)
    with app.app_context():
        assert attachments.remove_due() == (1, 0)
        assert attachments.pending_removals() == 0


def test_the_board_shows_the_count_without_a_query_per_card(
    app: Flask,
    store: Any,
    client: FlaskClient,
    alice: ApiUser,
    card: dict[str, str],
    count_queries: Any,
) -> None:
    web_login(client, alice.email)
    path = f"/projects/{card['project']}"
    client.get(path)
    with count_queries() as plain:
        client.get(path)
    for n in range(3):
        task = alice.create_task(card["project"], f"Filed {n}")
        upload(alice, task["id"], b"x", f"{n}.txt")
        upload(alice, task["id"], b"y", f"{n}b.txt")
    with count_queries() as filed:
        page = text(client.get(path))
    assert filed.count == plain.count
    assert page.count('title="2 attachments"') == 3


def test_the_detail_uploads_lists_and_deletes_without_javascript(
    app: Flask,
    store: Any,
    client: FlaskClient,
    alice: ApiUser,
    bob: ApiUser,
    card: dict[str, str],
) -> None:
    token = web_login(client, alice.email)
    url = f"/tasks/{card['task']}/attachments"
    page = text(client.get(f"/tasks/{card['task']}"))
    assert '<label for="attach-file">Attach file</label>' in page
    assert 'enctype="multipart/form-data"' in page
    sent = client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(PNG), "board.png")},
        content_type="multipart/form-data",
    )
    assert sent.status_code == 303 and sent.headers["Location"].endswith("#attachments")
    page = text(client.get(f"/tasks/{card['task']}"))
    assert "Attached “board.png”." in page and ">board.png</a>" in page
    assert '<img src="/attachments/' in page  # a preview of the image
    assert "Delete attachment" in page and "Alice Adams" in page
    attachment_id = alice.get(f"{API}/tasks/{card['task']}/attachments").json[0]["id"]
    download = client.get(f"/attachments/{attachment_id}/download")
    assert download.status_code == 200 and download.data == PNG

    nothing = client.post(url, data={"csrf_token": token}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Choose a file to attach." in text(nothing)
    app.config["ATTACHMENT_MAX_BYTES"] = 10
    big = client.post(
        url,
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 11), "big.txt")},
        content_type="multipart/form-data",
    )
    assert big.status_code == 413 and "larger than 10 B" in text(big)

    ask = client.post(f"/attachments/{attachment_id}/delete", data={"csrf_token": token})
    assert ask.status_code == 200 and "Delete the attachment “board.png”?" in text(ask)
    gone = client.post(
        f"/attachments/{attachment_id}/delete", data={"csrf_token": token, "confirm": "yes"}
    )
    assert gone.status_code == 303
    assert alice.get(f"{API}/tasks/{card['task']}/attachments").json == []

    # Bob, a member, sees Alice's files but no delete button for them.
    upload(alice, card["task"], b"text", "alice.txt")
    other = app.test_client()
    web_login(other, bob.email)
    detail = text(other.get(f"/tasks/{card['task']}"))
    assert ">alice.txt</a>" in detail and "Delete attachment" not in detail
    bob_token = csrf_from(detail)
    attachment_id = alice.get(f"{API}/tasks/{card['task']}/attachments").json[0]["id"]
    refused = other.post(
        f"/attachments/{attachment_id}/delete", data={"csrf_token": bob_token, "confirm": "yes"}
    )
    assert refused.status_code == 403


def test_s3_holds_the_bytes_under_the_prefix(
    app: Flask,
    alice: ApiUser,
    card: dict[str, str],
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Read back with boto3 itself: the object is there, under the configured prefix."""
    endpoint = request.getfixturevalue("s3_endpoint")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    bucket = f"tb-{uuid.uuid4().hex[:12]}"
    app.config.update(ATTACHMENT_STORAGE=f"s3://{bucket}/team/files", S3_ENDPOINT_URL=endpoint)
    storage_module.init_app(app)
    made = upload(alice, card["task"], PDF, "spec.pdf").json
    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    listed = client.list_objects_v2(Bucket=bucket)["Contents"]
    key = f"team/files/{card['project']}/{made['id']}"
    assert [item["Key"] for item in listed] == [key]
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == PDF
    assert alice.delete(f"{API}/attachments/{made['id']}").status_code == 204
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_the_openapi_document_describes_upload_and_download(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    post = spec["paths"]["/api/v1/tasks/{task_id}/attachments"]["post"]
    form = post["requestBody"]["content"]["multipart/form-data"]["schema"]
    if "$ref" in form:
        form = spec["components"]["schemas"][form["$ref"].rsplit("/", 1)[1]]
    assert form["properties"]["file"] == {
        "type": "string",
        "format": "binary",
        "description": "The file (multipart field `file`).",
    }
    assert form["required"] == ["file"]
    get = spec["paths"]["/api/v1/attachments/{attachment_id}/download"]["get"]
    served = get["responses"]["200"]["content"]
    assert set(served) == {
        "application/octet-stream",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
    }
    assert served["application/octet-stream"]["schema"] == {"type": "string", "format": "binary"}

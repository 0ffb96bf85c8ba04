"""A client generated from the OpenAPI document works: openapi-python-client turns
/api/openapi.json into a Python package without a warning, which then signs up, shapes
a board (a column with a WIP limit, a label) and makes a card with a checklist against
a live server."""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from servers import BIN, app_env, live_server

pytestmark = pytest.mark.slow


def generate(server_url: str, into: Path) -> Any:
    spec = into / "openapi.json"
    with urllib.request.urlopen(server_url + "/api/openapi.json") as resp:
        spec.write_bytes(resp.read())
    # With ruff on its PATH, as its formatting hooks want, it must build without warnings.
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    done = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(spec), "--meta", "none"],
        cwd=into,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PATH": path},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(into))
    try:
        return importlib.import_module("taskboard_api_client")
    finally:
        sys.path.remove(str(into))


def test_a_generated_client_shapes_a_board_and_makes_a_card(tmp_path: Path) -> None:
    env = app_env(f"sqlite:///{tmp_path / 'taskboard.db'}", tmp_path / "instance")
    with live_server(env, tmp_path) as server:
        package = generate(server.url, tmp_path)
        m = importlib.import_module("taskboard_api_client.models")

        def endpoint(group: str, name: str) -> Any:
            return importlib.import_module(f"taskboard_api_client.api.{group}.{name}")

        register, tokens = endpoint("auth", "post_register"), endpoint("auth", "post_tokens")
        new_project = endpoint("projects", "post_projects")
        columns, new_column = endpoint("boards", "get_columns"), endpoint("boards", "post_columns")
        new_label, new_item = (
            endpoint("boards", "post_labels"),
            endpoint("boards", "post_checklist"),
        )
        new_task, one_task = (
            endpoint("tasks", "post_project_tasks"),
            endpoint("tasks", "get_task_item"),
        )

        client = package.Client(base_url=server.url)
        email = f"generated-{uuid.uuid4().hex[:6]}@example.com"
        registered = register.sync_detailed(
            client=client, body=m.Register(email=email, name="Gen", password="generated-1")
        )
        assert registered.status_code == 201
        pair = tokens.sync(client=client, body=m.Credentials(email=email, password="generated-1"))
        authed = package.AuthenticatedClient(base_url=server.url, token=pair.access_token)
        project = new_project.sync(client=authed, body=m.ProjectCreate(title="Gen"))
        names = [c.name for c in columns.sync(client=authed, project_id=project.id)]
        assert names == ["To Do", "In Progress", "Done"]
        review = new_column.sync(
            client=authed,
            project_id=project.id,
            body=m.ColumnCreate(
                name="Review", category=m.ColumnCreateCategory("in_progress"), wip_limit=2
            ),
        )
        assert review.wip_limit == 2
        bug = new_label.sync(
            client=authed,
            project_id=project.id,
            body=m.LabelCreate(name="Bug", color=m.LabelCreateColor("red")),
        )
        card = new_task.sync(
            client=authed,
            project_id=project.id,
            body=m.TaskCreate(title="From the client", column_id=review.id, label_ids=[bug.id]),
        )
        new_item.sync(client=authed, task_id=card.id, body=m.ChecklistItemCreate(text="Check it"))
        read = one_task.sync(client=authed, task_id=card.id)
        assert read.status == "in_progress" and read.column_id == review.id
        assert [label.name for label in read.labels] == ["Bug"]
        assert (read.checklist.done, read.checklist.total) == (0, 1)
        # A refusal comes back as the Error model, with the field named.
        refused = new_column.sync_detailed(
            client=authed,
            project_id=project.id,
            body=m.ColumnCreate(name="review", category=m.ColumnCreateCategory("todo")),
        )
        assert refused.status_code == 409
        # Files: a multipart upload and a binary download, as the document describes them.
        types = importlib.import_module("taskboard_api_client.types")
        attach = endpoint("attachments", "post_task_attachments")
        fetch = endpoint("attachments", "get_attachment_download")
        content = b"%PDF-1.7\n" + os.urandom(4096)
        made = attach.sync(
            client=authed,
            task_id=card.id,
            body=m.AttachmentUpload(
                file=types.File(payload=io.BytesIO(content), file_name="a.pdf")
            ),
        )
        assert made.filename == "a.pdf" and made.content_type == "application/pdf"
        got = fetch.sync_detailed(client=authed, attachment_id=made.id)
        assert got.status_code == 200 and got.content == content
        assert one_task.sync(client=authed, task_id=card.id).attachment_count == 1

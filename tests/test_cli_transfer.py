"""`flask projects import-trello | import | export | purge-trash` through Flask's CLI runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import ApiUser, table_counts
from flask import Flask
from trello_exports import build_export, export_bytes

API = "/api/v1"


def test_import_trello_makes_a_project_for_the_owner(
    runner: Any, app: Flask, alice: ApiUser, tmp_path: Path
) -> None:
    board = build_export(lists=3, cards_per_list=4, closed_per_list=1, seed=3)
    path = tmp_path / "board.json"
    path.write_bytes(export_bytes(board))
    result = runner.invoke(args=["projects", "import-trello", str(path), "--owner", alice.email])
    assert result.exit_code == 0, result.output
    assert "Imported “" in result.output and "9 tasks" in result.output
    assert "3 in the trash" in result.output
    (project,) = alice.get(f"{API}/projects").json
    assert project["title"] == board["name"]
    trashed = alice.get(f"{API}/projects/{project['id']}/trash").json
    assert len(trashed) == 3  # the closed cards


def test_import_refuses_a_bad_file_or_owner_and_writes_nothing(
    runner: Any, app: Flask, alice: ApiUser, tmp_path: Path
) -> None:
    path = tmp_path / "not-trello.json"
    path.write_text(json.dumps({"hello": "world"}))
    before = table_counts(app)
    bad = runner.invoke(args=["projects", "import-trello", str(path), "--owner", alice.email])
    assert bad.exit_code != 0 and "not a Trello board export" in bad.output
    nobody = runner.invoke(args=["projects", "import", str(path), "--owner", "no@example.com"])
    assert nobody.exit_code != 0 and "No active account" in nobody.output
    assert table_counts(app) == before


def test_export_then_import_a_project_from_the_command_line(
    runner: Any, app: Flask, alice: ApiUser, bob: ApiUser, tmp_path: Path
) -> None:
    project = alice.create_project("Round trip")
    alice.create_task(project["id"], "One")
    alice.create_task(project["id"], "Two", status="done")
    for suffix in ("zip", "json", "csv"):
        target = tmp_path / f"out.{suffix}"
        done = runner.invoke(
            args=["projects", "export", project["id"], str(target), "--as", alice.email]
        )
        assert done.exit_code == 0, done.output
        assert target.stat().st_size > 0
    refused = runner.invoke(
        args=["projects", "export", project["id"], str(tmp_path / "x.zip"), "--as", bob.email]
    )
    assert refused.exit_code != 0 and not (tmp_path / "x.zip").exists()
    again = runner.invoke(
        args=["projects", "import", str(tmp_path / "out.zip"), "--owner", bob.email]
    )
    assert again.exit_code == 0, again.output
    (copy,) = bob.get(f"{API}/projects").json
    titles = sorted(t["title"] for t in bob.get(f"{API}/projects/{copy['id']}/tasks").json)
    assert copy["title"] == "Round trip" and titles == ["One", "Two"]


def test_purge_trash(runner: Any, app: Flask, alice: ApiUser) -> None:
    project = alice.create_project("Purge")
    task = alice.create_task(project["id"], "Old")
    assert alice.delete(f"{API}/tasks/{task['id']}").status_code == 204
    assert "Purged 0 item(s)" in runner.invoke(args=["projects", "purge-trash"]).output
    app.config["TRASH_DAYS"] = 1
    from datetime import timedelta

    import sqlalchemy as sa

    from taskboard.extensions import db
    from taskboard.models import TrashItem, utcnow

    with app.app_context():
        db.session.execute(sa.update(TrashItem).values(deleted_at=utcnow() - timedelta(days=2)))
        db.session.commit()
    assert "Purged 1 item(s)" in runner.invoke(args=["projects", "purge-trash"]).output

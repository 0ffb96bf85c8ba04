"""Moving in and out, and the trash: the import page, the exports, the CSV import, the
trash pages, restoring and "Undo"."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import Invalid, TooLarge
from ..http import download_response
from ..services import csv_tasks, projects, tasks, transfer, trash, trello
from .board import BOARD_CHANGED
from .htmx import confirm_page, is_htmx, see_other, trigger, vary

bp = Blueprint("web_transfer", __name__)

SOURCES = {"taskboard": "a Taskboard export (.json or .zip)", "trello": "a Trello board (.json)"}


def _redirect(url: str) -> Response:
    """To `url` after a form: htmx follows HX-Redirect, a plain form the 303."""
    if is_htmx():
        response = make_response("", 200)
        response.headers["HX-Redirect"] = url
        return response
    return see_other(url)


@bp.route("/projects/import", methods=["GET", "POST"])
@login_required
def import_page() -> Any:
    source = request.values.get("source", "taskboard")
    if request.method == "GET":
        return render_template("projects/import.html", source=source, sources=SOURCES)
    upload = request.files.get("file")
    try:
        if source not in SOURCES:
            raise Invalid("Choose what the file is.", field="source")
        if upload is None or not (upload.filename or "").strip():
            raise Invalid("Choose the file to import.", field="file")
        if source == "trello":
            doc = trello.to_document(upload.stream, max_bytes=transfer.max_bytes())
            project = transfer.import_document(current_user, doc, source="Trello")
        else:
            project = transfer.import_upload(current_user, upload.stream)
    except (Invalid, TooLarge) as error:
        page = render_template(
            "projects/import.html", source=source, sources=SOURCES, error=error.message
        )
        return vary(make_response(page, error.status))
    counts = transfer.counts(project.id)
    flash(
        f"Imported “{project.title}”: {counts['tasks']} tasks in {counts['columns']} columns.",
        "success",
    )
    return _redirect(f"/projects/{project.id}")


@bp.get("/projects/<uuid:project_id>/export.<any(json, zip, csv):kind>")
@login_required
def export(project_id: uuid.UUID, kind: str) -> Response:
    if kind == "json":
        data: Any = transfer.document_bytes(current_user, project_id)
        mimetype = "application/json"
    elif kind == "zip":
        data, mimetype = transfer.zip_file(current_user, project_id), "application/zip"
    else:
        data, mimetype = csv_tasks.export(current_user, project_id), "text/csv; charset=utf-8"
    return download_response(data, mimetype, transfer.file_name(project_id, kind))


@bp.get("/projects/<uuid:project_id>/transfer")
@login_required
def transfer_page(project_id: uuid.UUID) -> str:
    project = projects.get_for_member(current_user, project_id, load=False)
    return render_template("projects/transfer.html", project=project, columns=csv_tasks.HEADER)


@bp.post("/projects/<uuid:project_id>/import.csv")
@login_required
def import_csv(project_id: uuid.UUID) -> Response:
    project = projects.get_for_member(current_user, project_id, load=False)
    upload = request.files.get("file")
    try:
        if upload is None or not (upload.filename or "").strip():
            raise Invalid("Choose a CSV file to import.", field="file")
        count = csv_tasks.import_csv(current_user, project_id, upload.stream)
    except (Invalid, TooLarge) as error:
        page = render_template(
            "projects/transfer.html", project=project, columns=csv_tasks.HEADER, error=error.message
        )
        return vary(make_response(page, error.status))
    flash(f"Imported {count} task{'' if count == 1 else 's'} from the CSV file.", "success")
    return see_other(f"/projects/{project.id}")


# The trash -----------------------------------------------------------------------------


@bp.get("/projects/<uuid:project_id>/trash")
@login_required
def project_trash(project_id: uuid.UUID) -> str:
    project = projects.get_for_member(current_user, project_id, load=False)
    page = trash.for_project(current_user, project_id, limit=500)
    return render_template("trash/index.html", project=project, page=page, days=trash.days())


@bp.get("/trash")
@login_required
def my_trash() -> str:
    page = trash.for_user(current_user, limit=500)
    return render_template("trash/index.html", project=None, page=page, days=trash.days())


@bp.post("/tasks/<uuid:task_id>/restore")
@login_required
def restore_task(task_id: uuid.UUID) -> Response:
    trash.restore_task(current_user, task_id)
    task = tasks.get_for_member(current_user, task_id)
    message = f"Task “{task.title}” restored."
    if is_htmx():
        response = vary(make_response("", 200))
        trigger(response, BOARD_CHANGED)
        return trigger(response, "announce", message)
    flash(message, "success")
    if request.form.get("back") == "trash":
        return see_other(f"/projects/{task.project_id}/trash")
    return see_other(f"/projects/{task.project_id}?task={task_id}")


@bp.post("/projects/<uuid:project_id>/restore")
@login_required
def restore_project(project_id: uuid.UUID) -> Response:
    trash.restore_project(current_user, project_id)
    project = projects.get_for_member(current_user, project_id, load=False)
    flash(f"Project “{project.title}” restored.", "success")
    return see_other(f"/projects/{project_id}")


@bp.post("/trash/<uuid:item_id>/delete")
@login_required
def forget(item_id: uuid.UUID) -> Response:
    back = request.values.get("back") or "/trash"
    back = back if back.startswith("/") and not back.startswith("//") else "/trash"
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question="Delete this for good?",
            consequence="It is removed from the trash with its comments, history and files. "
            "This cannot be undone.",
            action=f"/trash/{item_id}/delete?back={quote(back)}",
            button="Delete for good",
            cancel=back,
        )
    trash.forget(current_user, item_id)
    flash("Deleted for good.", "success")
    return see_other(back)

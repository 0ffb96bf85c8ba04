"""Import, export and the trash: /projects/import…, /projects/{id}/export.…, …/trash"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request
from flask.views import MethodView

from ..errors import Invalid
from ..http import download_response
from ..services import csv_tasks, projects, tasks, transfer, trash, trello
from ..services.trash import Trashed
from . import schemas as s
from .base import ETAG, Blueprint, current_actor, paged, tagged

blp = Blueprint(
    "transfer",
    __name__,
    url_prefix="/api/v1",
    description="Import and export projects; the trash of deleted tasks and projects",
)

BINARY = {"type": "string", "format": "binary"}
ZIP = {
    "description": "The zip file",
    "content": {
        kind: {"schema": BINARY} for kind in ("application/zip", "application/octet-stream")
    },
}


def _the_file(files: dict[str, Any]) -> Any:
    extra = sorted(set(request.form) | (set(request.files) - {"file"}))
    if extra:
        raise Invalid(f"Unknown field {extra[0]!r}: send only `file`.", field=extra[0])
    return files["file"].stream


@blp.route("/projects/import")
class ProjectImport(MethodView):
    @blp.auth()
    @blp.arguments(s.ImportUploadSchema, location="files")
    @blp.response(201, s.ProjectSchema, headers=ETAG)
    @blp.errors(400, 413)
    def post(self, files: dict[str, Any]) -> Any:
        """Create a project from a Taskboard export (`export.json`, or `export.zip` with
        the attachments' files); the caller owns it, people are matched by email"""
        return tagged(transfer.import_upload(current_actor(), _the_file(files)), 201)


@blp.route("/projects/import/trello")
class TrelloImport(MethodView):
    @blp.auth()
    @blp.arguments(s.ImportUploadSchema, location="files")
    @blp.response(201, s.ProjectSchema, headers=ETAG)
    @blp.errors(400, 413)
    def post(self, files: dict[str, Any]) -> Any:
        """Create a project from a Trello board's "Export as JSON": open lists become
        columns, closed cards go to the trash, members are matched by email"""
        doc = trello.to_document(_the_file(files), max_bytes=transfer.max_bytes())
        project = transfer.import_document(current_actor(), doc, source="Trello")
        return tagged(project, 201)


@blp.route("/projects/<uuid:project_id>/export.json")
class JsonExport(MethodView):
    @blp.auth()
    @blp.response(200, {"type": "object"}, content_type="application/json")
    @blp.errors(404)
    def get(self, project_id: uuid.UUID) -> Response:
        """Everything of the project as one document (docs/export-format.md): columns,
        labels, tasks, checklists, comments, history, attachment metadata"""
        data = transfer.document_bytes(current_actor(), project_id)
        return download_response(data, "application/json", transfer.file_name(project_id, "json"))


@blp.route("/projects/<uuid:project_id>/export.zip")
class ZipExport(MethodView):
    @blp.auth()
    @blp.response(200, BINARY, content_type="application/zip")
    @blp.doc(responses={"200": ZIP})
    @blp.errors(404)
    def get(self, project_id: uuid.UUID) -> Response:
        """The JSON export as `project.json` with every attachment's bytes in `files/`
        (`application/zip`, or `application/octet-stream` to a client that asks for it)"""
        archive = transfer.zip_file(current_actor(), project_id)
        kind = request.accept_mimetypes.best_match(list(ZIP["content"])) or "application/zip"
        return download_response(archive, kind, transfer.file_name(project_id, "zip"))


@blp.route("/projects/<uuid:project_id>/export.csv")
class CsvExport(MethodView):
    @blp.auth()
    @blp.response(200, {"type": "string"}, content_type="text/csv")
    @blp.errors(404)
    def get(self, project_id: uuid.UUID) -> Response:
        """One row per task: title, description, column, status, labels, assignees,
        due_date, created_at, checklist (done/total); UTF-8 with BOM, no cell a
        spreadsheet would run as a formula"""
        data = csv_tasks.export(current_actor(), project_id)
        return download_response(
            data, "text/csv; charset=utf-8", transfer.file_name(project_id, "csv")
        )


@blp.route("/projects/<uuid:project_id>/import.csv")
class CsvImport(MethodView):
    @blp.auth()
    @blp.arguments(s.ImportUploadSchema, location="files")
    @blp.response(201, s.CsvImportResultSchema)
    @blp.errors(400, 404, 413)
    def post(self, files: dict[str, Any], project_id: uuid.UUID) -> dict[str, int]:
        """Add tasks from a CSV file with the export's columns (any member): all or
        nothing; unknown column and label names are created; errors name the line"""
        count = csv_tasks.import_csv(current_actor(), project_id, _the_file(files))
        return {"imported": count}


@blp.route("/projects/<uuid:project_id>/trash")
class ProjectTrash(MethodView):
    @blp.auth()
    @blp.response(200, s.TrashItemSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[Trashed]:
        """The project's deleted tasks, newest first, until they are purged"""
        return paged(pagination_parameters, trash.for_project, current_actor(), project_id)


@blp.route("/users/me/trash")
class MyTrash(MethodView):
    @blp.auth()
    @blp.response(200, s.TrashItemSchema(many=True))
    @blp.paginate()
    def get(self, pagination_parameters: Any) -> list[Trashed]:
        """What the caller can restore: deleted projects they own, deleted tasks of
        their projects"""
        return paged(pagination_parameters, trash.for_user, current_actor())


@blp.route("/tasks/<uuid:task_id>/restore")
class TaskRestore(MethodView):
    @blp.auth()
    @blp.response(200, s.TaskSchema, headers=ETAG)
    @blp.errors(404)
    def post(self, task_id: uuid.UUID) -> Any:
        """Put a deleted task back (any member), with its comments, history, checklist
        and attachments, in its column (or the first of its category)"""
        trash.restore_task(current_actor(), task_id)
        return tagged(tasks.get_for_member(current_actor(), task_id))


@blp.route("/projects/<uuid:project_id>/restore")
class ProjectRestore(MethodView):
    @blp.auth()
    @blp.response(200, s.ProjectSchema, headers=ETAG)
    @blp.errors(404)
    def post(self, project_id: uuid.UUID) -> Any:
        """Put a deleted project back with everything it had (its owner)"""
        trash.restore_project(current_actor(), project_id)
        return tagged(projects.get_for_member(current_actor(), project_id))


@blp.route("/trash/<uuid:item_id>")
class TrashEntry(MethodView):
    @blp.auth()
    @blp.response(204)
    @blp.errors(404)
    def delete(self, item_id: uuid.UUID) -> None:
        """Delete a trash entry for good, files included (who may restore it)"""
        trash.forget(current_actor(), item_id)

"""Attachments: /tasks/{id}/attachments, /attachments/…"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request
from flask.views import MethodView

from ..errors import Invalid
from ..http import file_response
from ..models import Attachment
from ..services import attachments
from . import schemas as s
from .base import Blueprint, current_actor, paged

blp = Blueprint(
    "attachments", __name__, url_prefix="/api/v1", description="Files attached to tasks"
)

BINARY = {"type": "string", "format": "binary"}
# Images inline with their type, anything else as bytes.
DOWNLOAD = {
    "description": "The file",
    "content": {
        kind: {"schema": BINARY}
        for kind in ["application/octet-stream", *sorted(attachments.INLINE_TYPES)]
    },
}


@blp.route("/tasks/<uuid:task_id>/attachments")
class TaskAttachments(MethodView):
    @blp.auth()
    @blp.response(200, s.AttachmentSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, task_id: uuid.UUID, pagination_parameters: Any) -> list[Attachment]:
        """The task's attachments, oldest first"""
        return paged(pagination_parameters, attachments.list_for_task, current_actor(), task_id)

    @blp.auth()
    @blp.arguments(s.AttachmentUploadSchema, location="files")
    @blp.response(201, s.AttachmentSchema)
    @blp.errors(400, 404, 413)
    def post(self, files: dict[str, Any], task_id: uuid.UUID) -> Attachment:
        """Attach a file (multipart/form-data, field `file`); its type is sniffed from its
        bytes; 413 over ATTACHMENT_MAX_BYTES or the project's quota"""
        extra = sorted(set(request.form) | (set(request.files) - {"file"}))
        if extra:  # the form has one field; anything else is a mistake, said so
            raise Invalid(f"Unknown field {extra[0]!r}: send only `file`.", field=extra[0])
        upload = files["file"]
        return attachments.upload(current_actor(), task_id, upload.stream, upload.filename)


@blp.route("/attachments/<uuid:attachment_id>")
class AttachmentItem(MethodView):
    @blp.auth()
    @blp.response(200, s.AttachmentSchema)
    @blp.errors(404)
    def get(self, attachment_id: uuid.UUID) -> Attachment:
        """One attachment's details"""
        return attachments.get(current_actor(), attachment_id)

    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404)
    def delete(self, attachment_id: uuid.UUID) -> None:
        """Delete an attachment (its uploader or the project's owner); its file is removed
        by a job"""
        attachments.delete_attachment(current_actor(), attachment_id)


@blp.route("/attachments/<uuid:attachment_id>/download")
class AttachmentDownload(MethodView):
    @blp.auth()
    @blp.response(200, BINARY, content_type="application/octet-stream")
    @blp.doc(responses={"200": DOWNLOAD})
    @blp.errors(404)
    def get(self, attachment_id: uuid.UUID) -> Response:
        """The file: PNG, JPEG, GIF and WebP images inline with their type; everything
        else `application/octet-stream` as a download (`Content-Disposition:
        attachment`); the sniffed type is the attachment's `content_type`"""
        return file_response(attachments.download(current_actor(), attachment_id))

"""Attachments on the card detail: upload (a plain file form; the board's script adds
drag and drop, paste and progress), download, delete."""

from __future__ import annotations

import uuid

from flask import Blueprint, Response, flash, request
from flask_login import current_user, login_required

from ..errors import Forbidden, Invalid, TooLarge
from ..http import file_response
from ..services import attachments
from .board import BOARD_CHANGED, detail_response
from .htmx import confirm_page, is_htmx, see_other, trigger

bp = Blueprint("web_attachments", __name__)


@bp.post("/tasks/<uuid:task_id>/attachments")
@login_required
def upload(task_id: uuid.UUID) -> Response:
    upload = request.files.get("file")
    try:
        if upload is None or not (upload.filename or "").strip():
            raise Invalid("Choose a file to attach.", field="file")
        attachment = attachments.upload(current_user, task_id, upload.stream, upload.filename)
    except (Invalid, TooLarge) as error:
        return detail_response(task_id, status=error.status, attachment_error=error.message)
    return _changed(task_id, f"Attached “{attachment.filename}”.")


def _changed(task_id: uuid.UUID, message: str) -> Response:
    """After an upload or a deletion: the detail again (htmx) or the card's page."""
    if is_htmx():
        response = detail_response(task_id)
        trigger(response, BOARD_CHANGED)
        return trigger(response, "announce", message)
    flash(message, "success")
    return see_other(f"/tasks/{task_id}#attachments")


@bp.get("/attachments/<uuid:attachment_id>/download")
@login_required
def download(attachment_id: uuid.UUID) -> Response:
    return file_response(attachments.download(current_user, attachment_id))


@bp.post("/attachments/<uuid:attachment_id>/delete")
@login_required
def delete(attachment_id: uuid.UUID) -> Response:
    attachment = attachments.get(current_user, attachment_id)
    task_id, name = attachment.task_id, attachment.filename
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Delete the attachment “{name}”?",
            consequence="The file is removed for everyone. This cannot be undone.",
            action=f"/attachments/{attachment_id}/delete",
            button="Delete attachment",
            cancel=f"/tasks/{task_id}#attachments",
        )
    try:
        attachments.delete_attachment(current_user, attachment_id)
    except Forbidden as error:
        return detail_response(task_id, status=403, attachment_error=error.message)
    return _changed(task_id, f"Deleted the attachment “{name}”.")

"""A board's columns and labels page: add, rename, reorder, limit and delete columns; add,
rename, recolour and delete labels. Any member; plain forms, so it works without JS."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, Response, abort, flash, make_response, render_template, request
from flask_login import current_user, login_required

from ..errors import DomainError, Invalid
from ..models import LABEL_COLORS, STATUS_LABELS
from ..services import columns, labels, projects
from .htmx import confirm_page, see_other

bp = Blueprint("web_columns", __name__)


def _page(
    project_id: uuid.UUID,
    *,
    status: int = 200,
    column_error: dict[str, Any] | None = None,
    label_error: dict[str, Any] | None = None,
) -> Response:
    """The page; a refused form comes back with what was typed and the error beside it
    (`column_error`/`label_error`: which form, its values, the field and message)."""
    project = projects.get_for_member(current_user, project_id)
    return make_response(
        render_template(
            "projects/columns.html",
            project=project,
            columns=columns.list_for_project(current_user, project_id),
            labels=labels.list_for_project(current_user, project_id).items,
            categories=STATUS_LABELS,
            colors=LABEL_COLORS,
            column_error=column_error or {},
            label_error=label_error or {},
        ),
        status,
    )


def _wip(raw: str | None) -> int | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise Invalid("The WIP limit must be a whole number, or empty for none.", field="wip_limit")
    return int(raw)


def _error(form: str, error: DomainError) -> dict[str, Any]:
    return {"form": form, "field": error.field, "message": error.message, "values": request.form}


@bp.get("/projects/<uuid:project_id>/columns")
@login_required
def show(project_id: uuid.UUID) -> Response:
    return _page(project_id)


@bp.post("/projects/<uuid:project_id>/columns")
@login_required
def add_column(project_id: uuid.UUID) -> Response:
    try:
        column = columns.create(
            current_user,
            project_id,
            name=request.form.get("name", ""),
            category=request.form.get("category", ""),
            wip_limit=_wip(request.form.get("wip_limit")),
        )
    except DomainError as error:
        return _page(project_id, status=error.status, column_error=_error("new", error))
    flash(f"Column “{column.name}” added.", "success")
    return see_other(f"/projects/{project_id}/columns#column-{column.id}")


@bp.post("/columns/<uuid:column_id>")
@login_required
def save_column(column_id: uuid.UUID) -> Response:
    column = columns.get_for_member(current_user, column_id)
    try:
        saved = columns.update(
            current_user,
            column_id,
            name=request.form.get("name", ""),
            category=request.form.get("category", column.category),
            wip_limit=_wip(request.form.get("wip_limit")),
        )
    except DomainError as error:
        return _page(
            column.project_id, status=error.status, column_error=_error(str(column_id), error)
        )
    flash(f"Column “{saved.name}” saved.", "success")
    return see_other(f"/projects/{column.project_id}/columns#column-{column_id}")


@bp.post("/columns/<uuid:column_id>/move")
@login_required
def move_column(column_id: uuid.UUID) -> Response:
    """"Move left"/"Move right" (`direction`), or a drop (`position`, 0-based)."""
    column = columns.get_for_member(current_user, column_id)
    direction = request.form.get("direction")
    if direction in ("left", "right"):
        position = column.position + (1 if direction == "right" else -1)
    else:
        raw = (request.form.get("position") or "").strip()
        if not raw.isdigit():
            abort(400, "Say where the column goes: a direction or a position.")
        position = int(raw)
    if position >= 0:
        moved = columns.update(current_user, column_id, position=position)
        flash(f"Column “{moved.name}” moved to place {moved.position + 1}.", "success")
    return see_other(f"/projects/{column.project_id}/columns#column-{column_id}")


@bp.post("/columns/<uuid:column_id>/delete")
@login_required
def delete_column(column_id: uuid.UUID) -> Response:
    """Asks first (where the cards go, when there are any); deletes on `confirm=yes`."""
    column = columns.get_for_member(current_user, column_id)
    board = columns.list_for_project(current_user, column.project_id)
    others = [c for c in board if c.id != column.id]
    error = None
    if request.form.get("confirm") == "yes":
        raw = request.form.get("move_to") or ""
        try:
            move_to = uuid.UUID(raw) if raw else None
        except ValueError:
            abort(400, "Pick a column for the cards from the list.")
        try:
            columns.delete(current_user, column_id, move_to=move_to)
        except DomainError as refused:
            error = refused
        else:
            flash(f"Column “{column.name}” deleted.", "success")
            return see_other(f"/projects/{column.project_id}/columns")
    project = projects.get_for_member(current_user, column.project_id)
    return make_response(
        render_template(
            "projects/delete_column.html",
            project=project,
            column=column,
            others=others,
            error=error,
        ),
        error.status if error else 200,
    )


@bp.post("/projects/<uuid:project_id>/labels")
@login_required
def add_label(project_id: uuid.UUID) -> Response:
    try:
        label = labels.create(
            current_user,
            project_id,
            name=request.form.get("name", ""),
            color=request.form.get("color", ""),
        )
    except DomainError as error:
        return _page(project_id, status=error.status, label_error=_error("new", error))
    flash(f"Label “{label.name}” added.", "success")
    return see_other(f"/projects/{project_id}/columns#labels")


@bp.post("/labels/<uuid:label_id>")
@login_required
def save_label(label_id: uuid.UUID) -> Response:
    label = labels.get_for_member(current_user, label_id)
    project_id = label.project_id
    try:
        saved = labels.update(
            current_user,
            label_id,
            name=request.form.get("name", ""),
            color=request.form.get("color", label.color),
        )
    except DomainError as error:
        return _page(project_id, status=error.status, label_error=_error(str(label_id), error))
    flash(f"Label “{saved.name}” saved.", "success")
    return see_other(f"/projects/{project_id}/columns#label-{label_id}")


@bp.post("/labels/<uuid:label_id>/delete")
@login_required
def delete_label(label_id: uuid.UUID) -> Response:
    label = labels.get_for_member(current_user, label_id)
    project_id, name = label.project_id, label.name
    if request.form.get("confirm") != "yes":
        return confirm_page(
            question=f"Delete the label “{name}”?",
            consequence="It comes off every card that has it.",
            action=f"/labels/{label_id}/delete",
            button="Delete label",
            cancel=f"/projects/{project_id}/columns#label-{label_id}",
        )
    labels.delete(current_user, label_id)
    flash(f"Label “{name}” deleted.", "success")
    return see_other(f"/projects/{project_id}/columns#labels")

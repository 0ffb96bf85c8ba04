"""A board's shape: columns, labels and checklists — /projects/{id}/columns, /labels/…"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..models import ChecklistItem as Item
from ..models import Label
from ..services import checklists, columns, labels
from ..services.columns import ColumnView
from . import schemas as s
from .base import Blueprint, current_actor, paged

blp = Blueprint(
    "boards", __name__, url_prefix="/api/v1", description="Columns, labels and checklists"
)


@blp.route("/projects/<uuid:project_id>/columns")
class Columns(MethodView):
    @blp.auth()
    @blp.response(200, s.ColumnSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[ColumnView]:
        """The board's columns, in order, each with its number of cards"""
        return paged(pagination_parameters, columns.list_page, current_actor(), project_id)

    @blp.auth()
    @blp.arguments(s.ColumnCreateSchema)
    @blp.response(201, s.ColumnSchema)
    @blp.errors(404, 409)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> ColumnView:
        """Add a column (at the end unless `position` says otherwise)"""
        return columns.create(current_actor(), project_id, **body)


@blp.route("/columns/<uuid:column_id>")
class ColumnItem(MethodView):
    @blp.auth()
    @blp.response(200, s.ColumnSchema)
    @blp.errors(404)
    def get(self, column_id: uuid.UUID) -> ColumnView:
        """One column"""
        return columns.get_for_member(current_actor(), column_id)

    @blp.auth()
    @blp.arguments(s.ColumnPatchSchema)
    @blp.response(200, s.ColumnSchema)
    @blp.errors(404, 409)
    def patch(self, body: dict[str, Any], column_id: uuid.UUID) -> ColumnView:
        """Rename, recategorise (its cards' status follows), limit or move a column"""
        return columns.update(current_actor(), column_id, **body)

    @blp.auth()
    @blp.arguments(s.ColumnDeleteQuerySchema, location="query")
    @blp.response(204)
    @blp.errors(404, 409, 422)
    def delete(self, query: dict[str, Any], column_id: uuid.UUID) -> None:
        """Delete a column; its cards go to the end of `move_to` (409 without it when it
        holds any, and for the last column of a category)"""
        columns.delete(current_actor(), column_id, move_to=query.get("move_to"))


@blp.route("/projects/<uuid:project_id>/labels")
class Labels(MethodView):
    @blp.auth()
    @blp.response(200, s.LabelSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[Label]:
        """The project's labels, by name"""
        return paged(pagination_parameters, labels.list_for_project, current_actor(), project_id)

    @blp.auth()
    @blp.arguments(s.LabelCreateSchema)
    @blp.response(201, s.LabelSchema)
    @blp.errors(404, 409)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> Label:
        """Add a label"""
        return labels.create(current_actor(), project_id, **body)


@blp.route("/labels/<uuid:label_id>")
class LabelItem(MethodView):
    @blp.auth()
    @blp.response(200, s.LabelSchema)
    @blp.errors(404)
    def get(self, label_id: uuid.UUID) -> Label:
        """One label"""
        return labels.get_for_member(current_actor(), label_id)

    @blp.auth()
    @blp.arguments(s.LabelPatchSchema)
    @blp.response(200, s.LabelSchema)
    @blp.errors(404, 409)
    def patch(self, body: dict[str, Any], label_id: uuid.UUID) -> Label:
        """Rename or recolour a label"""
        return labels.update(current_actor(), label_id, **body)

    @blp.auth()
    @blp.response(204)
    @blp.errors(404)
    def delete(self, label_id: uuid.UUID) -> None:
        """Delete a label (it comes off every card)"""
        labels.delete(current_actor(), label_id)


@blp.route("/tasks/<uuid:task_id>/checklist")
class Checklist(MethodView):
    @blp.auth()
    @blp.response(200, s.ChecklistItemSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, task_id: uuid.UUID, pagination_parameters: Any) -> list[Item]:
        """The task's checklist, in order"""
        return paged(pagination_parameters, checklists.list_items, current_actor(), task_id)

    @blp.auth()
    @blp.arguments(s.ChecklistItemCreateSchema)
    @blp.response(201, s.ChecklistItemSchema)
    @blp.errors(404)
    def post(self, body: dict[str, Any], task_id: uuid.UUID) -> Item:
        """Add an item (at the end unless `position` says otherwise)"""
        return checklists.add_item(current_actor(), task_id, **body)


@blp.route("/checklist/<uuid:item_id>")
class ChecklistItem(MethodView):
    @blp.auth()
    @blp.arguments(s.ChecklistItemPatchSchema)
    @blp.response(200, s.ChecklistItemSchema)
    @blp.errors(404)
    def patch(self, body: dict[str, Any], item_id: uuid.UUID) -> Item:
        """Change an item's text, tick or untick it, or move it"""
        return checklists.update_item(current_actor(), item_id, **body)

    @blp.auth()
    @blp.response(204)
    @blp.errors(404)
    def delete(self, item_id: uuid.UUID) -> None:
        """Delete an item"""
        checklists.delete_item(current_actor(), item_id)

"""Tasks, comments and history: /projects/{id}/tasks, /tasks/…"""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..models import Activity, Comment
from ..services import tasks
from ..services.cards import Card
from ..services.tasks import TaskFilter
from . import schemas as s
from .base import ETAG, Blueprint, current_actor, expected_version, paged, tagged

blp = Blueprint("tasks", __name__, url_prefix="/api/v1", description="Tasks, comments and history")


def task_filter(query: dict[str, Any]) -> TaskFilter:
    """The query string's filters, with `assignee=me` resolved to the caller."""
    if query.get("assignee") == "me":
        query = {**query, "assignee": current_actor().id}
    return TaskFilter(**query)


@blp.route("/projects/<uuid:project_id>/tasks")
class ProjectTasks(MethodView):
    @blp.auth()
    @blp.arguments(s.TaskQuerySchema, location="query")
    @blp.response(200, s.TaskSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(
        self, query: dict[str, Any], project_id: uuid.UUID, pagination_parameters: Any
    ) -> list[Card]:
        """The project's tasks, by status then position"""
        return paged(
            pagination_parameters,
            tasks.list_for_project,
            current_actor(),
            project_id,
            task_filter(query),
        )

    @blp.auth()
    @blp.arguments(s.TaskCreateSchema)
    @blp.response(201, s.TaskSchema, headers=ETAG)
    @blp.errors(404)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> Any:
        """Create a task at the end of its column"""
        return tagged(tasks.create(current_actor(), project_id, **body), 201)


@blp.route("/tasks")
class MyTasks(MethodView):
    @blp.auth()
    @blp.arguments(s.TaskQuerySchema, location="query")
    @blp.response(200, s.TaskSchema(many=True))
    @blp.paginate()
    def get(self, query: dict[str, Any], pagination_parameters: Any) -> list[Card]:
        """Tasks across the caller's projects (`assignee=me` for the caller's own)"""
        return paged(
            pagination_parameters, tasks.list_for_user, current_actor(), task_filter(query)
        )


@blp.route("/tasks/<uuid:task_id>")
class TaskItem(MethodView):
    @blp.auth()
    @blp.response(200, s.TaskSchema, headers=ETAG)
    @blp.errors(404)
    def get(self, task_id: uuid.UUID) -> Any:
        """One task"""
        return tagged(tasks.get_for_member(current_actor(), task_id))

    @blp.auth()
    @blp.arguments(s.TaskPatchSchema)
    @blp.response(200, s.TaskSchema, headers=ETAG)
    @blp.errors(404)
    @blp.if_match()
    def patch(self, body: dict[str, Any], task_id: uuid.UUID) -> Any:
        """Edit, move, assign or (with `due_date: null`) clear the due date of a task"""
        version = expected_version(task_id)
        return tagged(tasks.update(current_actor(), task_id, expected_version=version, **body))

    @blp.auth()
    @blp.response(204)
    @blp.errors(404)
    @blp.if_match()
    def delete(self, task_id: uuid.UUID) -> None:
        """Delete a task"""
        tasks.delete_task(current_actor(), task_id, expected_version=expected_version(task_id))


@blp.route("/tasks/<uuid:task_id>/comments")
class Comments(MethodView):
    @blp.auth()
    @blp.response(200, s.CommentSchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, task_id: uuid.UUID, pagination_parameters: Any) -> list[Comment]:
        """The task's comments, oldest first"""
        return paged(pagination_parameters, tasks.list_comments, current_actor(), task_id)

    @blp.auth()
    @blp.arguments(s.CommentCreateSchema)
    @blp.response(201, s.CommentSchema)
    @blp.errors(404)
    def post(self, body: dict[str, Any], task_id: uuid.UUID) -> Comment:
        """Comment on a task"""
        return tasks.add_comment(current_actor(), task_id, body["body"])


@blp.route("/comments/<uuid:comment_id>")
class CommentItem(MethodView):
    @blp.auth()
    @blp.arguments(s.CommentCreateSchema)
    @blp.response(200, s.CommentSchema)
    @blp.errors(403, 404)
    def patch(self, body: dict[str, Any], comment_id: uuid.UUID) -> Comment:
        """Edit a comment (its author only)"""
        return tasks.edit_comment(current_actor(), comment_id, body["body"])

    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404)
    def delete(self, comment_id: uuid.UUID) -> None:
        """Delete a comment (its author or the project's owner)"""
        tasks.delete_comment(current_actor(), comment_id)


@blp.route("/tasks/<uuid:task_id>/activity")
class History(MethodView):
    @blp.auth()
    @blp.response(200, s.ActivitySchema(many=True))
    @blp.paginate()
    @blp.errors(404)
    def get(self, task_id: uuid.UUID, pagination_parameters: Any) -> list[Activity]:
        """The task's history, newest first"""
        return paged(pagination_parameters, tasks.list_activity, current_actor(), task_id)

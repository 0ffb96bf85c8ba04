"""The framework's own price: bench/bare.py's SQL and JSON, served through Flask.

Same token lookup, same statements, same `json.dumps` as the bare ceiling; only Flask's
routing, request and response objects and its request/app contexts are added. Its req/s
as a fraction of the ceiling's is the most any Flask app could reach on these requests;
Taskboard's distance to it is the price of its own layers (SQLAlchemy's session,
flask-smorest, the schemas, auth, logging, headers).

Run: DATABASE_URL=… waitress-serve --listen … bench.floor:app
"""

from __future__ import annotations

import json
import uuid

from flask import Flask, Response, request

from bench import bare

app = Flask(__name__)


def _answer(status: int, payload: object, headers: dict[str, str]) -> Response:
    return Response(json.dumps(payload), status, {**headers}, mimetype="application/json")


@app.get("/api/v1/projects/<uuid:project_id>/tasks")
def list_tasks(project_id: uuid.UUID) -> Response:
    user_id = bare.authenticate(bare.DB, request.environ)
    if user_id is None:
        return _answer(401, {"code": 401, "status": "Unauthorized"}, {})
    query = {key: request.args.getlist(key) for key in request.args}
    return _answer(*bare.list_tasks(bare.DB, user_id, project_id, query))


@app.get("/api/v1/tasks/<uuid:task_id>")
def get_task(task_id: uuid.UUID) -> Response:
    user_id = bare.authenticate(bare.DB, request.environ)
    if user_id is None:
        return _answer(401, {"code": 401, "status": "Unauthorized"}, {})
    return _answer(*bare.get_task(bare.DB, user_id, task_id))

"""What the OpenAPI document says of every operation, added by an apispec plugin.

A module of its own, with no imports from the app, because the `Api` (in `extensions`)
is built with it at import time.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}


class OperationsPlugin(BasePlugin):
    """An apispec plugin (given to flask-smorest's spec through `spec_kwargs`) that names
    every operation for generated clients (`getProjects`, `patchTaskItem` …) and
    documents the 429 every route may answer: the API is rate-limited per token."""

    def operation_helper(
        self, path: str | None = None, operations: dict | None = None, **kwargs: Any
    ) -> None:
        rule = kwargs.get("rule")
        view = rule.endpoint.rsplit(".", 1)[-1] if rule is not None else ""
        for method, operation in (operations or {}).items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            operation.setdefault("operationId", f"{method}{view}")
            operation.setdefault("responses", {}).setdefault("429", _TOO_MANY)


_TOO_MANY = {
    "description": "Too Many Requests",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    "headers": RETRY_AFTER,
}

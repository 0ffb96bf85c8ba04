"""The OpenAPI document: valid, complete, and its docs pages served from local files."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

PUBLIC = {
    ("post", "/api/v1/auth/register"),
    ("post", "/api/v1/auth/tokens"),
    ("post", "/api/v1/auth/tokens/refresh"),
    ("post", "/api/v1/auth/password-reset"),
    ("post", "/api/v1/auth/password-reset/confirm"),
    ("post", "/api/v1/auth/email/confirm"),
}


@pytest.fixture
def spec(client):
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    return resp.json


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield method, path, op


def test_document_is_valid_openapi_3(spec):
    assert spec["openapi"].startswith("3.")
    validate(spec)


def test_every_operation_is_named_summarised_and_tagged(spec):
    ids = [op["operationId"] for _, _, op in operations(spec)]
    assert len(ids) == len(set(ids)) == 89
    for method, path, op in operations(spec):
        assert op.get("summary"), (method, path)
        assert op.get("tags"), (method, path)


def test_security_and_error_answers_are_declared(spec):
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for method, path, op in operations(spec):
        codes = set(op["responses"])
        if (method, path) in PUBLIC:
            assert "security" not in op
        else:
            assert op["security"] == [{"bearerAuth": []}], (method, path)
            assert "401" in codes
            assert "WWW-Authenticate" in op["responses"]["401"]["headers"]
        if "{" in path:
            assert "404" in codes, (method, path)
        if "requestBody" in op:
            assert {"400", "413", "422"} <= codes, (method, path)
        if method != "get" and (method, path) not in PUBLIC:
            assert "403" in codes, (method, path)


def test_lists_use_per_page_and_document_the_pagination_header(spec):
    op = spec["paths"]["/api/v1/projects/{project_id}/tasks"]["get"]
    names = {p["name"] for p in op["parameters"]}
    assert {
        "page",
        "per_page",
        "status",
        "assignee",
        "q",
        "due_before",
        "due_after",
        "overdue",
    } <= names
    assert "page_size" not in names
    per_page = next(p for p in op["parameters"] if p["name"] == "per_page")
    assert per_page["schema"]["maximum"] == 100 and per_page["schema"]["default"] == 20
    assert "X-Pagination" in op["responses"]["200"]["headers"]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_use_vendored_assets_only(client, path):
    resp = client.get(path)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "/static/vendor/" in html
    assert "https://" not in html and "http://" not in html
    assert "<script>" not in html  # no inline script: the CSP forbids it
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]

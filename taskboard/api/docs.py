"""The API's documentation pages and its answer to domain errors."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, render_template, url_for

from ..errors import DomainError
from ..extensions import render_error_page, wants_json
from ..http import DOCS_CSP
from .base import domain_error_response

bp = Blueprint("apidocs", __name__, url_prefix="/api")


@bp.get("/docs/")
def swagger_ui() -> str:
    g.csp = DOCS_CSP
    return render_template("api/swagger.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/redoc/")
def redoc() -> str:
    g.csp = DOCS_CSP
    return render_template("api/redoc.html", spec_url=url_for("api-docs.openapi_json"))


def handle_domain_error(error: DomainError) -> Any:
    if wants_json():
        return domain_error_response(error)
    return render_error_page(error.status, error.message)

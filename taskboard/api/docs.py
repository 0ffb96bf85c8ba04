"""The API's documentation pages."""

from __future__ import annotations

from flask import Blueprint, g, render_template, url_for

from ..http import DOCS_CSP

bp = Blueprint("apidocs", __name__, url_prefix="/api")


@bp.get("/docs/")
def swagger_ui() -> str:
    g.csp = DOCS_CSP
    return render_template("api/swagger.html", spec_url=url_for("api-docs.openapi_json"))


@bp.get("/redoc/")
def redoc() -> str:
    g.csp = DOCS_CSP
    return render_template("api/redoc.html", spec_url=url_for("api-docs.openapi_json"))

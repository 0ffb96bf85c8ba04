"""The flask-smorest pieces every API module uses: blueprint, auth, pagination, errors."""

from __future__ import annotations

import http
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import marshmallow as ma
from flask import g, request
from flask_smorest import Blueprint as SmorestBlueprint
from flask_smorest import abort
from flask_smorest.error_handler import ErrorSchema
from flask_smorest.pagination import PaginationMetadataSchema, PaginationParameters

from ..connection import SAFE_METHODS
from ..errors import Forbidden, Unauthorized
from ..http import bearer_token
from ..models import User
from ..services import tokens
from ..services.common import is_plain
from ..services.tokens import Principal, TokenUser
from .spec import RETRY_AFTER

PER_PAGE_DEFAULT = 20
PER_PAGE_MAX = 100
PAGE_MAX = 1_000_000

WWW_AUTHENTICATE = {
    "WWW-Authenticate": {
        "description": "The authentication scheme to use: `Bearer`.",
        "schema": {"type": "string"},
    }
}


IF_MATCH_DOC = (
    "Optional lost-update protection: send `If-Match` with the `ETag` of the version you "
    "read. When the resource changed since, the answer is 412 and nothing changes. "
    "Without `If-Match` the write goes ahead."
)
ERROR_HEADERS = {401: WWW_AUTHENTICATE, 429: RETRY_AFTER}
ETAG = {
    "ETag": {
        "description": "This version of the resource; send it back in `If-Match` to refuse "
        "lost updates.",
        "schema": {"type": "string"},
    }
}


class PaginationQuerySchema(ma.Schema):
    """`page` from 1 and `per_page` from 1 to 100 (default 20)."""

    class Meta:
        unknown = ma.EXCLUDE

    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=PAGE_MAX))
    page_size = ma.fields.Integer(
        data_key="per_page",
        load_default=PER_PAGE_DEFAULT,
        validate=ma.validate.Range(min=1, max=PER_PAGE_MAX),
    )

    @ma.post_load
    def make_paginator(self, data: dict[str, int], **kwargs: Any) -> PaginationParameters:
        return PaginationParameters(**data)


# Parsing the query with one instance: making a schema copies all its fields.
PAGINATION_QUERY = PaginationQuerySchema()
PAGINATION_HEADER = "X-Pagination"
PAGINATION_DOC = {
    "description": "Pagination metadata: a JSON object.",
    "content": {"application/json": {"schema": PaginationMetadataSchema}},
}




def pagination_metadata(page: int, page_size: int, item_count: int) -> dict[str, int]:
    """The X-Pagination object, in flask-smorest's shape (its PaginationMetadataSchema
    documents it; `tests/test_dumping.py` compares the two on many pages)."""
    if item_count == 0:
        return {"total": 0, "total_pages": 0}
    last_page = (item_count - 1) // page_size + 1
    meta = {"total": item_count, "total_pages": last_page, "first_page": 1}
    meta["last_page"] = last_page
    if page <= last_page:
        meta["page"] = page
        if page > 1:
            meta["previous_page"] = page - 1
        if page < last_page:
            meta["next_page"] = page + 1
    return meta


class Blueprint(SmorestBlueprint):
    """flask-smorest's Blueprint with `per_page` pagination and bearer-token auth."""

    def paginate(self, pager: Any = None, **_: Any) -> Callable:  # type: ignore[override]
        """`page` and `per_page` parsed into the view's `pagination_parameters` (the
        view sets its `item_count`), and the answer's X-Pagination header made from them:
        flask-smorest's shape, with `per_page` for its `page_size`. Built on the public
        `arguments`, `doc` and tuple answers rather than flask-smorest's own `paginate`,
        whose parameter name cannot be changed."""

        def decorator(func: Callable) -> Callable:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                params = kwargs["pagination_parameters"]
                items = func(*args, **kwargs)
                meta = pagination_metadata(params.page, params.page_size, params.item_count or 0)
                return items, 200, {PAGINATION_HEADER: json.dumps(meta)}

            parsed = self.arguments(
                PAGINATION_QUERY, location="query", arg_name="pagination_parameters"
            )(wrapper)
            return self.doc(responses={200: {"headers": {PAGINATION_HEADER: PAGINATION_DOC}}})(
                parsed
            )

        return decorator

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable:
        """flask-smorest's `arguments`; a JSON body is required, and may also get 400
        (malformed), 413 (too big) or 415 (not JSON).

        A schema class is made an instance here, once: webargs would make one (copying
        every field) on each request."""
        if isinstance(schema, type):
            schema = schema()
        decorator = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return decorator
        return lambda func: self.errors(400, 413, 415)(_require_json(decorator(func)))

    def errors(self, *codes: int) -> Callable:
        """Document error answers (flask-smorest's error shape) for the given status codes."""

        def decorator(func: Callable) -> Callable:
            for code in codes:
                func = self.alt_response(
                    code,
                    schema=ErrorSchema,
                    description=http.HTTPStatus(code).phrase,
                    headers=ERROR_HEADERS.get(code),
                )(func)
            return func

        return decorator

    def if_match(self) -> Callable:
        """Document the optional If-Match header and its 412 answer.

        If-Match is described, not declared as a parameter: any value a client makes up is
        well-formed yet cannot match, so a declared parameter would invite meaningless 412s.
        """

        def decorator(func: Callable) -> Callable:
            return self.errors(412)(self.doc(description=IF_MATCH_DOC)(func))

        return decorator

    def auth(self, *, personal: bool = True) -> Callable:
        """Require a bearer token; `personal=False` refuses personal tokens with 403.

        A personal token with the `read` scope gets 403 on every method but GET.
        """

        def decorator(func: Callable) -> Callable:
            @wraps(func)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                principal = authenticate_request()
                if principal.personal:
                    if not personal:
                        raise Forbidden("Personal tokens cannot do this; log in with a password.")
                    if request.method not in SAFE_METHODS and not principal.can_write:
                        raise Forbidden("This token has the read scope only.")
                return func(*args, **kwargs)

            wrapper = self.doc(security=[{"bearerAuth": []}])(wrapper)
            # A read-scope token is refused on writes, and personal tokens where not allowed.
            may_forbid = not personal or func.__name__.lower() != "get"
            return self.errors(*((401, 403) if may_forbid else (401,)))(wrapper)

        return decorator


def paged(pagination: PaginationParameters, lister: Callable[..., Any], *args: Any) -> list[Any]:
    """Call a service's list function for the requested page; note the total for X-Pagination."""
    page = lister(*args, offset=pagination.first_item, limit=pagination.page_size)
    pagination.item_count = page.total
    return page.items


def etag_of(resource: Any) -> str:
    """The ETag of a task or project: its id and version (the quotes are part of it)."""
    return f'"{resource.id.hex[:12]}-{resource.version}"'


def tagged(resource: Any, status: int = 200) -> tuple[Any, int, dict[str, str]]:
    """A view's answer with the resource's ETag header."""
    return resource, status, {"ETag": etag_of(resource)}


def expected_version(resource_id: Any) -> int | None:
    """The version an If-Match header names for this resource.

    None when there is no If-Match (or `*`): the write goes ahead as before. -1 when the
    header names no version of this resource, which never matches.
    """
    header = request.if_match
    if not header or header.star_tag:
        return None
    for tag in header.as_set(include_weak=True):
        if not tag:
            continue
        prefix, _, version = tag.partition("-")
        if prefix == resource_id.hex[:12] and version.isdigit():
            return int(version)
    return -1


def _require_json(view: Callable) -> Callable:
    """Refuse a missing body (422) or one that is not JSON (415) before parsing it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not request.get_data(cache=True):
            abort(422, errors={"json": {"_schema": ["Send a JSON object in the request body."]}})
        if not request.is_json:
            abort(415, message="Send JSON, with 'Content-Type: application/json'.")
        try:
            data = json.loads(request.get_data(cache=True))
        except json.JSONDecodeError:
            data = None  # webargs answers it with 400 and where the JSON breaks
        except (RecursionError, ValueError) as exc:
            # Valid JSON Python will not read: arrays nested a thousand deep, numbers of
            # thousands of digits. Refused here, before webargs parses the body again.
            abort(400, message=f"The request body cannot be read: {_unreadable(exc)}.")
        bad = _unstorable_field(data)
        if bad is not None:
            abort(422, errors={"json": {bad: ["Contains characters that are not allowed."]}})
        return view(*args, **kwargs)

    return wrapper


def _unreadable(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "it is nested too deeply"
    return "a number in it has too many digits"


def _unstorable_field(data: Any, name: str = "_schema") -> str | None:
    """The first field of a JSON document holding text no database stores (NUL, lone surrogate)."""
    if isinstance(data, str):
        return None if is_plain(data) else name
    if isinstance(data, dict):
        for key, value in data.items():
            found = _unstorable_field(key, "_schema") or _unstorable_field(value, str(key))
            if found is not None:
                return found
    if isinstance(data, list):
        for value in data:
            found = _unstorable_field(value, name)
            if found is not None:
                return found
    return None


def authenticate_request() -> Principal:
    token = bearer_token(request.headers.get("Authorization"))
    if token is None:
        raise Unauthorized("Send an access token: 'Authorization: Bearer <token>'.")
    principal = tokens.authenticate_bearer(token)
    g.principal = principal
    return principal


def current_principal() -> Principal:
    return g.principal


def current_actor() -> TokenUser:
    """The request's user as read with its token: what reads and board changes need."""
    return g.principal.actor


def current_user() -> User:
    """The request's user as an ORM entity, for changes to the account itself."""
    return g.principal.user

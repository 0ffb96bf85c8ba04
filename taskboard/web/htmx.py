"""htmx plumbing: telling fragment requests from page requests, and answering both."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from flask import Response, make_response, redirect, render_template, request


def is_htmx() -> bool:
    """An htmx request for a fragment (a history restore wants the whole page)."""
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def vary(response: Response) -> Response:
    """The answer depends on HX-Request: caches must key on it."""
    response.vary.add("HX-Request")
    return response


def confirm_page(question: str, consequence: str, action: str, button: str, cancel: str) -> Any:
    """Without JavaScript there is no dialog: a destructive form asks on a page of its own."""
    return make_response(
        render_template(
            "confirm.html",
            question=question,
            consequence=consequence,
            action=action,
            button=button,
            cancel=cancel,
        )
    )


def page_or_fragment(page: str, fragment: str, status: int = 200, **context: Any) -> Response:
    """The fragment for htmx, the full page otherwise; one template includes the other."""
    template = fragment if is_htmx() else page
    return vary(make_response(render_template(template, **context), status))


def trigger(response: Response, event: str, detail: Any = None) -> Response:
    """Fire a client-side event after an htmx response (the HX-Trigger header)."""
    existing = response.headers.get("HX-Trigger")
    events: dict[str, Any] = json.loads(existing) if existing else {}
    events[event] = detail if detail is not None else ""
    response.headers["HX-Trigger"] = json.dumps(events)
    return response


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login; anything pointing elsewhere gives `default`."""
    if not target:
        return default
    target = target.strip()
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target or any(ord(c) < 32 for c in target):
        return default
    return target


def see_other(location: str) -> Response:
    """Post/redirect/get: 303 so the browser follows with a GET."""
    return redirect(location, code=303)

"""Webhooks: a project's events, signed and delivered to its owner's endpoints.

A change that causes an event writes one `WebhookDelivery` row per subscribed webhook in
its own transaction (through its `Outbox`), with the exact JSON body that will be sent;
after the commit the ids go to the queue, and the worker's sweep sends whatever the queue
did not carry. A worker claims a row (pending → sending, conditionally, as the mail
outbox does), posts it and records the answer: a 2xx ends it, anything else is tried
again with a growing wait until WEBHOOK_MAX_ATTEMPTS, then given up with the reason kept.
A webhook whose deliveries are given up WEBHOOK_DISABLE_AFTER times in a row is switched
off and its owner is mailed.

Every delivery is signed: `X-Taskboard-Signature: sha256=<hex HMAC-SHA256 of the body
with the webhook's secret>`. Addresses are checked before anything is sent (SSRF): the
host is resolved once, every address must be public (loopback, private, link-local and
other special networks are refused unless WEBHOOK_ALLOW_PRIVATE), and the connection goes
to that checked address, so a name that resolves differently a moment later (DNS
rebinding) changes nothing. Redirects are not followed; timeouts are short.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import time
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import and_, bindparam, delete, func, or_, select, update

from ..database import Prepared, read
from ..errors import Conflict, Invalid, NotFound
from ..extensions import db
from ..models import Project, Webhook, WebhookDelivery, utcnow
from . import projects
from .cards import TASKS
from .common import Actor, Page
from .notifications import Outbox, register_kind

WEBHOOKS = Webhook.__table__

log = logging.getLogger("taskboard.webhooks")

EVENTS = (
    "task.created",
    "task.updated",
    "task.moved",
    "task.deleted",
    "comment.created",
    "member.added",
    "member.removed",
)
TEST_EVENT = "webhook.test"
URL_MAX = 2000
SECRET_MAX = 200
LOG_KEEP = 50
NOT_FOUND = "No such webhook."
ANSWER_READ_MAX = 64 * 1024

DISABLED = register_kind(
    "webhook_disabled",
    "A webhook of “{project_title}” was switched off",
    account=True,
)


# Checking addresses -----------------------------------------------------------------


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _allow_private() -> bool:
    return bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE"))


def resolve(host: str, port: int) -> list[str]:
    """The host's addresses, each checked: Invalid if one is not public (unless allowed)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise Invalid(f"The host “{host}” does not resolve.", field="url") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in found))
    if not _allow_private():
        for address in addresses:
            if not _public(address):
                raise Invalid(
                    "The URL points at a loopback, private or link-local address; "
                    "webhooks go to public addresses only.",
                    field="url",
                )
    return addresses


def check_url(url: str | None) -> str:
    """An http(s) URL of a public host, at most 2,000 characters; Invalid otherwise."""
    url = (url or "").strip()
    if not url:
        raise Invalid("URL must not be empty.", field="url")
    if len(url) > URL_MAX:
        raise Invalid(f"URL must be at most {URL_MAX} characters.", field="url")
    if any(ord(ch) < 33 or ord(ch) == 127 for ch in url):
        raise Invalid("URL must not contain spaces or control characters.", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid("Not a valid URL.", field="url") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid("URL must start with http:// or https:// and name a host.", field="url")
    if parts.username or parts.password:
        raise Invalid("URL must not carry a user name or password.", field="url")
    resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return url


def check_events(events: Iterable[str] | None) -> list[str]:
    chosen = list(dict.fromkeys(events or ()))
    if not chosen:
        raise Invalid("Choose at least one event.", field="events")
    unknown = [e for e in chosen if e not in EVENTS]
    if unknown:
        raise Invalid(
            f"Unknown event {unknown[0]!r}; events are {', '.join(EVENTS)}.", field="events"
        )
    return [e for e in EVENTS if e in chosen]


def check_secret(secret: str | None) -> str:
    if secret is None or secret == "":
        return secrets.token_hex(24)
    if len(secret) < 16 or len(secret) > SECRET_MAX:
        raise Invalid(f"Secret must be 16 to {SECRET_MAX} characters.", field="secret")
    if any(ord(ch) < 32 for ch in secret):
        raise Invalid("Secret must not contain control characters.", field="secret")
    return secret


# Managing webhooks (the project's owner) -------------------------------------------


def list_for_project(
    actor: Actor, project_id: uuid.UUID, *, offset: int = 0, limit: int | None = None
) -> Page[Webhook]:
    projects.get_for_owner(actor, project_id)
    base = select(Webhook).where(Webhook.project_id == project_id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    query = base.order_by(Webhook.created_at, Webhook.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return Page(list(db.session.scalars(query)), total)


def create(
    actor: Actor, project_id: uuid.UUID, *, url: str, events: Iterable[str], secret: str | None
) -> Webhook:
    projects.get_for_owner(actor, project_id)
    chosen, secret = check_events(events), check_secret(secret)
    url = check_url(url)  # last: it resolves the host
    ensure_not_conflicting(project_id, url)
    now = utcnow()
    hook = Webhook(
        id=uuid.uuid4(),
        project_id=project_id,
        url=url,
        events=chosen,
        secret=secret,
        active=True,
        failures=0,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    db.session.add(hook)
    db.session.commit()
    return hook


def get(actor: Actor, webhook_id: uuid.UUID) -> Webhook:
    """A webhook of a project the actor owns (Forbidden for its other members)."""
    hook = db.session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound(NOT_FOUND)
    try:
        projects.get_for_owner(actor, hook.project_id)
    except NotFound as exc:
        raise NotFound(NOT_FOUND) from exc
    return hook


def update_webhook(
    actor: Actor,
    webhook_id: uuid.UUID,
    *,
    url: str | None = None,
    events: Iterable[str] | None = None,
    secret: str | None = None,
    active: bool | None = None,
) -> Webhook:
    hook = get(actor, webhook_id)
    if url is not None:
        url = check_url(url)
        if url != hook.url:
            ensure_not_conflicting(hook.project_id, url)
        hook.url = url
    if events is not None:
        hook.events = check_events(events)
    if secret is not None:
        hook.secret = check_secret(secret)
    if active is not None and active != hook.active:
        hook.active = active
        if active:  # switched on again: a fresh start
            hook.failures = 0
            hook.disabled_reason = None
    hook.updated_at = utcnow()
    db.session.commit()
    return hook


def delete_webhook(actor: Actor, webhook_id: uuid.UUID) -> None:
    hook = get(actor, webhook_id)
    db.session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id == hook.id))
    db.session.delete(hook)
    db.session.commit()


def deliveries(actor: Actor, webhook_id: uuid.UUID) -> list[WebhookDelivery]:
    """The last 50 deliveries, newest first."""
    hook = get(actor, webhook_id)
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.webhook_id == hook.id)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id)
        .limit(LOG_KEEP)
    )
    return list(db.session.scalars(query))


def send_test(actor: Actor, webhook_id: uuid.UUID) -> WebhookDelivery:
    """Queue a `webhook.test` event to this webhook (even when it is switched off)."""
    hook = get(actor, webhook_id)
    project = db.session.get(Project, hook.project_id)
    assert project is not None
    body = _body(TEST_EVENT, project.id, actor, {"message": "A test event from Taskboard."})
    delivery = _delivery(hook.id, TEST_EVENT, body, utcnow())
    db.session.commit()
    enqueue([delivery.id])
    return delivery


# Recording events (in the change's transaction) -----------------------------------


def _person(user: Any) -> dict[str, Any]:
    return {"id": str(user.id), "name": user.name}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def task_data(task: Any) -> dict[str, Any]:
    return {
        "id": str(task.id),
        "project_id": str(task.project_id),
        "column_id": str(task.column_id),
        "title": task.title,
        "description": task.description,
        "status": task.status,
        "position": task.position,
        "due_date": _iso(task.due_date),
        "assignees": [_person(u) for u in getattr(task, "assignees", [])],
        "updated_at": _iso(task.updated_at),
    }


def comment_data(comment: Any) -> dict[str, Any]:
    return {
        "id": str(comment.id),
        "task_id": str(comment.task_id),
        "body": comment.body,
        "author": _person(comment.author),
        "created_at": _iso(comment.created_at),
    }


def _body(event: str, project_id: uuid.UUID, actor: Actor, objects: dict[str, Any]) -> str:
    payload = {
        "event": event,
        "project_id": str(project_id),
        "actor": _person(actor),
        **objects,
        "occurred_at": utcnow().isoformat(),
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))


def _delivery(hook_id: uuid.UUID, event: str, body: str, now: datetime) -> WebhookDelivery:
    delivery = WebhookDelivery(
        id=uuid.uuid4(),
        webhook_id=hook_id,
        event=event,
        body=body,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    db.session.add(delivery)
    return delivery


def active(project_id: uuid.UUID) -> list[Any]:
    """The project's active webhooks: (id, events) rows."""
    return read(_ACTIVE_HOOKS, {"project_id": project_id})


def active_for_card(card_id: uuid.UUID) -> tuple[uuid.UUID | None, list[Any]]:
    """The card's project and that project's active webhooks, in one read (before a
    change of the card takes its board's lock); (None, []) for no such card."""
    rows = read(_CARD_HOOKS, {"card_id": card_id})
    if not rows:
        return None, []
    return rows[0].project_id, [row for row in rows if row.id is not None]


def record(
    project_id: uuid.UUID,
    event: str,
    actor: Actor,
    objects: dict[str, Any],
    hooks: list[Any] | None = None,
) -> list[uuid.UUID]:
    """Write a delivery of this event for each active webhook of the project that wants
    it (`hooks`: the project's `active()` ones, if read already); the ids, to hand to the
    queue after the commit."""
    wanted = [
        row.id
        for row in (active(project_id) if hooks is None else hooks)
        if event in (row.events or [])
    ]
    if not wanted:
        return []
    body = _body(event, project_id, actor, objects)
    now = utcnow()
    return [_delivery(hook_id, event, body, now).id for hook_id in wanted]


# Every write of a board asks it: most boards have no webhook at all.
_ACTIVE_HOOKS = Prepared(
    select(WEBHOOKS.c.id, WEBHOOKS.c.events).where(
        WEBHOOKS.c.project_id == bindparam("project_id"), WEBHOOKS.c.active.is_(True)
    )
)


_CARD_HOOKS = Prepared(
    select(TASKS.c.project_id, WEBHOOKS.c.id, WEBHOOKS.c.events)
    .select_from(TASKS)
    .outerjoin(
        WEBHOOKS,
        and_(WEBHOOKS.c.project_id == TASKS.c.project_id, WEBHOOKS.c.active.is_(True)),
    )
    .where(TASKS.c.id == bindparam("card_id"))
)


# Sending (the worker) ------------------------------------------------------------------


def enqueue(ids: Iterable[uuid.UUID]) -> None:
    """To the queue after the commit; never raises (the sweep sends what is left)."""
    keys = [str(i) for i in ids]
    if not keys:
        return
    from .. import jobs

    try:
        jobs.deliver_webhooks(keys)
    except Exception:  # noqa: BLE001 - the rows are safe; the sweep sends them
        log.warning("could not queue %d webhook deliveries; the sweep will", len(keys))


def _settings() -> dict[str, int]:
    config = current_app.config
    return {
        "retry": int(config["WEBHOOK_RETRY_SECONDS"]),
        "retry_max": int(config["WEBHOOK_RETRY_MAX_SECONDS"]),
        "attempts": int(config["WEBHOOK_MAX_ATTEMPTS"]),
        "timeout": int(config["WEBHOOK_TIMEOUT_SECONDS"]),
        "disable_after": int(config["WEBHOOK_DISABLE_AFTER"]),
        "lease": int(config["NOTIFY_LEASE_SECONDS"]),
    }


def retry_delay(attempts: int) -> int:
    settings = _settings()
    return int(min(settings["retry"] * 2 ** max(attempts - 1, 0), settings["retry_max"]))


def _claim(delivery_id: uuid.UUID, now: datetime, lease: int) -> bool:
    claimed = db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery_id,
            or_(
                (WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now),
                (WebhookDelivery.state == "sending")
                & (WebhookDelivery.claimed_at < now - timedelta(seconds=lease)),
            ),
        )
        .values(state="sending", claimed_at=now, attempts=WebhookDelivery.attempts + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return claimed == 1


class _Refused(Exception):
    """The address or the answer rules the delivery out (not the receiver's status)."""


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to the address checked before, whatever the name resolves to by now."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPConnection):
    """HTTPS to the checked address, the certificate verified for the URL's host name."""

    default_port = 443

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address
        self.tls = ssl.create_default_context()

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.tls.wrap_socket(raw, server_hostname=self.host)


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST the body to the URL (checked again, and pinned to the checked address); the
    receiver's status. Raises _Refused or OSError when nothing was answered."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = resolve(host, port)[0]
    except Invalid as exc:
        raise _Refused(exc.message) from exc
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    connection = kind(host, port, address, timeout)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", target, body=body, headers=headers)
        answer = connection.getresponse()
        answer.read(ANSWER_READ_MAX)
        return answer.status
    finally:
        connection.close()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(delivery_id: uuid.UUID) -> str:
    """Send one delivery if it is due and no one else has it: its outcome ("delivered",
    "retrying", "failed", "cancelled", or "not due")."""
    settings = _settings()
    now = utcnow()
    if not _claim(delivery_id, now, settings["lease"]):
        return "not due"
    delivery = db.session.get(WebhookDelivery, delivery_id, populate_existing=True)
    assert delivery is not None
    hook = db.session.get(Webhook, delivery.webhook_id)
    if hook is None or (not hook.active and delivery.event != TEST_EVENT):
        return _finish(delivery, "cancelled", error="The webhook was switched off.")
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Taskboard-Webhooks/1",
        "X-Taskboard-Event": delivery.event,
        "X-Taskboard-Delivery": str(delivery.id),
        "X-Taskboard-Signature": signature(hook.secret, body),
    }
    started = time.perf_counter()
    status: int | None = None
    error: str | None = None
    try:
        status = post(hook.url, body, headers, settings["timeout"])
    except _Refused as exc:
        error = str(exc)
    except (OSError, http.client.HTTPException) as exc:
        error = f"{type(exc).__name__}: {exc}"[:1000]
    duration = int((time.perf_counter() - started) * 1000)
    if status is not None and 200 <= status < 300:
        hook.failures = 0
        return _finish(delivery, "delivered", status=status, duration_ms=duration)
    if error is None:
        error = f"The receiver answered {status}."
    if delivery.attempts >= settings["attempts"]:
        outcome = _finish(delivery, "failed", status=status, duration_ms=duration, error=error)
        _count_failure(hook, settings["disable_after"])
        return outcome
    delivery.state = "pending"
    delivery.status = status
    delivery.duration_ms = duration
    delivery.error = error
    delivery.claimed_at = None
    delivery.next_attempt_at = utcnow() + timedelta(seconds=retry_delay(delivery.attempts))
    db.session.commit()
    log.info("webhook delivery %s: %s; retrying", delivery.id, error)
    return "retrying"


def _finish(delivery: WebhookDelivery, state: str, **values: Any) -> str:
    delivery.state = state
    delivery.claimed_at = None
    if state == "delivered":
        delivery.delivered_at = utcnow()
        delivery.error = None
    for name, value in values.items():
        setattr(delivery, name, value)
    db.session.commit()
    _prune(delivery.webhook_id)
    return state


def _count_failure(hook: Webhook, disable_after: int) -> None:
    hook.failures = (hook.failures or 0) + 1
    if hook.active and hook.failures >= disable_after:
        hook.active = False
        hook.disabled_reason = (
            f"Switched off after {hook.failures} deliveries in a row were given up."
        )
        project = db.session.get(Project, hook.project_id)
        outbox = Outbox()
        if project is not None:
            payload = {"project_title": project.title, "url": hook.url}
            outbox.add(DISABLED, project.owner, project_id=project.id, payload=payload)
        log.warning("webhook %s switched off: %s", hook.id, hook.disabled_reason)
        db.session.commit()
        outbox.dispatch()
        return
    db.session.commit()


def _prune(webhook_id: uuid.UUID) -> None:
    """Keep the newest 50 finished deliveries of a webhook."""
    keep = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.webhook_id == webhook_id)
        .order_by(WebhookDelivery.created_at.desc())
        .limit(LOG_KEEP)
    )
    db.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id,
            WebhookDelivery.state.in_(("delivered", "failed", "cancelled")),
            WebhookDelivery.id.not_in(keep.scalar_subquery()),
        )
    )
    db.session.commit()


def due(limit: int = 200) -> list[uuid.UUID]:
    """Deliveries to send now: due pending ones, and ones left sending by a dead worker."""
    now = utcnow()
    lease = timedelta(seconds=_settings()["lease"])
    query = (
        select(WebhookDelivery.id)
        .where(
            or_(
                (WebhookDelivery.state == "pending") & (WebhookDelivery.next_attempt_at <= now),
                (WebhookDelivery.state == "sending") & (WebhookDelivery.claimed_at < now - lease),
            )
        )
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def sweep() -> dict[str, int]:
    outcomes: dict[str, int] = {}
    for delivery_id in due():
        outcome = deliver(delivery_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def ensure_not_conflicting(project_id: uuid.UUID, url: str) -> None:
    """One webhook per URL in a project: a second would send every event twice."""
    taken = db.session.scalar(
        select(Webhook.id).where(Webhook.project_id == project_id, Webhook.url == url)
    )
    if taken is not None:
        raise Conflict("This project has a webhook for this URL already.", field="url")

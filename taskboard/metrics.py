"""`/metrics` for Prometheus (prometheus-client), behind `Authorization: Bearer $METRICS_TOKEN`.

Two kinds of figures:
- per process, counted as requests pass: requests by method, route template and status,
  and their latency. A waitress process is one process (its threads share the counters);
  Prometheus scrapes each web process on its own address. Where several processes share
  one address (behind one port), set PROMETHEUS_MULTIPROC_DIR to an empty folder before
  they start: prometheus-client's multiprocess mode then adds them up at each scrape.
- from the database and the queue, read at each scrape, so every process answers the
  same: mail outbox rows pending and failed by kind, webhook deliveries by state, file
  removals waiting, jobs waiting in the queue.

Without METRICS_TOKEN, `/metrics` answers 404, as it does to a wrong or missing token.
"""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from .extensions import db
from .http import bearer_token
from .models import BlobRemoval, Notification, WebhookDelivery

REGISTRY = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "taskboard_http_requests",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "taskboard_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)

bp = Blueprint("metrics", __name__)


class StateCollector:
    """What the database and the queue hold right now, read at each scrape."""

    def collect(self) -> Iterator[Any]:
        from .queue import huey

        outbox = GaugeMetricFamily(
            "taskboard_outbox_notifications",
            "Mail outbox rows pending or failed, by kind.",
            labels=["kind", "status"],
        )
        rows = db.session.execute(
            select(Notification.kind, Notification.status, func.count())
            .where(Notification.status.in_(("pending", "sending", "failed")))
            .group_by(Notification.kind, Notification.status)
        )
        for kind, status, count in rows:
            outbox.add_metric([kind, status], count)
        yield outbox
        hooks = GaugeMetricFamily(
            "taskboard_webhook_deliveries",
            "Webhook deliveries kept (the last 50 per webhook, and all unfinished), by state.",
            labels=["state"],
        )
        for state, count in db.session.execute(
            select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
        ):
            hooks.add_metric([state], count)
        yield hooks
        removals = db.session.scalar(select(func.count()).select_from(BlobRemoval)) or 0
        yield GaugeMetricFamily(
            "taskboard_file_removals_pending",
            "Files of deleted attachments still to remove from the storage.",
            value=removals,
        )
        queued = GaugeMetricFamily(
            "taskboard_queue_length", "Jobs waiting in the queue (-1: the queue is unreachable)."
        )
        try:
            queued.add_metric([], huey.pending_count())
        except Exception:  # noqa: BLE001 - a scrape says so rather than failing
            queued.add_metric([], -1)
        yield queued


def _start() -> None:
    g.metrics_started = time.perf_counter()


def _count(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is None:
        return response
    rule = request.url_rule.rule if request.url_rule is not None else "<unmatched>"
    REQUESTS.labels(request.method, rule, str(response.status_code)).inc()
    LATENCY.labels(request.method, rule).observe(time.perf_counter() - started)
    return response


def _authorised() -> bool:
    expected = current_app.config.get("METRICS_TOKEN")
    given = bearer_token(request.headers.get("Authorization"))
    return bool(expected) and given is not None and hmac.compare_digest(given, expected)


@bp.get("/metrics")
def metrics() -> Response:
    if not _authorised():
        abort(404)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)
    else:
        counted = REGISTRY
    state = CollectorRegistry(auto_describe=False)
    state.register(StateCollector())
    body = generate_latest(counted) + generate_latest(state)
    response = Response(body, mimetype=CONTENT_TYPE_LATEST.split(";")[0])
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_count)
    app.register_blueprint(bp)

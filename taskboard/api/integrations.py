"""Integrations: webhooks, the calendar feed's URL, the read-only link."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from ..http import no_store
from ..models import Webhook, WebhookDelivery
from ..services import calendar, sharing, webhooks
from . import schemas as s
from .base import Blueprint, current_actor, paged

blp = Blueprint(
    "integrations",
    __name__,
    url_prefix="/api/v1",
    description="Webhooks, the calendar feed and read-only links",
)


@blp.route("/projects/<uuid:project_id>/webhooks")
class ProjectWebhooks(MethodView):
    @blp.auth()
    @blp.response(200, s.WebhookSchema(many=True))
    @blp.paginate()
    @blp.errors(403, 404)
    def get(self, project_id: uuid.UUID, pagination_parameters: Any) -> list[Webhook]:
        """The project's webhooks (owner only)"""
        no_store()
        return paged(pagination_parameters, webhooks.list_for_project, current_actor(), project_id)

    @blp.auth()
    @blp.arguments(s.WebhookCreateSchema)
    @blp.response(201, s.WebhookSchema)
    @blp.errors(403, 404, 409)
    def post(self, body: dict[str, Any], project_id: uuid.UUID) -> Webhook:
        """Add a webhook (owner only): a public http(s) URL, its events, a secret (made
        if left out); every delivery is signed with it"""
        no_store()
        return webhooks.create(
            current_actor(),
            project_id,
            url=body["url"],
            events=body["events"],
            secret=body.get("secret"),
        )


@blp.route("/webhooks/<uuid:webhook_id>")
class WebhookItem(MethodView):
    @blp.auth()
    @blp.response(200, s.WebhookSchema)
    @blp.errors(403, 404)
    def get(self, webhook_id: uuid.UUID) -> Webhook:
        """One webhook (owner only)"""
        no_store()
        return webhooks.get(current_actor(), webhook_id)

    @blp.auth()
    @blp.arguments(s.WebhookPatchSchema)
    @blp.response(200, s.WebhookSchema)
    @blp.errors(403, 404, 409)
    def patch(self, body: dict[str, Any], webhook_id: uuid.UUID) -> Webhook:
        """Change a webhook's URL, events or secret, or switch it off or on (owner only)"""
        no_store()
        return webhooks.update_webhook(current_actor(), webhook_id, **body)

    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404)
    def delete(self, webhook_id: uuid.UUID) -> None:
        """Delete a webhook and its delivery log (owner only)"""
        webhooks.delete_webhook(current_actor(), webhook_id)


@blp.route("/webhooks/<uuid:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @blp.auth()
    @blp.response(200, s.WebhookDeliverySchema(many=True))
    @blp.errors(403, 404)
    def get(self, webhook_id: uuid.UUID) -> list[WebhookDelivery]:
        """The webhook's last 50 deliveries, newest first (owner only)"""
        return webhooks.deliveries(current_actor(), webhook_id)


@blp.route("/webhooks/<uuid:webhook_id>/test")
class WebhookTest(MethodView):
    @blp.auth()
    @blp.response(202, s.WebhookDeliverySchema)
    @blp.errors(403, 404)
    def post(self, webhook_id: uuid.UUID) -> WebhookDelivery:
        """Send a `webhook.test` event now (owner only)"""
        return webhooks.send_test(current_actor(), webhook_id)


@blp.route("/users/me/calendar")
class MyCalendar(MethodView):
    @blp.auth()
    @blp.response(200, s.SecretUrlSchema)
    @blp.errors(404)
    def get(self) -> dict[str, str]:
        """The URL of your calendar feed (404 when you have none)"""
        no_store()
        return {"url": calendar.get_url(current_actor())}

    @blp.auth()
    @blp.response(201, s.SecretUrlSchema)
    @blp.errors(403)
    def post(self) -> dict[str, str]:
        """A new secret calendar feed URL; any earlier one answers 404 from now on"""
        no_store()
        return {"url": calendar.create_feed(current_actor())}

    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404)
    def delete(self) -> None:
        """Revoke the calendar feed: its URL answers 404"""
        calendar.revoke_feed(current_actor())


@blp.route("/projects/<uuid:project_id>/share")
class ProjectShare(MethodView):
    @blp.auth()
    @blp.response(200, s.SecretUrlSchema)
    @blp.errors(403, 404)
    def get(self, project_id: uuid.UUID) -> dict[str, str]:
        """The read-only link (owner only; 404 when it is off)"""
        no_store()
        return {"url": sharing.get_url(current_actor(), project_id)}

    @blp.auth()
    @blp.response(200, s.SecretUrlSchema)
    @blp.errors(403, 404)
    def put(self, project_id: uuid.UUID) -> dict[str, str]:
        """Turn the read-only link on (owner only): the board and cards without edit
        controls, names but no emails; the current link if it is on already"""
        no_store()
        return {"url": sharing.turn_on(current_actor(), project_id)}

    @blp.auth()
    @blp.response(204)
    @blp.errors(403, 404)
    def delete(self, project_id: uuid.UUID) -> None:
        """Turn the read-only link off: it answers 404 at once (owner only)"""
        sharing.turn_off(current_actor(), project_id)

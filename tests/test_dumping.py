"""Response bodies through the schemas' plans are exactly what marshmallow would make."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import marshmallow as ma
import pytest
from flask_smorest.pagination import PaginationMixin
from marshmallow import fields

from taskboard.api import schemas as s
from taskboard.api.base import pagination_metadata
from taskboard.services.cards import Card, Checklist, Person, Tag

API = "/api/v1"


def response_schemas(app: Any) -> set[str]:
    """The schemas of every JSON response the OpenAPI document declares, by class name
    (flask-smorest names a component after its schema class, less "Schema"); error and
    pagination schemas are flask-smorest's own and dumped by marshmallow."""
    from taskboard.extensions import api

    with app.test_request_context():
        spec = api.spec.to_dict()
    names: set[str] = set()

    def refs(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/components/schemas/"):
                names.add(ref.rsplit("/", 1)[1])
            for value in node.values():
                refs(value)
        elif isinstance(node, list):
            for value in node:
                refs(value)

    for operations in spec["paths"].values():
        for operation in operations.values():
            if isinstance(operation, dict):
                for code, response in operation.get("responses", {}).items():
                    if str(code).startswith("2"):
                        refs(response)
    # A response component's nested schemas are dumped through plans too.
    components = spec["components"]["schemas"]
    for name in list(names):
        refs(components.get(name, {}))
    names.discard("PaginationMetadata")  # the X-Pagination header's, flask-smorest's own
    return {f"{name}Schema" for name in names}


@pytest.fixture
def compared(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Every dump of the API also made by marshmallow itself, and the two compared."""
    seen: set[str] = set()
    fast = s.Schema.dump

    def both(self: s.Schema, obj: Any, *, many: bool | None = None) -> Any:
        mine = fast(self, obj, many=many)
        theirs = ma.Schema.dump(self, obj, many=many)
        assert mine == theirs, type(self).__name__
        seen.add(type(self).__name__)
        return mine

    monkeypatch.setattr(s.Schema, "dump", both)
    return seen


def test_every_response_of_an_api_walk_matches_marshmallow(app, compared, alice, bob):
    me = alice.patch(f"{API}/users/me", json={"name": "Alice Ä. 名前", "notifications": False})
    assert me.status_code == 200
    made = alice.post(f"{API}/users/me/tokens", json={"name": "ci", "scope": "read"})
    assert made.status_code == 201
    assert (
        alice.post(
            f"{API}/users/me/tokens", json={"name": "cron", "scope": "write", "expires_in_days": 3}
        ).status_code
        == 201
    )
    assert alice.get(f"{API}/users/me/tokens").status_code == 200
    assert alice.post(f"{API}/auth/password-reset", json={"email": alice.email}).status_code == 202
    project = alice.create_project("Launch", description="")
    alice.add_member(project["id"], bob)
    assert alice.get(f"{API}/projects/{project['id']}").status_code == 200
    assert alice.get(f"{API}/projects").status_code == 200
    assert alice.get(f"{API}/projects/{project['id']}/members").status_code == 200
    invited = alice.post(
        f"{API}/projects/{project['id']}/invitations", json={"email": "new@example.com"}
    )
    assert invited.status_code == 201
    assert alice.get(f"{API}/projects/{project['id']}/invitations").status_code == 200
    assert alice.post(f"{API}/invitations/{invited.json['id']}/resend").status_code == 200
    due = datetime(2030, 5, 6, 7, 8, 9, 123456, tzinfo=timezone(timedelta(hours=5))).isoformat()
    task = alice.create_task(
        project["id"], "Ship <it>", assignee_ids=[alice.id, bob.id], due_date=due
    )
    alice.create_task(project["id"], "No one's", status="done")
    url = f"{API}/tasks/{task['id']}"
    assert alice.patch(url, json={"status": "in_progress", "due_date": None}).status_code == 200
    assert alice.post(f"{url}/comments", json={"body": "Looks *good*"}).status_code == 201
    attached = alice.post(
        f"{url}/attachments",
        data={"file": (io.BytesIO(b"%PDF-1.7 notes"), "notes é.pdf")},
        content_type="multipart/form-data",
    )
    assert attached.status_code == 201
    assert alice.get(f"{url}/attachments").status_code == 200
    assert alice.get(f"{API}/attachments/{attached.json['id']}").status_code == 200
    pid = project["id"]
    alice.client.application.config["WEBHOOK_ALLOW_PRIVATE"] = True
    hook = alice.post(
        f"{API}/projects/{pid}/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["task.created"]},
    )
    assert hook.status_code == 201
    assert alice.get(f"{API}/webhooks/{hook.json['id']}").status_code == 200
    assert alice.post(f"{API}/webhooks/{hook.json['id']}/test").status_code == 202
    assert alice.get(f"{API}/webhooks/{hook.json['id']}/deliveries").status_code == 200
    assert alice.post(f"{API}/users/me/calendar").status_code == 201
    assert alice.put(f"{API}/projects/{pid}/share").status_code == 200
    settings = f"{API}/users/me/notification-settings"
    assert alice.get(settings).status_code == 200
    assert alice.patch(settings, json={"digest_hour": 6}).status_code == 200
    assert alice.get(f"{API}/users/me/notifications").status_code == 200
    assert alice.post(f"{API}/users/me/notifications/read", json={"all": True}).status_code == 200
    column = alice.post(
        f"{API}/projects/{pid}/columns", json={"name": "Review", "category": "done"}
    )
    assert column.status_code == 201
    label = alice.post(f"{API}/projects/{pid}/labels", json={"name": "Bug", "color": "red"})
    assert label.status_code == 201
    assert alice.patch(url, json={"label_ids": [label.json["id"]]}).status_code == 200
    item = alice.post(f"{url}/checklist", json={"text": "Write it"})
    assert item.status_code == 201
    assert alice.patch(f"{API}/checklist/{item.json['id']}", json={"done": True}).status_code == 200
    doomed = alice.create_task(pid, "Doomed")
    assert alice.delete(f"{API}/tasks/{doomed['id']}").status_code == 204
    assert alice.get(f"{API}/projects/{pid}/trash").status_code == 200
    assert alice.get(f"{API}/users/me/trash").status_code == 200
    assert alice.post(f"{API}/tasks/{doomed['id']}/restore").status_code == 200
    sheet = alice.post(
        f"{API}/projects/{pid}/import.csv",
        data={"file": (io.BytesIO(b"title\nFrom a sheet\n"), "tasks.csv")},
        content_type="multipart/form-data",
    )
    assert sheet.status_code == 201, sheet.json
    for path in (
        f"{API}/projects/{pid}/columns",
        f"{API}/columns/{column.json['id']}",
        f"{API}/projects/{pid}/labels",
        f"{API}/labels/{label.json['id']}",
        f"{url}/checklist",
    ):
        assert alice.get(path).status_code == 200, path
    for path in (
        url,
        f"{url}/comments",
        f"{url}/activity",
        f"{API}/projects/{project['id']}/tasks",
        f"{API}/projects/{project['id']}/tasks?status=done",
        f"{API}/tasks?assignee=me",
        f"{API}/users/me",
    ):
        assert alice.get(path).status_code == 200, path
    refreshed = alice.client.post(
        f"{API}/auth/tokens/refresh", json={"refresh_token": alice.refresh_token}
    )
    assert refreshed.status_code == 201
    expected = response_schemas(app)
    assert len(expected) >= 10, expected
    missed = expected - compared
    assert not missed, f"response schemas the walk never dumped: {sorted(missed)}"


def _card(**changes: Any) -> Card:
    now = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    person = Person(uuid.uuid4(), "a@example.com", "Ann")
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "project_id": uuid.uuid4(),
        "column_id": uuid.uuid4(),
        "title": "T",
        "description": "",
        "status": "todo",
        "position": 0,
        "due_date": None,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "created_by": person,
        "checklist": Checklist(1, 3),
        "assignees": [person, Person(uuid.uuid4(), "b@example.com", "Ünal")],
        "labels": [Tag(uuid.uuid4(), "Bug", "red")],
    }
    values.update(changes)
    return Card(**values)


@pytest.mark.parametrize(
    "card",
    [
        _card(),
        _card(assignees=[], due_date=datetime(2030, 1, 1, tzinfo=UTC)),
        _card(title="x" * 255, description="line\nline\u2028\U0001f600", position=10**9),
    ],
)
def test_cards_dump_as_marshmallow_dumps_them(card):
    schema = s.TaskSchema()
    assert schema.dump(card) == ma.Schema.dump(schema, card)
    many = ma.Schema.dump(schema, [card, card], many=True)
    assert s.TaskSchema(many=True).dump([card, card]) == many


@dataclass
class Thing:
    name: Any
    count: Any
    when: Any
    flag: Any
    inner: Any
    tags: Any


class InnerSchema(s.Schema):
    name = fields.String()


class OddSchema(s.Schema):
    """Fields the plans do not convert themselves, and the options that change a field."""

    renamed = fields.String(attribute="name", data_key="label")
    count = fields.Integer(as_string=True)
    when = fields.DateTime(format="%Y")
    when_iso = fields.DateTime(attribute="when", dump_only=True)
    flag = fields.Boolean()
    inner = fields.Nested(InnerSchema, only=("name",))
    inner_name = fields.String(attribute="inner.name", dump_only=True)
    tags = fields.List(fields.String())
    missing_one = fields.String()
    defaulted = fields.String(dump_default="d")
    computed = fields.Method("compute")
    constant = fields.Constant(7)

    def compute(self, obj: Any) -> str:
        return f"{self.get_attribute(obj, 'count', None)}!"


@pytest.mark.parametrize(
    "thing",
    [
        Thing("a", 3, datetime(2020, 1, 1, tzinfo=UTC), True, Thing("b", 0, None, 0, None, []), []),
        Thing(b"bytes", 0, None, None, None, None),
        Thing("c", 1.0, datetime(2020, 1, 1), "yes", None, ["x", None]),
    ],
)
def test_odd_fields_fall_back_to_marshmallow(thing):
    schema = OddSchema()
    assert schema.dump(thing) == ma.Schema.dump(schema, thing)
    assert OddSchema(many=True).dump([thing]) == ma.Schema.dump(schema, [thing], many=True)
    as_dict = {"name": "d", "count": 1, "when": None, "flag": False, "inner": None, "tags": []}
    assert schema.dump(as_dict) == ma.Schema.dump(schema, as_dict)


def test_schemas_with_hooks_are_dumped_by_marshmallow():
    class Hooked(s.Schema):
        dump_plan = False  # a plan runs no hooks: such a schema says so
        name = fields.String()

        @ma.post_dump
        def shout(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            return {"name": data["name"].upper()}

    assert Hooked().dump(Thing("a", 0, None, None, None, None)) == {"name": "A"}


@pytest.mark.parametrize("count", [0, 1, 49, 50, 51, 1000])
@pytest.mark.parametrize("page", [1, 2, 20, 21, 1_000_000])
@pytest.mark.parametrize("size", [1, 50, 100])
def test_pagination_header_is_flask_smorests(page, size, count):
    ours = pagination_metadata(page, size, count)
    assert ours == PaginationMixin._make_pagination_metadata(page, size, count)


def test_id_text_is_remembered_within_a_bound(monkeypatch):
    from taskboard.api import dumping

    monkeypatch.setattr(dumping, "_UUID_TEXT", {})
    monkeypatch.setattr(dumping, "_UUID_TEXT_LIMIT", 8)
    ids = [uuid.uuid4() for _ in range(20)]
    for _ in range(2):
        assert [dumping._uuid_text(each) for each in ids] == [str(each) for each in ids]
    assert len(dumping._UUID_TEXT) <= 8
    same = uuid.UUID(str(ids[-1]))  # another object, the same id
    assert dumping._uuid_text(same) == str(ids[-1])
    assert dumping._uuid_text("not-an-uuid-object") == "not-an-uuid-object"

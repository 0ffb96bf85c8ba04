"""Response bodies from the schemas, without marshmallow's per-field call chain.

marshmallow serializes each field through four calls (`serialize`, `get_value`, the
accessor, `_serialize`), the largest single cost of a page of tasks with their people.
A schema's plan is a function generated once from its dump fields: per
field, the attribute, then the conversion marshmallow would apply (`str` for strings and
UUIDs, an id's text remembered; `int`; the format function of `DateTime`; nested schemas
through their own plans). A field it does not know, or one with a dump default, goes
through the field itself, so the output is always marshmallow's; `tests/test_dumping.py`
compares the two on every response of a walk through the API, and fails when a response
schema is left out of the walk.

Only marshmallow's public API is used. A plan knows nothing of dump hooks (`pre_dump`,
`post_dump`): a schema that has them sets `dump_plan = False` (see `schemas.Schema`),
and the walk's comparison fails for one that forgets.

`bench/costs.py --plain-dump` (marshmallow's own `dump`) measures what the plans save;
the figures are in docs/performance.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.utils import ensure_text_type

missing = ma.missing


def _text(value: Any) -> str:
    return value if type(value) is str else ensure_text_type(value)


_UUID_TEXT: dict[int, str] = {}
_UUID_TEXT_LIMIT = 16384  # about 2.5 MB at most


def _uuid_text(value: Any) -> str:
    """`str(value)` for an id, remembered: a page of 50 cards writes about 200 ids, mostly
    the same few people and one project, and `UUID.__str__` is Python formatting code."""
    if type(value) is not uuid.UUID:
        return str(value)
    text = _UUID_TEXT.get(value.int)
    if text is None:
        if len(_UUID_TEXT) >= _UUID_TEXT_LIMIT:
            _UUID_TEXT.clear()
        text = _UUID_TEXT[value.int] = str(value)
    return text


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """What marshmallow's `field._serialize` does to a value that is not None, when it is
    the same for every object; None where the field must do it itself."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.UUID:
        return _uuid_text
    if kind is fields.Integer and not field.as_string:
        return int
    if kind is fields.DateTime and (field.format or "iso") == "iso":
        return datetime.isoformat  # what marshmallow's "iso" format is
    if kind is fields.Nested:
        dump = plan_of(field.schema)
        if dump is None:
            return None
        many = field.schema.many or field.many
        return (lambda value: [dump(each) for each in value]) if many else dump
    if kind is fields.List:
        inner = _converter(field.inner)
        if inner is None:
            return None
        return lambda value: [None if each is None else inner(each) for each in value]
    return None


def plan_of(schema: ma.Schema) -> Callable[[Any], dict[str, Any]] | None:
    """A function dumping one object as `schema.dump` would; None for a schema that says
    `dump_plan = False` (it has dump hooks, which a plan does not run).

    The function is generated: one `getattr` and one conversion per field, in the field
    order, with no call per field. Objects that can be subscripted (mappings, rows) go
    through marshmallow, whose accessor tries `obj[key]` before the attribute.
    """
    if not getattr(schema, "dump_plan", True):
        return None
    namespace: dict[str, Any] = {
        "missing": missing,
        "schema": schema,
        "get_attribute": schema.get_attribute,
        "marshmallow_dump": ma.Schema.dump,
    }
    lines = [
        "def dump_one(obj):",
        "    if obj is None or hasattr(obj, '__getitem__'):",
        "        return marshmallow_dump(schema, obj, many=False)",
        "    out = {}",
    ]
    for index, (name, field) in enumerate(schema.dump_fields.items()):
        key = field.data_key if field.data_key is not None else name
        attribute = field.attribute or name
        convert = _converter(field)
        if convert is None or field.dump_default is not missing or "." in attribute:
            # Whatever marshmallow would do, done by marshmallow.
            namespace[f"field_{index}"] = field
            lines += [
                f"    value = field_{index}.serialize({name!r}, obj, accessor=get_attribute)",
                "    if value is not missing:",
                f"        out[{key!r}] = value",
            ]
            continue
        namespace[f"convert_{index}"] = convert
        lines += [
            f"    value = getattr(obj, {attribute!r}, missing)",
            "    if value is None:",
            f"        out[{key!r}] = None",
            "    elif value is not missing:",
            f"        out[{key!r}] = convert_{index}(value)",
        ]
    lines.append("    return out")
    code = compile("\n".join(lines), f"<dump of {type(schema).__name__}>", "exec")
    exec(code, namespace)  # the source is made above from the schema's field names
    return namespace["dump_one"]

"""Response bodies from the schemas, without marshmallow's per-field call chain.

marshmallow serializes each field through four calls (`serialize`, `get_value`, the
accessor, `_serialize`); for a page of 50 tasks with their people that was a quarter of
the request. A schema's plan resolves its dump fields once into steps — the key, and a
function from the object to the value — using the same conversions marshmallow would
(`str` for strings and UUIDs, `int`, the format function of `DateTime`, nested schemas
through their own plans). A field it does not know, or one with a dump default, goes
through the field itself, so the output is always marshmallow's;
`tests/test_dumping.py` compares the two on every response of a walk through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow as ma
from marshmallow import fields
from marshmallow.utils import ensure_text_type

missing = ma.missing
Step = tuple[str, Callable[[Any], Any]]


def _text(value: Any) -> str:
    return value if type(value) is str else ensure_text_type(value)


def _converter(field: fields.Field) -> Callable[[Any], Any] | None:
    """What marshmallow's `field._serialize` does to a value that is not None, when it is
    the same for every object; None where the field must do it itself."""
    kind = type(field)
    if kind is fields.String:
        return _text
    if kind is fields.UUID:
        return str
    if kind is fields.Integer and not field.as_string:
        return int
    if kind is fields.DateTime:
        return field.SERIALIZATION_FUNCS.get(field.format or field.DEFAULT_FORMAT)
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


def _step(schema: ma.Schema, name: str, field: fields.Field) -> Step:
    key = field.data_key if field.data_key is not None else name
    convert = _converter(field)
    if convert is None or field.dump_default is not missing or not field._CHECK_ATTRIBUTE:
        accessor = schema.get_attribute

        def through_field(obj: Any) -> Any:
            return field.serialize(name, obj, accessor=accessor)

        return key, through_field
    attribute = field.attribute or name
    if "." in attribute:
        accessor = schema.get_attribute

        def dotted(obj: Any) -> Any:
            value = accessor(obj, attribute, missing)
            return value if value is None or value is missing else convert(value)

        return key, dotted

    def direct(obj: Any) -> Any:
        value = getattr(obj, attribute, missing)
        return value if value is None or value is missing else convert(value)

    return key, direct


def plan_of(schema: ma.Schema) -> Callable[[Any], dict[str, Any]] | None:
    """A function dumping one object as `schema.dump` would; None if the schema has hooks.

    Objects that can be subscripted (mappings, rows) go through marshmallow, whose
    accessor tries `obj[key]` before the attribute.
    """
    hooks = schema._hooks  # type: ignore[attr-defined]
    if hooks[ma.decorators.PRE_DUMP] or hooks[ma.decorators.POST_DUMP]:
        return None
    steps = [_step(schema, name, field) for name, field in schema.dump_fields.items()]
    marshmallow_dump = ma.Schema._serialize

    def dump_one(obj: Any) -> dict[str, Any]:
        if obj is None or hasattr(obj, "__getitem__"):
            return marshmallow_dump(schema, obj, many=False)
        out = {}
        for key, value_of in steps:
            value = value_of(obj)
            if value is not missing:
                out[key] = value
        return out

    return dump_one

"""DynamoDB's documented limits, checked on a request before an emulator sees it.

Emulators accept documents the service refuses. These checks refuse them as
DynamoDB does, with ``ValidationException`` and the service's wording:

- nesting: an attribute value holds at most 32 levels, the scalar at the
  bottom counted (31 map or list wraps around a scalar are accepted, 32 refused);
- item size: 400 KB (409 600 bytes), counted by the developer guide's rules
  (names and values in UTF-8, numbers by their significant digits, 1 byte per
  boolean or null, 3 bytes per map or list plus 1 per element);
- numbers: at most 38 significant digits, magnitude from 1E-130 to below 1E+126;
- attribute names, nested map keys included: 1 to 65 535 bytes;
- key attributes: present with the table's type, not empty, partition key at
  most 2 048 bytes and sort key at most 1 024.

The request is read through botocore's service model: every member whose shape
is ``AttributeValue`` is found by walking the operation's input shape, so all
operations (batch and transactional ones too) are covered without naming them.
An ``UpdateItem`` is checked value by value (each value's depth and numbers,
and the key plus all values against 400 KB): the item it produces is not known
before the emulator applies it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "MAX_ITEM_BYTES",
    "KeySchema",
    "Refusal",
    "attribute_maps",
    "check_request",
    "item_size",
]

MAX_DEPTH = 32
MAX_ITEM_BYTES = 400 * 1024
MAX_NAME_BYTES = 65535
MAX_DIGITS = 38
MAX_PARTITION_KEY_BYTES = 2048
MAX_SORT_KEY_BYTES = 1024

_NESTING = (
    "Nesting Levels have exceeded supported limits: "
    "Attributes in the item have nested levels beyond supported limit"
)
_INVALID = "One or more parameter values were invalid: "


@dataclass(frozen=True)
class Refusal:
    """An error the service would answer with: its code (``__type`` suffix) and message."""

    code: str
    message: str


@dataclass(frozen=True)
class KeySchema:
    """A table's key attributes and their scalar types (``S``, ``N`` or ``B``)."""

    partition: tuple[str, str]
    sort: tuple[str, str] | None = None

    def names(self) -> tuple[str, ...]:
        return (self.partition[0],) + ((self.sort[0],) if self.sort else ())

    def key_of(self, item: Mapping[str, Any]) -> dict[str, Any] | None:
        """The key attributes of ``item``, or None when one is missing."""
        try:
            return {name: item[name] for name in self.names()}
        except KeyError:
            return None


@dataclass(frozen=True)
class AttributeMap:
    """A map of attribute values found in a request: an item, a key, or loose values."""

    role: str  # "item", "key", "update" (UpdateItem's key and values) or "values"
    table: str | None
    attributes: Mapping[str, Any]


def _validation(message: str) -> Refusal:
    return Refusal("ValidationException", message)


def attribute_maps(shape: Any, value: Any, table: str | None = None) -> Iterator[AttributeMap]:
    """Every map of attribute values in ``value``, a request of input shape ``shape``."""
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        table = value.get("TableName", table) if "TableName" in shape.members else table
        for name, member in shape.members.items():
            if name not in value:
                continue
            if member.type_name == "map" and member.value.name == "AttributeValue":
                role = {"Item": "item", "Key": "key"}.get(name, "values")
                yield AttributeMap(role, table, value[name])
            elif member.type_name == "map" and member.value.name == "AttributeValueUpdate":
                updates = {
                    attribute: change["Value"]
                    for attribute, change in value[name].items()
                    if isinstance(change, Mapping) and "Value" in change
                }
                yield AttributeMap("values", table, updates)
            elif member.name == "AttributeValue":
                yield AttributeMap("values", table, {name: value[name]})
            else:
                yield from attribute_maps(member, value[name], table)
    elif kind == "list" and isinstance(value, list):
        member = shape.member
        if member.type_name == "map" and member.value.name == "AttributeValue":
            for element in value:  # BatchGetItem's Keys
                yield AttributeMap("key", table, element)
        elif member.name == "AttributeValue":
            yield AttributeMap("values", table, dict(enumerate(value)))  # type: ignore[arg-type]
        else:
            for element in value:
                yield from attribute_maps(member, element, table)
    elif kind == "map" and isinstance(value, Mapping):
        # BatchGetItem's and BatchWriteItem's RequestItems: keyed by table name.
        for key, element in value.items():
            yield from attribute_maps(shape.value, element, key)


def check_request(
    shape: Any,
    operation: str,
    request: Mapping[str, Any],
    key_schema: Callable[[str], KeySchema | None],
) -> Refusal | None:
    """The refusal DynamoDB would answer ``request`` with, or None if it is within limits."""
    found = list(attribute_maps(shape, request))
    for attribute_map in found:
        for name, attribute in attribute_map.attributes.items():
            refusal = _value_problem(attribute, 1, name if isinstance(name, str) else None)
            if refusal is not None:
                return refusal
    update_bytes = 0
    for attribute_map in found:
        schema = key_schema(attribute_map.table) if attribute_map.table else None
        if attribute_map.role == "item":
            if schema is not None:
                refusal = _item_key_problem(attribute_map.attributes, schema)
                if refusal is not None:
                    return refusal
            if item_size(attribute_map.attributes) > MAX_ITEM_BYTES:
                return _validation("Item size has exceeded the maximum allowed size")
        elif attribute_map.role == "key" and schema is not None:
            refusal = _key_problem(attribute_map.attributes, schema)
            if refusal is not None:
                return refusal
        if operation == "UpdateItem" and attribute_map.role in ("key", "values"):
            update_bytes += item_size(attribute_map.attributes)
    if update_bytes > MAX_ITEM_BYTES:
        return _validation("Item size to update has exceeded the maximum allowed size")
    return None


def _value_problem(attribute: Any, depth: int, name: str | None) -> Refusal | None:
    if name is not None:
        size = len(name.encode("utf-8"))
        if size == 0:
            return _validation(_INVALID + "An attribute name cannot be empty")
        if size > MAX_NAME_BYTES:
            return _validation(
                _INVALID + f"Attribute name is too long: {size} bytes, the limit is "
                f"{MAX_NAME_BYTES} bytes"
            )
    if not isinstance(attribute, Mapping) or len(attribute) != 1:
        return None  # the emulator answers a malformed value itself
    ((kind, content),) = attribute.items()
    if kind == "N":
        return _number_problem(content)
    if kind == "NS" and isinstance(content, list):
        for number in content:
            refusal = _number_problem(number)
            if refusal is not None:
                return refusal
    if kind in ("M", "L"):
        if depth >= MAX_DEPTH and content:
            return _validation(_NESTING)
        children = content.items() if kind == "M" else ((None, item) for item in content)
        for key, child in children:
            refusal = _value_problem(child, depth + 1, key)
            if refusal is not None:
                return refusal
    return None


def _number_problem(text: Any) -> Refusal | None:
    try:
        number = Decimal(str(text))
    except InvalidOperation:
        return None  # not a number at all: the emulator refuses it in its own words
    if not number.is_finite() or number == 0:
        return None
    digits = "".join(map(str, number.as_tuple().digits)).strip("0")
    if len(digits) > MAX_DIGITS:
        return _validation("Attempting to store more than 38 significant digits in a Number")
    exponent = number.adjusted()
    if exponent > 125:
        return _validation(
            "Number overflow. Attempting to store a number with magnitude larger than "
            "supported range"
        )
    if exponent < -130:
        return _validation(
            "Number underflow. Attempting to store a number with magnitude smaller than "
            "supported range"
        )
    return None


def _item_key_problem(item: Mapping[str, Any], schema: KeySchema) -> Refusal | None:
    for name in schema.names():
        if name not in item:
            return _validation(_INVALID + f"Missing the key {name} in the item")
    return _key_problem({name: item[name] for name in schema.names()}, schema)


def _key_problem(key: Mapping[str, Any], schema: KeySchema) -> Refusal | None:
    if set(key) != set(schema.names()):
        return _validation("The provided key element does not match the schema")
    for (name, expected), limit, what in (
        (schema.partition, MAX_PARTITION_KEY_BYTES, "hash"),
        *([(schema.sort, MAX_SORT_KEY_BYTES, "range")] if schema.sort else []),
    ):
        value = key[name]
        actual = next(iter(value), "NULL") if isinstance(value, Mapping) else "NULL"
        if actual != expected:
            return _validation("The provided key element does not match the schema")
        content = value[actual]
        size = _scalar_size(actual, content)
        if size == 0 and expected in ("S", "B"):
            kind = "string" if expected == "S" else "binary"
            return _validation(
                "One or more parameter values are not valid. The AttributeValue for a key "
                f"attribute cannot contain an empty {kind} value. Key: {name}"
            )
        if size > limit:
            if what == "hash":
                return _validation(
                    _INVALID
                    + f"Size of hashkey has exceeded the maximum size limit of{limit} bytes"
                )
            return _validation(
                _INVALID
                + f"Aggregated size of all range keys has exceeded the size limit of {limit} bytes"
            )
    return None


def item_size(attributes: Mapping[Any, Any]) -> int:
    """The size DynamoDB counts for these attributes (names and values)."""
    total = 0
    for name, value in attributes.items():
        if isinstance(name, str):
            total += len(name.encode("utf-8"))
        total += _value_size(value)
    return total


def _value_size(value: Any) -> int:
    if not isinstance(value, Mapping) or len(value) != 1:
        return 0
    ((kind, content),) = value.items()
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in content.items())
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in content)
    if kind in ("SS", "NS", "BS"):
        return sum(_scalar_size(kind[0], member) for member in content)
    if kind in ("BOOL", "NULL"):
        return 1
    return _scalar_size(kind, content)


def _scalar_size(kind: str, content: Any) -> int:
    if kind == "S":
        return len(str(content).encode("utf-8"))
    if kind == "B":
        # On the wire Binary is base64: 4 characters carry 3 bytes.
        text = str(content)
        return len(text) * 3 // 4 - text[-2:].count("=")
    if kind == "N":
        digits = str(content).lstrip("-").replace(".", "").lower().split("e")[0].strip("0")
        return (len(digits) + 1) // 2 + 1
    return 0

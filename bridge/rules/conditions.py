"""``where`` conditions, compiled into one generated Python function per rule.

Only validated field names (identifiers from the event model) and generated constant
names reach the generated source; every user-supplied value is bound as a constant, so a
config file can never inject code. The function runs inside ``try`` so that a value of an
unexpected type (a NaN, text where a number was expected) makes the rule not match
instead of raising.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from bridge.events import Fee, FieldType
from bridge.units import parse_decimal

OPERATORS = ("eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "matches", "contains", "exists")
_ORDERING = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class Condition:
    """One ``field op value`` test, with its constant already converted."""

    field: str
    operator: str
    value: Any

    def expression(self, constant: str) -> str:
        """Python source for this test, reading the event as ``e`` and the value as ``constant``."""
        attr = f"e.{self.field}"
        op = self.operator
        if op == "eq":
            return f"{attr} == {constant}"
        if op == "ne":
            return f"{attr} != {constant}"
        if op in _ORDERING:
            # An exact class test: bool is an int subclass, and False > -1 must not match.
            return f"({attr}.__class__ in _NUMBERS and {attr} {_ORDERING[op]} {constant})"
        if op == "in":
            return f"{attr} in {constant}"
        if op == "not_in":
            return f"{attr} not in {constant}"
        if op == "matches":
            return f"(isinstance({attr}, str) and {constant}.search({attr}) is not None)"
        if op == "contains":
            if isinstance(self.value, FeeAsset):  # fees: does any charge have this asset?
                return (
                    f"({attr}.__class__ is tuple and any(f.__class__ is _Fee and "
                    f"f.asset == {constant}.asset for f in {attr}))"
                )
            return f"(isinstance({attr}, str) and {constant} in {attr})"
        if op == "exists":
            return f"({attr} is not None) is {constant}"
        raise AssertionError(f"unknown operator {op}")


@dataclass(frozen=True)
class FeeAsset:
    """The constant of ``fees = { contains = "GT" }``: an asset some charge is paid in."""

    asset: str


_FEES_HINT = 'fees is a list of charges: test it with exists, or contains = "GT" (an asset)'


def convert_value(operator: str, field_type: FieldType, value: Any) -> Any:
    """The constant for ``operator`` on a field of ``field_type``; ValueError if unfit."""
    if operator == "exists":
        if not isinstance(value, bool):
            raise ValueError(f"exists takes true or false, got {value!r}")
        return value
    if operator in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise ValueError(f"{operator} takes a non-empty list, got {value!r}")
        return frozenset(convert_scalar(field_type, v) for v in value)
    if field_type is FieldType.FEES:
        if operator != "contains":
            raise ValueError(f"{operator}: {_FEES_HINT}")
        if not isinstance(value, str) or not value:
            raise ValueError(f'contains takes an asset name as text (e.g. "GT"), got {value!r}')
        return FeeAsset(value)
    if operator in _ORDERING:
        if not field_type.numeric:
            raise ValueError(f"{operator} compares numbers, but this field is {field_type.value}")
        return parse_decimal(value)
    if operator == "matches":
        if field_type is not FieldType.TEXT:
            raise ValueError(f"matches needs a text field, but this field is {field_type.value}")
        if not isinstance(value, str):
            raise ValueError(f"matches takes a regular expression as text, got {value!r}")
        try:
            return re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    if operator == "contains":
        if field_type is not FieldType.TEXT:
            raise ValueError(f"contains needs a text field, but this field is {field_type.value}")
        if not isinstance(value, str):
            raise ValueError(f"contains takes text, got {value!r}")
        return value
    return convert_scalar(field_type, value)


def convert_scalar(field_type: FieldType, value: Any) -> Any:
    """A single comparison value converted to the field's type."""
    if field_type.numeric:
        return parse_decimal(value)
    if field_type is FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if field_type is FieldType.JSON:
        raise ValueError("the raw venue item can only be tested with exists")
    if field_type is FieldType.FEES:
        raise ValueError(_FEES_HINT)
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {value!r} (this field is text: quote the value)")
    return value


_CAUGHT = (TypeError, ValueError, ArithmeticError, InvalidOperation)
_NUMBERS = frozenset({Decimal, int})


def build_predicate(conditions: list[Condition], *, name: str = "rule") -> Predicate:
    """One function testing every condition (all must hold); never raises on odd values."""
    namespace: dict[str, Any] = {"_CAUGHT": _CAUGHT, "_NUMBERS": _NUMBERS, "_Fee": Fee}
    tests = []
    for index, condition in enumerate(conditions):
        constant = f"_c{index}"
        namespace[constant] = condition.value
        tests.append(condition.expression(constant))
    body = " and ".join(tests) if tests else "True"
    source = (
        "def predicate(e):\n"
        "    try:\n"
        f"        return bool({body})\n"
        "    except _CAUGHT:\n"
        "        return False\n"
    )
    code = compile(source, f"<rule {name!r}>", "exec")
    exec(code, namespace)  # noqa: S102 - source built from validated identifiers only
    predicate: Predicate = namespace["predicate"]
    return predicate


def split_operators(value: Any) -> Mapping[str, Any]:
    """``{op: value}`` for a where entry; a bare value means equality."""
    if isinstance(value, dict):
        return value
    return {"eq": value}

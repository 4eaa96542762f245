"""Compiling ``[[rules]]`` tables into :class:`Rule` objects, reporting every problem."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bridge.events import FIELD_TYPES, KINDS, FieldType
from bridge.rules.conditions import OPERATORS, Condition, build_predicate, convert_value
from bridge.rules.model import SEVERITIES, Rule, Threshold
from bridge.rules.templates import Template
from bridge.schema import Problems
from bridge.units import did_you_mean, parse_decimal, parse_duration

RULE_KEYS = (
    "name",
    "on",
    "venues",
    "notify",
    "severity",
    "cooldown",
    "title",
    "body",
    "where",
    "threshold",
    "enabled",
)
THRESHOLD_KEYS = ("field", "below", "above", "rearm")
TEMPLATE_EXTRAS = ("rule", "severity")  # placeholders besides event fields

DEFAULT_TITLE = "[{venue}] {rule}"
DEFAULT_BODIES = {
    "order": "{side} {type} {amount} {symbol} @ {price}: {status} "
    "(filled {filled}, order {order_id})",
    "fill": "{side} {amount} {base} @ {price} {quote} = {notional} {quote} (order {order_id})",
    "balance": "{asset}: total {total}, available {available}, change {change} ({change_type})",
    "deposit": "deposit {deposit_id} {status}: {amount} {asset} {reason}",
    "account": "equity {equity}, margin balance {margin_balance}, "
    "available margin {available_margin}",
    "connection": "{state}: {reason} (attempt {attempt}, down {down_seconds}s)",
    "notice": "{severity}: {message}",
}


def compile_rules(
    tables: Any,
    *,
    venues: Collection[str],
    destinations: Collection[str],
    problems: Problems,
) -> list[Rule]:
    """Compile every rule table; problems are added under ``rules[i] ("name")``."""
    if not isinstance(tables, list):
        problems.add("rules", "must be an array of tables: write [[rules]] for each rule")
        return []
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        if not isinstance(table, dict):
            problems.add(f"rules[{index}]", "must be a table")
            continue
        name = table.get("name")
        label = (
            f'rules[{index}] ("{name}")' if isinstance(name, str) and name else f"rules[{index}]"
        )
        if isinstance(name, str) and name:
            if name in seen:
                problems.add(
                    f"{label}.name",
                    f"duplicate rule name (also rules[{seen[name]}]); names must be unique",
                )
            else:
                seen[name] = index
        rule = _compile_rule(table, label, venues, destinations, problems)
        if rule is not None:
            rules.append(rule)
    return rules


def _compile_rule(
    table: dict[str, Any],
    label: str,
    venues: Collection[str],
    destinations: Collection[str],
    problems: Problems,
) -> Rule | None:
    before = len(problems.items)
    for key in table:
        if key not in RULE_KEYS:
            problems.add(
                f"{label}.{key}",
                f"unknown key{did_you_mean(key, RULE_KEYS)}; allowed keys: {', '.join(RULE_KEYS)}",
            )
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"{label}.name", "required: a unique, non-empty rule name")
        name = ""
    kinds = _kinds(table.get("on"), f"{label}.on", problems)
    venue_set = _names(
        table.get("venues"),
        f"{label}.venues",
        venues,
        "venue",
        "[venues.*]",
        problems,
        required=False,
    )
    notify = _names(
        table.get("notify"),
        f"{label}.notify",
        destinations,
        "destination",
        "[notifiers.*] or [webhooks.*]",
        problems,
        required=True,
    )
    severity = table.get("severity", "info")
    if severity not in SEVERITIES:
        problems.add(
            f"{label}.severity",
            f'"{severity}" is not one of {", ".join(SEVERITIES)}'
            + (did_you_mean(severity, SEVERITIES) if isinstance(severity, str) else ""),
        )
    cooldown = 0.0
    try:
        cooldown = parse_duration(table.get("cooldown", 0))
    except ValueError as exc:
        problems.add(f"{label}.cooldown", str(exc))
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        problems.add(f"{label}.enabled", f"expected true or false, got {enabled!r}")
    fields = _common_fields(kinds)
    where = _where(table.get("where", {}), f"{label}.where", kinds, fields, problems)
    threshold = _threshold(table.get("threshold"), f"{label}.threshold", kinds, fields, problems)
    if not kinds:
        return None  # templates cannot be checked without knowing the event fields
    allowed = set(fields) | set(TEMPLATE_EXTRAS)
    default_body = DEFAULT_BODIES[kinds[0]] if len(kinds) == 1 else "{kind} event"
    title = _template(table.get("title", DEFAULT_TITLE), f"{label}.title", allowed, problems)
    body = _template(table.get("body", default_body), f"{label}.body", allowed, problems)
    if len(problems.items) > before or title is None or body is None:
        return None
    assert notify is not None
    predicate = build_predicate(where, name=name)
    return Rule(
        name=name,
        kinds=kinds,
        venues=frozenset(venue_set) if venue_set else None,
        notify=tuple(notify),
        severity=severity,
        cooldown=cooldown,
        title=title,
        body=body,
        threshold=threshold,
        enabled=enabled,
        predicate=predicate,
        where=tuple((c.field, c.operator, c.value) for c in where),
    )


def _kinds(value: Any, path: str, problems: Problems) -> tuple[str, ...]:
    if value is None:
        problems.add(path, f"required: an event kind or a list of kinds ({', '.join(KINDS)})")
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        problems.add(path, f"expected an event kind or a non-empty list of kinds, got {value!r}")
        return ()
    kinds: list[str] = []
    for item in items:
        if item not in KINDS:
            hint = did_you_mean(item, KINDS) if isinstance(item, str) else ""
            shown = f'"{item}"' if isinstance(item, str) else repr(item)
            problems.add(path, f"{shown} is not an event kind{hint}; kinds: {', '.join(KINDS)}")
        elif item not in kinds:
            kinds.append(item)
    return tuple(kinds) if len(kinds) == len(items) else ()


def _names(
    value: Any,
    path: str,
    known: Collection[str],
    what: str,
    where: str,
    problems: Problems,
    *,
    required: bool,
) -> list[str] | None:
    if value is None:
        if required:
            problems.add(path, f"required: a list of {what} names from {where}")
        return None
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not all(isinstance(i, str) for i in items)
        or (required and not items)
    ):
        problems.add(path, f"expected a non-empty list of {what} names, got {value!r}")
        return None
    for item in items:
        if item not in known:
            problems.add(path, f'no {what} named "{item}" in {where}{did_you_mean(item, known)}')
    return items


def _common_fields(kinds: tuple[str, ...]) -> dict[str, FieldType]:
    """Fields every listed kind has (a rule over several kinds may use only those)."""
    if not kinds:
        return {}
    common = dict(FIELD_TYPES[kinds[0]])
    for kind in kinds[1:]:
        common = {k: t for k, t in common.items() if k in FIELD_TYPES[kind]}
    return common


def _field(
    name: str, path: str, kinds: tuple[str, ...], fields: dict[str, FieldType], problems: Problems
) -> FieldType | None:
    if name in fields:
        return fields[name]
    if kinds:
        every = {f for k in kinds for f in FIELD_TYPES[k]}
        which = " and ".join(kinds)
        reason = (
            "not a field of every kind in `on`"
            if name in every
            else f"no such field in {which} events{did_you_mean(name, fields)}"
        )
        problems.add(path, reason)
    return None


def _where(
    value: Any, path: str, kinds: tuple[str, ...], fields: dict[str, FieldType], problems: Problems
) -> list[Condition]:
    if not isinstance(value, dict):
        problems.add(path, "must be a table of field = value or field = { op = value }")
        return []
    conditions: list[Condition] = []
    for field_name, spec in value.items():
        field_path = f"{path}.{field_name}"
        field_type = _field(field_name, field_path, kinds, fields, problems)
        if isinstance(spec, list):
            problems.add(field_path, f"a bare list is ambiguous: write {{ in = {spec!r} }}")
            continue
        ops = spec if isinstance(spec, dict) else {"eq": spec}
        if not ops:
            problems.add(field_path, f"empty condition: use one of {', '.join(OPERATORS)}")
        for op, operand in ops.items():
            op_path = field_path if not isinstance(spec, dict) else f"{field_path}.{op}"
            if op not in OPERATORS:
                problems.add(
                    op_path,
                    f"unknown operator{did_you_mean(op, OPERATORS)}; "
                    f"operators: {', '.join(OPERATORS)}",
                )
                continue
            if field_type is None:
                continue
            try:
                conditions.append(Condition(field_name, op, convert_value(op, field_type, operand)))
            except ValueError as exc:
                problems.add(op_path, str(exc))
    return conditions


def _threshold(
    value: Any, path: str, kinds: tuple[str, ...], fields: dict[str, FieldType], problems: Problems
) -> Threshold | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.add(path, 'must be a table: { field = "total", below = "5000", rearm = "5500" }')
        return None
    for key in value:
        if key not in THRESHOLD_KEYS:
            problems.add(
                f"{path}.{key}",
                f"unknown key{did_you_mean(key, THRESHOLD_KEYS)}; "
                f"allowed keys: {', '.join(THRESHOLD_KEYS)}",
            )
    field_name = value.get("field")
    if not isinstance(field_name, str):
        problems.add(f"{path}.field", 'required: the numeric field to watch, e.g. "total"')
        return None
    field_type = _field(field_name, f"{path}.field", kinds, fields, problems)
    if field_type is not None and not field_type.numeric:
        problems.add(f"{path}.field", f"{field_name} is {field_type.value}, not a number")
        return None
    directions = [d for d in ("below", "above") if d in value]
    if len(directions) != 1:
        problems.add(path, "give exactly one of below or above")
        return None
    direction = directions[0]
    try:
        level = parse_decimal(value[direction])
    except ValueError as exc:
        problems.add(f"{path}.{direction}", str(exc))
        return None
    rearm = level
    if "rearm" in value:
        try:
            rearm = parse_decimal(value["rearm"])
        except ValueError as exc:
            problems.add(f"{path}.rearm", str(exc))
            return None
        if (direction == "below" and rearm < level) or (direction == "above" and rearm > level):
            side = "at or above" if direction == "below" else "at or below"
            problems.add(f"{path}.rearm", f"must be {side} the {direction} level {level}")
            return None
    if field_type is None:
        return None
    return Threshold(field_name, direction, level, rearm)


def _template(
    value: Any, path: str, allowed: Collection[str], problems: Problems
) -> Template | None:
    if not isinstance(value, str):
        problems.add(path, f"expected text, got {value!r}")
        return None
    try:
        return Template.parse(value, allowed)
    except ValueError as exc:
        problems.add(path, str(exc))
        return None

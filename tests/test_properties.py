"""Property tests: compiling and evaluating rules never raises, whatever the values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.events import EVENT_CLASSES, FIELD_TYPES, KINDS
from bridge.rules import RuleEngine, compile_rules
from bridge.rules.conditions import OPERATORS
from bridge.schema import Problems

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=12),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True),
    st.sampled_from(["0.1", "1e3", "-5", "NaN", "1e999999", "abc", "", "[", "(?P<", "\\"]),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.dictionaries(st.text(max_size=5), scalars, max_size=3),
)


@st.composite
def rule_tables(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    fields = sorted(FIELD_TYPES[kind])
    where: dict[str, Any] = {}
    for field in draw(st.lists(st.sampled_from([*fields, "nope"]), max_size=4, unique=True)):
        if draw(st.booleans()):
            where[field] = draw(values)
        else:
            ops = draw(
                st.lists(
                    st.sampled_from([*OPERATORS, "bogus"]), min_size=1, max_size=3, unique=True
                )
            )
            where[field] = {op: draw(values) for op in ops}
    table: dict[str, Any] = {"name": "r", "on": kind, "notify": ["desk"], "where": where}
    if draw(st.booleans()):
        table["threshold"] = {
            "field": draw(st.sampled_from(fields)),
            draw(st.sampled_from(["below", "above"])): draw(values),
        }
        if draw(st.booleans()):
            table["threshold"]["rearm"] = draw(values)
    if draw(st.booleans()):
        table["cooldown"] = draw(values)
    if draw(st.booleans()):
        table["title"] = draw(st.text(max_size=20))
    return table


@st.composite
def events(draw: st.DrawFn, kind: str) -> Any:
    cls = EVENT_CLASSES[kind]
    fields = {
        name: draw(values)
        for name in FIELD_TYPES[kind]
        if name not in ("kind", "id", "venue") and draw(st.booleans())
    }
    return cls(id="x", venue=draw(st.sampled_from(["v", "w"])), **fields)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(table=rule_tables(), data=st.data())
def test_compiling_and_evaluating_never_raises(table: dict[str, Any], data: st.DataObject) -> None:
    problems = Problems()
    rules = compile_rules([table], venues={"v", "w"}, destinations={"desk"}, problems=problems)
    assert bool(rules) != bool(problems)  # either a rule or a reason, never both or neither
    engine = RuleEngine(rules, clock=lambda: 1000.0)
    for _ in range(3):
        event = data.draw(events(table["on"]))
        for match in engine.evaluate(event):
            assert isinstance(match.title, str) and isinstance(match.body, str)


@settings(max_examples=200, deadline=None)
@given(
    value=values,
    op=st.sampled_from(["gt", "gte", "lt", "lte", "eq", "ne"]),
    level=st.decimals(allow_nan=False, allow_infinity=False),
)
def test_numeric_conditions_agree_with_decimal_comparison(
    value: Any, op: str, level: Decimal
) -> None:
    problems = Problems()
    [rule] = compile_rules(
        [{"name": "r", "on": "fill", "notify": ["desk"], "where": {"amount": {op: str(level)}}}],
        venues=set(),
        destinations={"desk"},
        problems=problems,
    )
    event = EVENT_CLASSES["fill"](id="x", venue="v", amount=value)
    result = rule.predicate(event)
    numeric = (isinstance(value, Decimal) and not value.is_nan()) or type(value) is int
    if numeric:
        expected = {
            "gt": value > level,
            "gte": value >= level,
            "lt": value < level,
            "lte": value <= level,
            "eq": value == level,
            "ne": value != level,
        }[op]
        assert result is expected
    elif op in ("gt", "gte", "lt", "lte"):
        assert result is False  # never true on a missing or non-numeric value

"""The ``fees`` field (docs/events.md#fees): model, JSON, rules, templates, conformance."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from bridge.codec import event_from_dict, event_to_dict, event_to_json
from bridge.errors import EventDecodeError
from bridge.events import FIELD_TYPES, Fee, FieldType, FillEvent, OrderEvent
from bridge.frames import fee_fields
from bridge.rules import RuleEngine, Template, compile_rules
from bridge.rules.templates import render_value
from bridge.schema import Problems
from bridge.testing.conformance.event_checks import event_breaches
from plugins.gateio import GateSpot
from tests.conftest import fill

GT_PAID = [{"asset": "GT", "amount": "0.0125"}, {"asset": "USDT", "amount": "-0.01"}]


def test_orders_and_fills_have_fees() -> None:
    assert FIELD_TYPES["fill"]["fees"] is FieldType.FEES
    assert FIELD_TYPES["order"]["fees"] is FieldType.FEES
    assert "fees" not in FIELD_TYPES["balance"]


def test_fees_roundtrip_through_json_as_exact_decimals() -> None:
    event = event_from_dict(fill(fees=GT_PAID, fee="0.0125", fee_asset="GT"))
    assert event.fees == (  # type: ignore[attr-defined]
        Fee("GT", Decimal("0.0125")),
        Fee("USDT", Decimal("-0.01")),
    )
    encoded = json.loads(event_to_json(event))
    assert encoded["fees"] == GT_PAID  # amounts as strings, never floats
    assert event_from_dict(encoded) == event


def test_fee_amounts_are_written_without_exponent() -> None:
    event = FillEvent(id="x", venue="v", fees=(Fee("GT", Decimal("1E-8")), Fee(None, Decimal(3))))
    assert event_to_dict(event)["fees"] == [
        {"asset": "GT", "amount": "0.00000001"},
        {"asset": None, "amount": "3"},
    ]


def test_no_fees_is_null_and_an_empty_list_is_kept() -> None:
    assert event_to_dict(event_from_dict(fill()))["fees"] is None
    assert event_from_dict(fill(fees=[])).fees == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("fees", "message"),
    [
        ("0.1 GT", "fees: expected a list"),
        ([["GT", "0.1"]], "fees[0]: expected an object"),
        ([{"asset": "GT"}], "fees[0].amount: required"),
        ([{"asset": "GT", "amount": "lots"}], "fees[0].amount: not a number"),
        ([{"asset": 5.5, "amount": "1"}], "fees[0].asset: expected text"),
        ([{"asset": "GT", "amount": "1", "currency": "GT"}], "fees[0].currency: not a fee key"),
    ],
)
def test_bad_fees_name_the_entry(fees: Any, message: str) -> None:
    with pytest.raises(EventDecodeError, match=message.replace("[", r"\[").replace("]", r"\]")):
        event_from_dict(fill(fees=fees))


@pytest.mark.parametrize(
    ("charges", "expected"),
    [
        ([], (None, None, None)),
        ([("USDT", None), ("GT", None)], (None, None, None)),
        ([("USDT", "0.1"), ("GT", "0")], ([("USDT", "0.1")], "0.1", "USDT")),
        ([("USDT", "0"), ("GT", "0.02")], ([("GT", "0.02")], "0.02", "GT")),
        ([("USDT", "0"), ("GT", "0"), ("POINT", "0")], ([("USDT", "0")], "0", "USDT")),
        ([("USDT", None), ("GT", "0")], ([("GT", "0")], "0", "GT")),
        ([("USDT", "0"), ("USDT", "-0.5")], ([("USDT", "-0.5")], "0", "USDT")),
        (
            [("USDT", "0.1"), ("GT", "0.2"), ("USDT", "-0.05")],
            ([("USDT", "0.1"), ("GT", "0.2"), ("USDT", "-0.05")], "0.1", "USDT"),
        ),
    ],
)
def test_the_main_fee_is_the_first_positive_charge(
    charges: list[tuple[str, str | None]], expected: tuple[Any, Any, Any]
) -> None:
    listed, fee, asset = fee_fields((a, None if v is None else Decimal(v)) for a, v in charges)
    want_list, want_fee, want_asset = expected
    assert listed == (
        None if want_list is None else tuple(Fee(a, Decimal(v)) for a, v in want_list)
    )
    assert (fee, asset) == (None if want_fee is None else Decimal(want_fee), want_asset)


def rule_engine(where: str, body: str = "{fees}") -> RuleEngine:
    table = {
        "name": "r",
        "on": ["fill", "order"],
        "notify": ["desk"],
        "where": json.loads(where),
        "body": body,
    }
    problems = Problems()
    rules = compile_rules([table], venues={"gate-main"}, destinations={"desk"}, problems=problems)
    assert not problems.items, problems.items
    return RuleEngine(rules, clock=lambda: 1000.0)


@pytest.mark.parametrize(
    ("where", "fees", "fires"),
    [
        ('{"fees": {"exists": true}}', GT_PAID, True),
        ('{"fees": {"exists": true}}', None, False),
        ('{"fees": {"exists": false}}', None, True),
        ('{"fees": {"contains": "GT"}}', GT_PAID, True),
        ('{"fees": {"contains": "POINT"}}', GT_PAID, False),
        ('{"fees": {"contains": "GT"}}', None, False),
        ('{"fees": {"contains": "GT"}}', [], False),
    ],
)
def test_fees_in_where(where: str, fees: Any, fires: bool) -> None:
    event = event_from_dict(fill(fees=fees))
    assert bool(rule_engine(where).evaluate(event)) is fires


def test_contains_on_fees_never_raises_on_odd_values() -> None:
    engine = rule_engine('{"fees": {"contains": "GT"}}')
    for odd in ("GT", ["GT"], ("GT",), (None,), ({"asset": "GT"},), 5):
        assert engine.evaluate(FillEvent(id="x", venue="gate-main", fees=odd)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "spec",
    [
        {"fees": "GT"},
        {"fees": {"eq": "0.1"}},
        {"fees": {"gt": "0"}},
        {"fees": {"in": ["GT"]}},
        {"fees": {"matches": "GT"}},
        {"fees": {"contains": 5}},
    ],
)
def test_other_tests_of_fees_are_config_errors_that_say_what_works(spec: Any) -> None:
    problems = Problems()
    table = {"name": "r", "on": "fill", "notify": ["desk"], "where": spec}
    compile_rules([table], venues={"v"}, destinations={"desk"}, problems=problems)
    [problem] = problems.items
    assert problem.path.startswith("rules[0]") or "fees" in problem.path
    assert "contains" in problem.message


def test_a_threshold_on_fees_is_refused() -> None:
    problems = Problems()
    table = {
        "name": "r",
        "on": "fill",
        "notify": ["desk"],
        "threshold": {"field": "fees", "above": "1"},
    }
    compile_rules([table], venues={"v"}, destinations={"desk"}, problems=problems)
    assert problems.items and "not a number" in problems.items[0].message


def test_templates_render_fees_as_amount_asset_pairs() -> None:
    [match] = rule_engine("{}", body="paid {fees}; main {fee} {fee_asset}").evaluate(
        event_from_dict(fill(fees=GT_PAID, fee="0.0125", fee_asset="GT"))
    )
    assert match.body == "paid 0.0125 GT, -0.01 USDT; main 0.0125 GT"


def test_template_rendering_of_fees_edge_cases() -> None:
    assert render_value(None) == "-" and render_value(()) == "-"
    assert render_value((Fee(None, Decimal("2")),)) == "2"
    assert render_value((Fee("GT", Decimal("0.012345")),), ".3f") == "0.012 GT"
    assert Template.parse("{fees:.2f}", {"fees"}).render(
        {"fees": (Fee("USDT", Decimal("1.005")), Fee("GT", Decimal(2)))}.get
    ) == ("1.00 USDT, 2.00 GT")


def breaches(event: Any) -> list[str]:
    return list(event_breaches("e", event, GateSpot, "gateio", "gate-main", 0, strict=False))


def test_conformance_accepts_fees_and_names_bad_ones() -> None:
    good = OrderEvent(id="x", venue="gate-main", plugin="gateio", fees=(Fee("GT", Decimal(1)),))
    assert breaches(good) == []
    for bad, words in (
        ([Fee("GT", Decimal(1))], "tuple"),
        (({"asset": "GT", "amount": "1"},), "Fee items"),
        ((Fee("GT", Decimal("NaN")),), "finite Decimal"),
        ((Fee("GT", 1),), "finite Decimal"),  # type: ignore[arg-type]
        ((Fee(5, Decimal(1)),), "not text"),  # type: ignore[arg-type]
    ):
        event = OrderEvent(id="x", venue="gate-main", plugin="gateio", fees=bad)  # type: ignore[arg-type]
        [problem] = breaches(event)
        assert "order.fees" in problem and words in problem

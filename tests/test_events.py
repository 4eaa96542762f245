"""The normalized event model and its JSON codec."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bridge.codec import event_from_dict, event_to_dict, event_to_json, read_events
from bridge.errors import EventDecodeError
from bridge.events import EVENT_CLASSES, FIELD_TYPES, KINDS, FieldType, FillEvent, event_id
from tests.conftest import fill

DESIGN_FIELDS = {
    "order": "order_id client_id symbol base quote side type status status_raw price amount "
    "filled remaining avg_price fee fee_asset fees",
    "fill": "trade_id order_id symbol base quote side role price amount notional fee fee_asset "
    "fees derived",
    "balance": "asset total available locked change change_type",
    "deposit": "deposit_id status asset amount amount_usd chain tx_hash reason confirmations",
    "account": "equity margin_balance available_margin liabilities initial_margin_rate "
    "maintenance_margin_rate total",
    "connection": "state reason attempt down_seconds",
    "notice": "severity message",
}
COMMON = {"id", "kind", "venue", "plugin", "ts", "received_at", "raw", "recovered"}  # DESIGN §5, §9


def test_every_kind_has_exactly_the_design_fields() -> None:
    assert set(KINDS) == set(DESIGN_FIELDS)
    for kind, names in DESIGN_FIELDS.items():
        assert set(FIELD_TYPES[kind]) == COMMON | set(names.split()), kind


def test_money_fields_are_decimals() -> None:
    for kind in ("order", "fill"):
        for name in ("price", "amount", "fee"):
            assert FIELD_TYPES[kind][name] is FieldType.DECIMAL
    assert FIELD_TYPES["balance"]["total"] is FieldType.DECIMAL
    assert FIELD_TYPES["fill"]["derived"] is FieldType.BOOLEAN


def test_ids_are_deterministic_and_scoped_to_the_venue_instance() -> None:
    assert event_id("gate-main", "fill", 5736713) == event_id("gate-main", "fill", "5736713")
    assert event_id("gate-main", "fill", 1) != event_id("gate-alt", "fill", 1)
    assert event_id("gate-main", "fill", 1) != event_id("gate-main", "order", 1)
    assert event_id("g", "fill", "a", "b") != event_id("g", "fill", "ab")
    assert len(event_id("g", "fill", 1)) == 32


def test_json_roundtrip_keeps_decimals_exact_as_strings() -> None:
    event = event_from_dict(
        fill(price="0.10000000000000000001", amount=Decimal("1e-8"), raw={"p": "1"})
    )
    encoded = json.loads(event_to_json(event))
    assert encoded["price"] == "0.10000000000000000001"
    assert encoded["amount"] == "0.00000001"  # plain notation, never an exponent
    assert encoded["kind"] == "fill" and encoded["raw"] == {"p": "1"}
    assert event_from_dict(encoded) == event


def test_decode_accepts_numbers_and_venue_style_ids() -> None:
    event = event_from_dict(fill(price=30000.5, amount=2, trade_id=5736713))
    assert isinstance(event, FillEvent)
    assert event.price == Decimal("30000.5") and event.trade_id == "5736713"


def test_decode_ignores_the_webhook_rule_key() -> None:
    event = event_from_dict({**fill(), "rule": "large fill"})
    assert "rule" not in event_to_dict(event)


def test_missing_id_is_derived_from_content_and_stable() -> None:
    first, second = event_from_dict(fill()), event_from_dict(fill())
    assert first.id == second.id
    assert event_from_dict(fill(amount="2")).id != first.id


def test_defaults_for_hand_written_events() -> None:
    event = event_from_dict({"kind": "notice", "venue": "v"}, received_at=123)
    assert (event.received_at, event.ts, event.plugin) == (123, 123, "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "an event must be a JSON object"),
        ({"venue": "v"}, "kind: None is not an event kind"),
        ({"kind": "fil", "venue": "v"}, 'kind: "fil" is not an event kind (did you mean "fill"?)'),
        ({"kind": "fill"}, "venue: required"),
        (fill(notionl="1"), 'notionl: not a field of fill events (did you mean "notional"?)'),
        (fill(price="abc"), 'price: not a number: "abc"'),
        (fill(price=True), "price: not a number: True"),
        (fill(side=["buy"]), "side: expected text"),
        (fill(derived="yes"), "derived: expected true or false"),
        (
            {"kind": "deposit", "venue": "v", "confirmations": "1.5"},
            "confirmations: expected a whole number",
        ),
    ],
)
def test_decode_errors_name_the_field(data: object, message: str) -> None:
    with pytest.raises(EventDecodeError) as caught:
        event_from_dict(data)
    assert str(caught.value).startswith(message)


def test_read_events_single_object_array_and_json_lines() -> None:
    one = json.dumps(fill())
    assert [w for w, _ in read_events(one)] == [1]
    assert [w for w, _ in read_events(json.dumps([fill(), fill(trade_id="2")]))] == [1, 2]
    lines = "\n".join([one, "", json.dumps(fill(trade_id="2"))])
    assert [w for w, _ in read_events(lines)] == [1, 3]


def test_read_events_keeps_json_numbers_exact() -> None:
    [(_, event)] = read_events('{"kind":"fill","venue":"v","price":0.30000000000000004}')
    assert event.price == Decimal("0.30000000000000004")  # type: ignore[attr-defined]


def test_read_events_errors_name_the_line() -> None:
    with pytest.raises(EventDecodeError, match=r"^line 2: not valid JSON"):
        list(read_events(json.dumps(fill()) + "\n{oops\n"))
    with pytest.raises(EventDecodeError, match=r"^line 2: price: not a number"):
        list(read_events(json.dumps(fill()) + "\n" + json.dumps(fill(price="x")) + "\n"))
    with pytest.raises(EventDecodeError, match="empty"):
        list(read_events("  \n"))


def test_every_class_is_slotted() -> None:
    for cls in EVENT_CLASSES.values():
        with pytest.raises((AttributeError, TypeError)):
            cls(id="x", venue="v").undeclared = 1  # type: ignore[attr-defined]


def test_json_encoding_handles_integers_beyond_64_bits() -> None:
    event = event_from_dict(fill(raw={"id": 2**70, "nested": [-(2**63) - 1]}))
    assert json.loads(event_to_json(event))["raw"] == {"id": 2**70, "nested": [-(2**63) - 1]}

"""The rule engine: operators, thresholds, cooldowns, templates."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from bridge.codec import event_from_dict
from bridge.config import Config
from bridge.events import FillEvent
from bridge.rules import RuleEngine, RuleState, Template
from tests.conftest import balance, fill

MakeConfig = Callable[..., Config]


def engine_for(make_config: MakeConfig, rules: str, **kwargs: Any) -> RuleEngine:
    return RuleEngine(make_config(rules).rules, **kwargs)


def fires(make_config: MakeConfig, where: str, event: dict[str, Any], on: str = "fill") -> bool:
    engine = engine_for(
        make_config,
        f"""
[[rules]]
name = "r"
on = "{on}"
notify = ["desk"]
where = {{ {where} }}
""",
    )
    return bool(engine.evaluate(event_from_dict(event)))


@pytest.mark.parametrize(
    ("where", "event", "expected"),
    [
        # eq / ne on text and numbers (numbers compare as decimals: 1.0 == 1)
        ('symbol = "BTC/USDT"', fill(), True),
        ('symbol = "ETH/USDT"', fill(), False),
        ('symbol = { eq = "BTC/USDT" }', fill(), True),
        ('side = { ne = "sell" }', fill(side="buy"), True),
        ('side = { ne = "buy" }', fill(side="buy"), False),
        ('amount = "1.0"', fill(amount="1"), True),
        ("amount = 1", fill(amount="1.000"), True),
        ('amount = { ne = "1" }', fill(amount="1.00"), False),
        # ordering, exact decimals
        ('notional = { gte = "10000" }', fill(notional="10000"), True),
        ('notional = { gt = "10000" }', fill(notional="10000"), False),
        ('notional = { gt = "10000" }', fill(notional="10000.00000000001"), True),
        ('notional = { lt = "0.3" }', fill(notional="0.30000000000000004"), False),
        ('notional = { lte = "0.3" }', fill(notional="0.3"), True),
        ('price = { gte = "1e3" }', fill(price="1000"), True),
        ('price = { lt = "1e3" }', fill(price="999.9999999999999999999999"), True),
        ('fee = { lt = "0" }', fill(fee="-0.5"), True),
        ('fee = { gt = "-1" }', fill(fee="-0.5"), True),
        ('amount = { gt = "1e30" }', fill(amount="1" + "0" * 31), True),
        ('amount = { gt = "0" }', fill(amount="1e-30"), True),
        ('amount = { lt = "1e-29" }', fill(amount="1e-30"), True),
        ('amount = { gte = "1", lt = "2" }', fill(amount="1.5"), True),
        ('amount = { gte = "1", lt = "2" }', fill(amount="2"), False),
        # missing values never satisfy an ordering
        ('role = { eq = "maker" }', fill(role=None), False),
        ('fee = { gte = "0" }', fill(fee=None), False),
        ('fee = { lt = "0" }', fill(fee=None), False),
        # in / not_in
        ('side = { in = ["buy", "sell"] }', fill(side="sell"), True),
        ('symbol = { in = ["ETH/USDT"] }', fill(), False),
        ('symbol = { not_in = ["ETH/USDT"] }', fill(), True),
        ('price = { in = ["30000.0", "1"] }', fill(price="30000"), True),
        ("price = { not_in = [30000] }", fill(price="30000.00"), False),
        # matches (regex search), contains
        ('symbol = { matches = "^BTC/" }', fill(), True),
        ('symbol = { matches = "USDC$" }', fill(), False),
        ('order_id = { matches = "o\\\\d" }', fill(order_id="o1"), True),
        ('symbol = { contains = "USD" }', fill(), True),
        ('symbol = { contains = "EUR" }', fill(), False),
        ('role = { contains = "x" }', fill(role=None), False),
        # exists
        ("role = { exists = true }", fill(), True),
        ("role = { exists = false }", fill(role=None), True),
        ("role = { exists = true }", fill(role=None), False),
        ("raw = { exists = false }", fill(), True),
        # booleans and common fields
        ("derived = true", fill(derived=True), True),
        ("derived = true", fill(), False),
        ("recovered = false", fill(), True),  # stream events, and samples without it
        ("recovered = false", fill(recovered=True), False),
        ("recovered = true", fill(recovered=True), True),
        ('venue = "gate-main"', fill(), True),
        ('kind = "fill"', fill(), True),
        ("ts = { gt = 1700000000000 }", fill(ts=1700000000001), True),
    ],
)
def test_operators(
    make_config: MakeConfig, where: str, event: dict[str, Any], expected: bool
) -> None:
    assert fires(make_config, where, event) is expected


def test_integer_fields_compare_with_decimals(make_config: MakeConfig) -> None:
    event = {
        "kind": "connection",
        "venue": "gate-main",
        "state": "disconnected",
        "attempt": 3,
        "down_seconds": "120.5",
    }
    assert fires(
        make_config, 'attempt = { gte = "3" }, down_seconds = { gt = 120 }', event, on="connection"
    )
    assert not fires(make_config, 'attempt = { gt = "3.5" }', event, on="connection")


def test_rules_apply_to_their_kinds_and_venues_only(make_config: MakeConfig) -> None:
    engine = engine_for(
        make_config,
        """
[[rules]]
name = "main only"
on = ["fill", "balance"]
venues = ["gate-main"]
notify = ["desk"]

[[rules]]
name = "any venue"
on = "fill"
notify = ["desk", "ops"]

[[rules]]
name = "off"
on = "fill"
notify = ["desk"]
enabled = false
""",
    )
    names = lambda e: [m.rule.name for m in engine.evaluate(event_from_dict(e))]  # noqa: E731
    assert names(fill()) == ["main only", "any venue"]
    assert names(fill(venue="gate-alt")) == ["any venue"]
    assert names(balance()) == ["main only"]
    assert names(balance(venue="gate-alt")) == []


THRESHOLD = """
[[rules]]
name = "low"
on = "balance"
where = {{ asset = "USDT" }}
threshold = {{ field = "total", {spec} }}
notify = ["desk"]
"""


def run_totals(engine: RuleEngine, totals: list[str], **fields: Any) -> list[bool]:
    return [bool(engine.evaluate(event_from_dict(balance(total=t, **fields)))) for t in totals]


def test_threshold_below_fires_once_and_rearms_past_rearm(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, THRESHOLD.format(spec='below = "5000", rearm = "5500"'))
    totals = ["6000", "4999", "4000", "5000", "5499.99", "5500", "4999.99", "4999", "5600", "1"]
    assert run_totals(engine, totals) == [
        False,
        True,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]


def test_threshold_rearm_defaults_to_the_level(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, THRESHOLD.format(spec='below = "5000"'))
    assert run_totals(engine, ["4000", "4500", "5000", "4999", "4999"]) == [
        True,
        False,
        False,
        True,
        False,
    ]


def test_threshold_above(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, THRESHOLD.format(spec='above = "100", rearm = "90"'))
    assert run_totals(engine, ["100", "100.01", "200", "95", "90", "101"]) == [
        False,
        True,
        False,
        False,
        False,
        True,
    ]


def test_threshold_state_is_per_venue_and_asset(make_config: MakeConfig) -> None:
    engine = engine_for(
        make_config,
        THRESHOLD.format(spec='below = "5000"').replace('where = { asset = "USDT" }', ""),
    )
    assert run_totals(engine, ["1"]) == [True]
    assert run_totals(engine, ["1"], venue="gate-alt") == [True]
    assert run_totals(engine, ["1"], asset="BTC") == [True]
    assert run_totals(engine, ["1"]) == [False]


def test_threshold_ignores_events_without_the_field(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, THRESHOLD.format(spec='below = "5000"'))
    assert run_totals(engine, [None, "1", None, "6000", "1"]) == [  # type: ignore[list-item]
        False,
        True,
        False,
        False,
        True,
    ]


def test_threshold_state_survives_serialization(make_config: MakeConfig) -> None:
    rules = THRESHOLD.format(spec='below = "5000", rearm = "5500"')
    first = engine_for(make_config, rules)
    assert run_totals(first, ["4000"]) == [True]
    changes = first.state.drain_changes()
    assert changes == [("tripped", ("low", "gate-main", "USDT"), True)]
    restored = RuleState.from_dict(first.state.to_dict())
    second = engine_for(make_config, rules, state=restored)
    assert run_totals(second, ["3000", "5600", "4000"]) == [False, False, True]
    # re-armed and tripped again: the drained change is the final value of the key
    assert second.state.drain_changes() == [("tripped", ("low", "gate-main", "USDT"), True)]
    assert second.state.tripped == {("low", "gate-main", "USDT")}


COOLDOWN = """
[[rules]]
name = "fills"
on = "fill"
cooldown = "{cooldown}"
notify = ["desk"]
"""


def test_cooldown_per_rule_and_key_with_an_injected_clock(make_config: MakeConfig) -> None:
    now = [1000.0]
    engine = engine_for(make_config, COOLDOWN.format(cooldown="5m"), clock=lambda: now[0])

    def fired(**fields: Any) -> bool:
        return bool(engine.evaluate(event_from_dict(fill(**fields))))

    assert fired()
    now[0] += 299
    assert not fired()
    assert fired(symbol="ETH/USDT")  # another key is not suppressed
    assert fired(venue="gate-alt")
    now[0] += 1
    assert fired()  # 300 s after the first
    assert not fired()
    assert engine.state.last_fired[("fills", "gate-main", "BTC/USDT")] == 1300.0


def test_cooldown_zero_means_every_match(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, COOLDOWN.format(cooldown="0s"))
    event = event_from_dict(fill())
    assert all(engine.evaluate(event) for _ in range(3))
    assert engine.state.last_fired == {}


def test_prune_forgets_old_cooldowns(make_config: MakeConfig) -> None:
    engine = engine_for(make_config, COOLDOWN.format(cooldown="1m"), clock=lambda: 100.0)
    engine.evaluate(event_from_dict(fill()))
    engine.state.drain_changes()
    engine.state.prune(before=50.0)
    assert engine.state.last_fired
    engine.state.prune(before=101.0)
    assert engine.state.last_fired == {}
    assert engine.state.drain_changes() == [
        ("last_fired", ("fills", "gate-main", "BTC/USDT"), None)
    ]


def test_rendered_title_and_body(make_config: MakeConfig) -> None:
    engine = engine_for(
        make_config,
        """
[[rules]]
name = "large fill"
on = "fill"
notify = ["desk"]
title = "{venue}: {side} {amount} {base} @ {price:,.2f}"
body = "notional {notional} {quote}, role {role}, derived {derived} ({rule}, {severity})"
""",
    )
    [match] = engine.evaluate(event_from_dict(fill(amount="1E+1", role=None, price="30000.5")))
    assert match.title == "gate-main: buy 10 BTC @ 30,000.50"
    assert match.body == "notional 30000 USDT, role -, derived false (large fill, info)"


def test_default_templates_render_for_every_kind(make_config: MakeConfig) -> None:
    from bridge.events import KINDS

    rules = "".join(f'[[rules]]\nname = "{k}"\non = "{k}"\nnotify = ["desk"]\n' for k in KINDS)
    engine = engine_for(make_config, rules)
    for kind in KINDS:
        [match] = engine.evaluate(event_from_dict({"kind": kind, "venue": "gate-main"}))
        assert match.title == f"[gate-main] {kind}"
        assert match.body  # renders without error, missing fields as "-"


@pytest.mark.parametrize(
    "template",
    [
        "{raw.__class__}",
        "{raw[0]}",
        "{venue!r}",
        "{amount:{price}}",
        "{}",
        "{0}",
        "{__class__}",
        "{ venue}",
        "{venue",
        "}",
    ],
)
def test_unsafe_or_broken_templates_are_rejected(template: str) -> None:
    with pytest.raises(ValueError):
        Template.parse(template, {"venue", "amount", "price", "raw"})


def test_template_format_spec_that_does_not_fit_falls_back() -> None:
    template = Template.parse("{venue:.2f} {amount:>6}", {"venue", "amount"})
    values = {"venue": "gate", "amount": Decimal("1.5")}
    assert template.render(values.get) == "gate    1.5"


def test_literal_braces() -> None:
    assert (
        Template.parse("{{not a field}} {venue}", {"venue"}).render({"venue": "g"}.get)
        == "{not a field} g"
    )


def test_raw_renders_as_json(make_config: MakeConfig) -> None:
    engine = engine_for(
        make_config, '[[rules]]\nname = "r"\non = "fill"\nnotify = ["desk"]\nbody = "{raw}"\n'
    )
    [match] = engine.evaluate(event_from_dict(fill(raw={"id": 5, "p": "1.5"})))
    assert match.body == '{"id":5,"p":"1.5"}'


def test_generated_predicates_see_values_not_code(make_config: MakeConfig) -> None:
    # a value that looks like code is only ever a constant
    engine = engine_for(
        make_config,
        '[[rules]]\nname = "r"\non = "fill"\nnotify = ["desk"]\n'
        "where = { symbol = \"__import__('os').system('x')\" }\n",
    )
    assert engine.evaluate(event_from_dict(fill(symbol="__import__('os').system('x')")))
    assert not engine.evaluate(event_from_dict(fill()))


def test_odd_runtime_values_make_a_rule_not_match_instead_of_raising(
    make_config: MakeConfig,
) -> None:
    engine = engine_for(
        make_config,
        '[[rules]]\nname = "r"\non = "fill"\nnotify = ["desk"]\n'
        'where = { amount = { gt = "1" }, side = { in = ["buy"] } }\n',
    )
    for amount in (Decimal("NaN"), Decimal("sNaN"), "text", [1], {"a": 1}, float("nan")):
        event = FillEvent(id="x", venue="gate-main", amount=amount, side="buy")  # type: ignore[arg-type]
        assert engine.evaluate(event) == []
    event = FillEvent(id="x", venue="gate-main", amount=Decimal(2), side=["buy"])  # type: ignore[arg-type]
    assert engine.evaluate(event) == []

"""``alert-bridge test`` says why a rule whose ``where`` held did not fire, per rule.

The reasons come from the engine's own decision (``evaluate(..., not_fired=[])``), so
they are tested both there and through the real CLI.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bridge.codec import event_from_dict
from bridge.config import Config
from bridge.rules import NotFired, Reason, RuleEngine
from tests.conftest import BASE_CONFIG, balance, fill

MakeConfig = Callable[..., Config]
EXE = Path(sys.executable).parent / "alert-bridge"

RULES = """
[[rules]]
name = "large fill"
on = "fill"
where = { notional = { gte = "10000" } }
cooldown = "30m"
notify = ["desk"]

[[rules]]
name = "USDT running low"
on = "balance"
where = { asset = "USDT" }
threshold = { field = "total", below = "5000", rearm = "5500" }
notify = ["desk"]

[[rules]]
name = "BTC heavy"
on = "balance"
where = { asset = "BTC" }
threshold = { field = "available", above = "10" }
notify = ["desk"]
"""


def test_cli_names_the_cooldown_and_the_threshold_per_rule(tmp_path: Path) -> None:
    # Fails before: events 2, 4, 5, 6 and 7 printed only "no rule matched".
    config = tmp_path / "config.toml"
    config.write_text(BASE_CONFIG.format(state_dir=tmp_path / "state") + RULES)
    events = tmp_path / "events.jsonl"
    sequence = [
        fill(notional="15000"),
        fill(notional="20000", trade_id="2", ts=1_700_000_600_000),  # 10 minutes later
        fill(notional="100", trade_id="3", ts=1_700_000_700_000),  # where does not hold
        balance(total="6200"),
        balance(total="4800"),
        balance(total="4700"),
        balance(total="5600"),
        balance(total="4000"),
        balance(asset="BTC", total="3", available=None),
    ]
    events.write_text("\n".join(json.dumps(e) for e in sequence) + "\n")
    result = subprocess.run(
        [str(EXE), "test", "-c", str(config), str(events)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    blocks = [b.split("\n", 1)[1] for b in result.stdout.split("event ")[1:]]
    assert blocks[0].startswith('  rule "large fill" [info] -> desk\n')
    assert blocks[1] == (
        '  rule "large fill": matched, suppressed by cooldown 30m (last alert '
        "2023-11-14T22:13:20Z; quiet until 2023-11-14T22:43:20Z)\n"
    )
    assert blocks[2] == "  no rule matched\n"
    assert blocks[3] == (
        '  rule "USDT running low": condition held; threshold not crossed '
        "(total 6200; fires once total < 5000)\n"
    )
    assert blocks[4].startswith('  rule "USDT running low" [info] -> desk\n')
    assert blocks[5] == (
        '  rule "USDT running low": condition held but threshold already fired '
        "(total 4700); re-arms once total >= 5500\n"
    )
    assert blocks[6] == (
        '  rule "USDT running low": condition held; threshold re-armed '
        "(total 5600 >= 5500): fires again once total < 5000\n"
    )
    assert blocks[7].startswith('  rule "USDT running low" [info] -> desk\n')
    assert blocks[8].startswith(
        '  rule "BTC heavy": condition held, but available is missing or not a number'
    )
    assert result.stdout.endswith(
        "9 events, 3 rule matches, 3 deliveries (dry run: nothing was sent)\n"
    )


def test_the_explanation_is_the_engines_decision_and_changes_nothing(
    make_config: MakeConfig,
) -> None:
    # Same events through two engines, one asked for reasons: identical matches and state,
    # and a reason exactly when a rule whose `where` held did not fire.
    rules = make_config(RULES).rules
    rng = random.Random(7)
    events = []
    for i in range(400):
        if rng.random() < 0.5:
            events.append(
                fill(notional=str(rng.randint(0, 30000)), trade_id=str(i), ts=i * 120_000)
            )
        else:
            asset = rng.choice(["USDT", "BTC"])
            events.append(
                balance(asset=asset, total=str(rng.randint(3000, 7000)), available="11", ts=i)
            )
    plain, explaining = RuleEngine(rules), RuleEngine(rules)
    reasons: set[Reason] = set()
    for data in events:
        event = event_from_dict(data)
        now = event.ts / 1000
        not_fired: list[NotFired] = []
        matches = explaining.evaluate(event, now=now, not_fired=not_fired)
        assert [m.rule for m in matches] == [m.rule for m in plain.evaluate(event, now=now)]
        held = [r for r in rules if r.applies_to(event.kind, event.venue) and r.predicate(event)]
        fired = {m.rule for m in matches}
        assert [n.rule for n in not_fired] == [r for r in held if r not in fired]
        reasons.update(n.reason for n in not_fired)
    assert plain.state.to_dict() == explaining.state.to_dict()
    assert reasons == {
        Reason.COOLDOWN,
        Reason.ALREADY_FIRED,
        Reason.REARMED,
        Reason.NOT_CROSSED,
    }


def test_an_above_threshold_reads_the_other_way_and_numbers_have_no_exponent(
    make_config: MakeConfig,
) -> None:
    rules = make_config(RULES.replace('above = "10"', 'above = "1E+1", rearm = "5"')).rules
    engine = RuleEngine(rules)
    reasons = []
    for available in ("1E+2", "2E+1", "4"):
        not_fired: list[NotFired] = []
        engine.evaluate(
            event_from_dict(balance(asset="BTC", available=available)), not_fired=not_fired
        )
        reasons.append(not_fired[0].describe() if not_fired else "fired")
    assert reasons == [
        "fired",
        "condition held but threshold already fired (available 20); re-arms once available <= 5",
        "condition held; threshold re-armed (available 4 <= 5): fires again once available > 10",
    ]

"""``alert-bridge check`` and ``alert-bridge test`` through the real entry points."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import EXAMPLE_VARIABLES, main
from tests.conftest import BASE_CONFIG, REPO, balance, fill

RULES = """
[[rules]]
name = "large fill"
on = "fill"
notify = ["desk", "ops"]
title = "{venue}: {side} {amount} {base}"
body = "notional {notional} {quote}"
where = { notional = { gte = "10000" } }

[[rules]]
name = "low"
on = "balance"
threshold = { field = "total", below = "5000", rearm = "5500" }
notify = ["desk"]

[[rules]]
name = "quiet fills"
on = "fill"
cooldown = "1m"
notify = ["desk"]
"""


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.format(state_dir=tmp_path / "state") + RULES)
    return path


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a user runs it."""
    exe = Path(sys.executable).parent / "alert-bridge"
    return subprocess.run(
        [str(exe), *args],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, **(env or {})},
        check=False,
    )


def test_check_ok_prints_one_line_summary(config_file: Path) -> None:
    result = run_cli("check", "-c", str(config_file))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"{config_file}: ok: 2 venues, 2 destinations, 3 rules\n"


def test_check_finds_config_through_the_environment(config_file: Path) -> None:
    result = run_cli("check", env={"ALERT_BRIDGE_CONFIG": str(config_file)})
    assert result.returncode == 0 and "ok: 2 venues" in result.stdout


def test_check_invalid_exits_2_listing_every_error_without_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(
        '[bridge]\nhttp = "nowhere"\n\n[[rules]]\nname = "r"\non = "fil"\nnotify = ["desk"]\n'
    )
    result = run_cli("check", "-c", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"alert-bridge check: {path} is invalid (4 problems):"
    assert lines[1].startswith(f'{path}: bridge.http: "nowhere" is not host:port')
    assert lines[2].startswith(f'{path}: rules[0] ("r").on: "fil" is not an event kind')
    assert lines[3].startswith(f'{path}: rules[0] ("r").notify: no destination named "desk"')
    assert lines[4].startswith(f"{path}: venues: none configured")  # `run` would need one


def test_check_missing_file_is_one_line(tmp_path: Path) -> None:
    result = run_cli("check", "-c", str(tmp_path / "none.toml"))
    assert result.returncode == 64  # a wrong -c: a usage error
    assert result.stderr.count("\n") == 1 and "config file not found" in result.stderr


def test_check_the_example_config_with_its_variables() -> None:
    result = run_cli("check", "-c", str(REPO / "rules.example.toml"), env=EXAMPLE_VARIABLES)
    assert result.returncode == 0, result.stderr
    assert "ok: 5 venues, 2 destinations, 5 rules" in result.stdout


def test_test_command_dry_runs_a_sequence(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "events.jsonl"
    sequence = [
        fill(notional="15000", amount="0.5"),
        fill(notional="100", ts=1_700_000_030_000, trade_id="2"),  # cooldown: 30 s later
        fill(notional="100", ts=1_700_000_061_000, trade_id="3"),  # 61 s later: fires again
        balance(total="4000"),
        balance(total="4500"),
        balance(total="6000"),
        balance(total="10"),
    ]
    events.write_text("\n".join(json.dumps(e) for e in sequence) + "\n")
    assert main(["test", "-c", str(config_file), str(events)]) == 0
    out = capsys.readouterr().out
    blocks = out.split("event ")[1:]
    assert len(blocks) == 7
    assert 'rule "large fill" [info] -> desk, ops' in blocks[0]
    assert "desk (notifier): gate-main: buy 0.5 BTC\n      notional 15000 USDT" in blocks[0]
    webhook = json.loads(blocks[0].split("ops (webhook): ")[1].splitlines()[0])
    assert webhook["type"] == "fill" and webhook["data"]["rule"] == "large fill"
    assert webhook["data"]["notional"] == "15000"
    assert 'rule "quiet fills"' in blocks[0]
    assert 'rule "quiet fills": matched, suppressed by cooldown 1m' in blocks[1]
    assert "large fill" not in blocks[1] and "no rule matched" not in blocks[1]
    assert 'rule "quiet fills"' in blocks[2] and "large fill" not in blocks[2]
    assert ['rule "low" [info]' in b for b in blocks[3:]] == [True, False, False, True]
    assert 'rule "low": condition held but threshold already fired' in blocks[4]
    assert 'rule "low": condition held; threshold re-armed' in blocks[5]
    assert out.endswith("7 events, 5 rule matches, 6 deliveries (dry run: nothing was sent)\n")


def test_test_command_reads_one_json_event(config_file: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(fill(notional="20000"), indent=2))
    result = run_cli("test", "-c", str(config_file), str(event))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("event 1: fill on gate-main, BTC/USDT")


def test_test_command_bad_event_is_one_line(config_file: Path, tmp_path: Path) -> None:
    event = tmp_path / "event.json"
    event.write_text(json.dumps(fill()) + "\n" + json.dumps(fill(pricee="1")) + "\n")
    result = run_cli("test", "-c", str(config_file), str(event))
    assert result.returncode == 64  # a bad events file: a usage error
    assert result.stdout == ""  # nothing is printed before the whole file decodes
    assert result.stderr == (
        "alert-bridge test: error: line 2: pricee: not a field of fill "
        'events (did you mean "price"?)\n'
    )


def test_test_command_reads_stdin(config_file: Path) -> None:
    exe = Path(sys.executable).parent / "alert-bridge"
    result = subprocess.run(
        [str(exe), "test", "-c", str(config_file), "-"],
        input=json.dumps(balance(total="1")),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0 and 'rule "low"' in result.stdout


def test_demo_runs_the_scenario_and_verifies_every_alert() -> None:
    result = run_cli("demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert out.count("webhook  verified") == 3
    assert "SIGNATURE FAILED" not in out
    assert out.count("apprise  [") == 4
    assert "gate-demo is back: reconnected after" in out
    # step 6 re-sends a fill and step 7 sends a new one: each is narrated before its outcome
    resent = out.index("6. the venue re-sends trade 1001 after the reconnect -> already seen")
    new = out.index("7. then a new large fill (trade 1003): buy 1 BTC @ 30100")
    alert = out.index("apprise  [info] gate-demo: buy 1 BTC @ 30100")
    skipped = out.index("only the new fill alerted: trade 1001 was skipped as a duplicate")
    assert resent < new < alert < skipped
    assert "1 duplicate event suppressed (expected 1)" in out
    assert out.rstrip().endswith("outbox 0 pending / 0 dead: nothing lost, nothing repeated.")
    assert result.stderr == ""  # errors only, and there were none: no library chatter

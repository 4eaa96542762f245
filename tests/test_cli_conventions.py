"""CLI conventions (#15 item 6): exit codes, --json, test --expect, --log-level,
completion scripts. Everything through the installed console script, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge.rules import RuleEngine
from bridge.store import Store
from tests.conftest import BASE_CONFIG, fill
from tests.delivery_helpers import SECRET, commit_items, make_config
from tests.service_helpers import run_service
from tests.test_cli import RULES, run_cli

pytestmark = pytest.mark.anyio


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.format(state_dir=tmp_path / "state") + RULES)
    return path


def events_file(tmp_path: Path, *events: dict[str, object]) -> Path:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


# -- exit codes: 0 ok, 1 failure, 2 invalid config, 64 usage -------------------------------


def test_a_wrong_command_line_exits_64_not_2(config_file: Path) -> None:
    result = run_cli("check", "-c", str(config_file), "--no-such-option")
    assert result.returncode == 64
    assert "alert-bridge: error: unrecognized arguments: --no-such-option" in result.stderr


def test_an_invalid_config_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(BASE_CONFIG.format(state_dir=tmp_path / "state"))  # no rules
    assert run_cli("check", "-c", str(path)).returncode == 2


def test_an_unreadable_events_file_is_a_usage_error(config_file: Path, tmp_path: Path) -> None:
    result = run_cli("test", "-c", str(config_file), str(tmp_path / "missing.jsonl"))
    assert result.returncode == 64
    assert "cannot read events file" in result.stderr and "Traceback" not in result.stderr


# -- test --expect --------------------------------------------------------------------------


def test_expect_passes_when_each_named_rule_fires(config_file: Path, tmp_path: Path) -> None:
    events = events_file(tmp_path, fill(amount="1", price="30000"))
    result = run_cli("test", "-c", str(config_file), str(events), "--expect", "large fill")
    assert result.returncode == 0, result.stderr


def test_expect_fails_when_a_named_rule_does_not_fire(config_file: Path, tmp_path: Path) -> None:
    events = events_file(tmp_path, fill(amount="0.01", notional="300"))
    result = run_cli(
        "test", "-c", str(config_file), str(events), "--expect", "large fill", "quiet fills"
    )
    assert result.returncode == 1
    assert result.stderr == 'alert-bridge test: expected rule "large fill" did not fire\n'


def test_expect_names_must_be_rules(config_file: Path, tmp_path: Path) -> None:
    events = events_file(tmp_path, fill())
    result = run_cli("test", "-c", str(config_file), str(events), "--expect", "larg fill")
    assert result.returncode == 64
    assert 'no rule named "larg fill"' in result.stderr


# -- --json -------------------------------------------------------------------------------


def test_check_json(config_file: Path, tmp_path: Path) -> None:
    ok = run_cli("check", "-c", str(config_file), "--json")
    assert ok.returncode == 0
    assert json.loads(ok.stdout) == {
        "config": str(config_file),
        "ok": True,
        "summary": {"venues": 2, "destinations": 2, "rules": 3},
    }
    bad = tmp_path / "bad.toml"
    bad.write_text(config_file.read_text().replace('cooldown = "1m"', 'cooldown = "soon"'))
    invalid = run_cli("check", "-c", str(bad), "--json")
    assert invalid.returncode == 2
    document = json.loads(invalid.stdout)
    assert document["ok"] is False
    assert document["problems"] == [
        {
            "path": 'rules[2] ("quiet fills").cooldown',
            "message": document["problems"][0]["message"],
        }
    ]
    assert "not a duration" in document["problems"][0]["message"]


def test_test_json(config_file: Path, tmp_path: Path) -> None:
    events = events_file(tmp_path, fill(trade_id="1", amount="1"), fill(trade_id="2", amount="1"))
    result = run_cli("test", "-c", str(config_file), str(events), "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["events"], document["matches"], document["duplicates"]) == (2, 3, 0)
    first, second = document["results"]
    assert [m["rule"] for m in first["matched"]] == ["large fill", "quiet fills"]
    assert [d["destination"] for d in first["matched"][0]["deliveries"]] == ["desk", "ops"]
    assert second["suppressed"] == [
        {"rule": "quiet fills", "reason": "cooldown", "detail": second["suppressed"][0]["detail"]}
    ]


def test_outbox_list_json(tmp_path: Path) -> None:
    config = make_config(
        tmp_path / "state",
        webhooks={"ops": {"url": "http://127.0.0.1:9/hook", "secret": SECRET}},
    )
    store = Store.open(config.bridge.state_dir)
    [job] = store.commit(commit_items(RuleEngine(config.rules), [1]))
    store.close()
    path = tmp_path / "config.toml"
    path.write_text(f'[bridge]\nstate_dir = "{config.bridge.state_dir}"\n')
    result = run_cli("outbox", "list", "-c", str(path), "--json")
    assert result.returncode == 0, result.stderr
    [listed] = json.loads(result.stdout)["pending"]
    assert (listed["id"], listed["destination"], listed["attempts"]) == (job.id, "ops", 0)
    assert "body" not in listed


# -- --log-level and ALERT_BRIDGE_LOG_LEVEL ------------------------------------------------


async def test_log_level_from_the_command_line_and_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    quiet = BASE_CONFIG.format(state_dir=tmp_path / "state").replace(
        'http = ""', 'http = ""\nlog_level = "error"'
    )
    path.write_text(quiet + RULES)
    env = {"ALERT_BRIDGE_LOG_LEVEL": "info"}
    async with run_service(path, env=env) as service:
        await service.wait_for_log("running:")  # INFO, shown because of the environment
    async with run_service(
        path, env={"ALERT_BRIDGE_LOG_LEVEL": "error"}, args=("--log-level", "info")
    ) as service:
        await service.wait_for_log("running:")  # the command line wins


def test_a_bad_log_level_in_the_environment_is_one_line(config_file: Path) -> None:
    result = run_cli("run", "-c", str(config_file), env={"ALERT_BRIDGE_LOG_LEVEL": "loud"})
    assert result.returncode == 64
    assert result.stderr.startswith('alert-bridge run: error: ALERT_BRIDGE_LOG_LEVEL="loud"')


# -- completion -----------------------------------------------------------------------------


def complete(line: str) -> list[str]:
    """What bash completes for ``line`` (the cursor at its end), with our script loaded."""
    script = run_cli("completion", "bash").stdout
    words = line.split(" ")
    program = (
        script
        + f"\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); COMP_CWORD={len(words) - 1}\n"
        + '_alert_bridge; printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    result = subprocess.run(
        ["bash", "-c", program], capture_output=True, text=True, timeout=10, check=True
    )
    return sorted(line for line in result.stdout.splitlines() if line)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_subcommands_options_and_choices() -> None:
    assert complete("alert-bridge ou") == ["outbox"]
    assert complete("alert-bridge outbox l") == ["list"]
    assert complete("alert-bridge outbox list --d") == ["--dead"]
    assert complete("alert-bridge run --log-format ") == ["json", "text"]
    assert complete("alert-bridge completion ") == ["bash", "fish", "zsh"]
    assert "--expect" in complete("alert-bridge test --")


def test_zsh_and_fish_scripts_cover_every_command() -> None:
    zsh = run_cli("completion", "zsh")
    assert zsh.returncode == 0 and "bashcompinit" in zsh.stdout
    fish = run_cli("completion", "fish").stdout
    for command in ("check", "test", "outbox", "run", "replay", "plugins", "notify-test"):
        assert f"-a {command} " in fish
    assert "-l log-level -x -a 'debug info warning error'" in fish

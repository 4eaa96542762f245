"""``--placeholders``: the example config's commands work as printed, with no secrets set.

Every test runs the installed console script (or parses its arguments), as a user would.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import EXAMPLE_VARIABLES, build_parser
from bridge.interpolation import (
    PLACEHOLDER_APPRISE_URL,
    PLACEHOLDER_HTTP_URL,
    PLACEHOLDER_WEBHOOK_SECRET,
    PLACEHOLDER_WEBSOCKET_URL,
    Interpolator,
    Placeholders,
)
from bridge.schema import Problems
from tests.conftest import BASE_CONFIG, REPO

EXAMPLE = REPO / "rules.example.toml"
RULE = '[[rules]]\nname = "r"\non = "fill"\nnotify = ["desk"]\n'  # check wants one
EXE = Path(sys.executable).parent / "alert-bridge"


def bare_environment() -> dict[str, str]:
    """The caller's environment without any variable the example reads."""
    hidden = {*EXAMPLE_VARIABLES, "CREDENTIALS_DIRECTORY", "ALERT_BRIDGE_CONFIG"}
    return {k: v for k, v in os.environ.items() if k not in hidden}


def run(
    argv: list[str], env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env if env is not None else bare_environment(),
        check=False,
    )


def header_commands() -> list[str]:
    """The commands rules.example.toml's header tells a new user to run, as printed."""
    header = EXAMPLE.read_text(encoding="utf-8").split("[bridge]")[0]
    return re.findall(r"^#.*?:\s+(alert-bridge .+?)\s*$", header, re.M)


def test_the_header_prints_the_commands_a_user_tries_first() -> None:
    commands = header_commands()
    assert [shlex.split(c)[1] for c in commands] == ["check", "test"]
    assert all("--placeholders" in c for c in commands)


@pytest.mark.parametrize("command", header_commands())
def test_each_header_command_works_as_printed_without_any_variable(command: str) -> None:
    # Fails before --placeholders: "environment variable GATE_KEY is not set" and 12 more.
    argv = shlex.split(command)
    result = run([str(EXE), *argv[1:]])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    names = ", ".join(EXAMPLE_VARIABLES)  # in the order the file first uses them
    assert result.stderr == (
        f"alert-bridge {argv[1]}: placeholders used for 13 variables "
        f"(no real value was read): {names}\n"
    )
    if argv[1] == "check":
        assert result.stdout == "rules.example.toml: ok: 5 venues, 2 destinations, 5 rules\n"
    else:
        assert result.stdout.endswith(
            "11 events, 5 rule matches, 8 deliveries (dry run: nothing was sent)\n"
        )


def test_every_reference_gets_a_placeholder_even_when_set_and_no_value_is_shown(
    tmp_path: Path,
) -> None:
    # Set variables are not used either: the outcome never depends on the shell, and a
    # real (here: invalid) value is neither read nor echoed.
    env = {
        **bare_environment(),
        **EXAMPLE_VARIABLES,
        "DESK_APPRISE_URL": "nonsense-that-apprise-rejects",
        "GATE_KEY": "real-looking-key-9f8e7d",
    }
    result = run([str(EXE), "check", "-c", str(EXAMPLE), "--placeholders"], env=env)
    assert result.returncode == 0, result.stderr
    assert "placeholders used for 13 variables" in result.stderr
    assert result.stderr.count("\n") == 1
    for value in ("real-looking-key-9f8e7d", "nonsense-that-apprise-rejects"):
        assert value not in result.stdout + result.stderr
    # without the flag, the real value is what gets checked
    plain = run([str(EXE), "check", "-c", str(EXAMPLE)], env=env)
    assert plain.returncode == 2 and "notifiers.desk.urls" in plain.stderr


def test_file_references_are_filled_without_reading_anything(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    text = BASE_CONFIG.format(state_dir=tmp_path / "state")
    text = text.replace('api_secret = "s"\n', 'api_secret = "${file:gate_secret}"\n', 1)
    text = text.replace('"json://127.0.0.1:9/alerts"', '"tgram://${file:/nowhere/token}/42"')
    config.write_text(text + RULE)
    result = run([str(EXE), "check", "-c", str(config), "--placeholders"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "alert-bridge check: placeholders used for 2 variables (no real value was read): "
        "file:gate_secret, file:/nowhere/token\n"
    )


def test_problems_are_reported_after_the_placeholders_line(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        BASE_CONFIG.format(state_dir=tmp_path / "state").replace('"k"', '"${KEY}"')
        + '[[rules]]\nname = "r"\non = "fil"\nnotify = ["desk"]\n'
    )
    result = run([str(EXE), "check", "-c", str(config), "--placeholders"])
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "alert-bridge check: placeholders used for 1 variable (no real value was read): KEY"
    )
    assert lines[1] == f"alert-bridge check: {config} is invalid (1 problem):"


def test_a_config_without_references_says_so(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(BASE_CONFIG.format(state_dir=tmp_path / "state") + RULE)
    result = run([str(EXE), "check", "-c", str(config), "--placeholders"])
    assert result.returncode == 0, result.stderr
    assert result.stderr == (
        "alert-bridge check: --placeholders: the config has no ${VAR} or ${file:...} references\n"
    )


def test_replay_dry_run_with_placeholders() -> None:
    frames = REPO / "tests" / "frames" / "gateio.jsonl"
    argv = ["replay", "-c", str(EXAMPLE), "--venue", "gate-main", str(frames), "--placeholders"]
    result = run([str(EXE), *argv])
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("alert-bridge replay: placeholders used for 13 variables")
    assert "(dry run: nothing was sent)" in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--placeholders"],
        ["notify-test", "desk", "--placeholders"],
        ["replay", "--venue", "v", "frames.jsonl", "--send", "--placeholders"],
    ],
)
def test_nothing_that_sends_accepts_placeholders(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 64
    error = capsys.readouterr().err
    assert "--placeholders" in error
    assert "unrecognized arguments" in error or "not allowed with argument --send" in error


@pytest.mark.parametrize(
    ("path", "text", "expected"),
    [
        ("notifiers.desk.urls[0]", "tgram://${TOKEN}/${CHAT}", PLACEHOLDER_APPRISE_URL),
        ("notifiers.desk.urls", "${URL}", PLACEHOLDER_APPRISE_URL),
        ("webhooks.ops.secret[1]", "${NEXT}", PLACEHOLDER_WEBHOOK_SECRET),
        ("webhooks.ops.url", "https://hooks.example.com/${TOKEN}", PLACEHOLDER_HTTP_URL),
        ("venues.gate-main.url", "${URL}", PLACEHOLDER_WEBSOCKET_URL),
        ("venues.shark.rest_url", "${URL}", PLACEHOLDER_HTTP_URL),
        ("venues.gate-main.api_key", "key-${K}", "key-placeholder"),
        ("venues.gate-main.api_key", "cost $${NOT_A_VAR}", "cost ${NOT_A_VAR}"),
        ("notifiers.desk.urls[0]", "json://127.0.0.1:9/", "json://127.0.0.1:9/"),
    ],
)
def test_placeholders_take_the_form_their_key_requires(path: str, text: str, expected: str) -> None:
    problems = Problems()
    interpolator = Interpolator({"K": "real", "TOKEN": "real"}, Placeholders())
    assert interpolator.resolve(text, path, problems) == expected
    assert not problems
    assert interpolator.resolved == set()  # placeholders are not secrets, and nothing was read


def test_the_apprise_placeholder_reaches_no_one() -> None:
    # .invalid is reserved never to resolve (RFC 6761); Apprise accepts the URL as json://.
    from bridge.apprise_urls import load_apprise

    _, unusable = load_apprise([PLACEHOLDER_APPRISE_URL])
    assert unusable == []
    assert PLACEHOLDER_APPRISE_URL.split("/")[2].endswith(".invalid")


def test_a_bad_reference_is_still_an_error_with_placeholders() -> None:
    problems = Problems()
    Interpolator({}, Placeholders()).resolve("${not a name}", "venues.x.api_key", problems)
    assert "not a variable name" in problems.items[0].message

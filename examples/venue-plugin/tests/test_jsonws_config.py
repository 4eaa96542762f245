"""The plugin's config keys as an operator meets them: ``alert-bridge check``."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from feed_support import EXAMPLE, EXE

ENVIRON = {
    "FEED_URL": "wss://feed.example.com/v1/stream",
    "FEED_TOKEN": "feed-token-0123",
    "OPS_HOOK_URL": "https://ops.example.com/hook",
    "OPS_HOOK_SECRET": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "AUDIT_LOG": "/tmp/alert-bridge-audit.jsonl",
}


def check(config: str, tmp_path: Path) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(config)
    result = subprocess.run(
        [EXE, "check", "-c", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, **ENVIRON},
        timeout=60,
    )
    return result.returncode, result.stdout + result.stderr


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    code, output = check(EXAMPLE.read_text(), tmp_path)
    assert (code, "ok: 1 venues, 2 destinations, 3 rules" in output) == (0, True), output


def test_url_and_token_are_required(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('url = "${FEED_URL}"', "")
    code, output = check(text.replace('token = "${FEED_TOKEN}"', ""), tmp_path)
    assert code == 2
    assert "venues.desk-feed.url: required key is missing" in output
    assert "venues.desk-feed.token: required key is missing" in output


def test_mistakes_in_signals_and_mappings_are_named(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace('signal = "pong"', 'signal = "pongg"')
    text = text.replace('id = ["asset", "seq"]', "id = []")
    text = text.replace('ts = "updated"', 'ts = "updated"\nts_unit = "minutes"')
    text = text.replace("values = { side", "valeus = { side", 1)
    code, output = check(text, tmp_path)
    assert code == 2, output
    assert "signals[1].signal: 'pongg' is not one of ack, pong" in output
    assert 'mappings[2].id: paths to the venue\'s own identity of the fact, e.g. ["id"]' in output
    assert 'mappings[1].ts_unit: "ms" or "s", not \'minutes\'' in output
    assert 'mappings[0].valeus: unknown key (did you mean "values"?)' in output
    assert "Traceback" not in output

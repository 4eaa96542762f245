"""The systemd unit, checked by the real ``systemd-analyze`` (verify and security)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bridge.config import parse_config
from tests.conftest import REPO

UNIT = REPO / "systemd" / "alert-bridge.service"
EXEC_START = "/opt/alert-bridge/venv/bin/alert-bridge"
MAX_EXPOSURE = 1.5

needs_systemd_analyze = pytest.mark.skipif(
    shutil.which("systemd-analyze") is None,
    reason="systemd-analyze (part of systemd) is not installed, and nothing else can check a unit",
)


def directives(text: str) -> list[tuple[str, str]]:
    """``(key, value)`` for every assignment, in order (comments and sections skipped)."""
    out = []
    for line in text.splitlines():
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.append((key.strip(), value.strip()))
    return out


def analyze(*args: str) -> subprocess.CompletedProcess[str]:
    # Plain, uncoloured output, whatever the caller's terminal settings.
    env = {**os.environ, "SYSTEMD_LOG_COLOR": "0", "SYSTEMD_COLORS": "0", "LC_ALL": "C.UTF-8"}
    return subprocess.run(
        ["systemd-analyze", *args],
        capture_output=True,
        encoding="utf-8",  # it prints arrows and emoji, whatever our own locale
        errors="replace",
        timeout=30,
        env=env,
        check=False,
    )


def test_required_directives() -> None:
    found = dict(directives(UNIT.read_text()))
    assert found["Type"] == "notify"
    assert found["NotifyAccess"] == "main"
    assert found["ExecStart"] == f"{EXEC_START} run -c /etc/alert-bridge/config.toml"
    assert found["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert found["Restart"] == "on-failure"
    assert found["WatchdogSec"] == "30s"
    assert found["StateDirectory"] == "alert-bridge"
    assert found["ConfigurationDirectory"] == "alert-bridge"
    assert found["Environment"] == "ALERT_BRIDGE_CONFIG=/etc/alert-bridge/config.toml"
    assert found["DynamicUser"] == "yes"
    assert found["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"
    # Longer than the default shutdown_grace (10s), which must fit inside it with room to spare.
    assert int(found["TimeoutStopSec"].removesuffix("s")) >= 20
    assert "RestartSec" in found


def test_secrets_come_from_load_credential() -> None:
    credentials = [v for k, v in directives(UNIT.read_text()) if k == "LoadCredential"]
    names = {c.partition(":")[0] for c in credentials}
    assert {"gate_key", "gate_secret", "ops_webhook_secret"} <= names
    for credential in credentials:
        name, _, source = credential.partition(":")
        assert source == f"/etc/alert-bridge/credentials/{name}"
    deploy = (REPO / "docs" / "deploy.md").read_text()
    for name in names:  # the guide must create every file the unit loads
        assert f"${{file:{name}}}" in deploy, name


def test_deploy_guide_config_is_valid(tmp_path: Path) -> None:
    # The config deploy.md tells people to install, with the credentials the unit loads.
    guide = (REPO / "docs" / "deploy.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", guide, flags=re.DOTALL)
    assert len(blocks) == 1
    credentials = {
        "gate_key": "test-gate-key",
        "gate_secret": "test-gate-secret",
        "desk_apprise_url": "json://127.0.0.1:9/alerts",
        "ops_webhook_secret": "whsec_dGVzdC1zZWNyZXQtMTIzNDU2Nzg=",
    }
    for name, value in credentials.items():
        (tmp_path / name).write_text(value + "\n")  # as `install /dev/stdin` leaves them
    config = parse_config(blocks[0], environ={"CREDENTIALS_DIRECTORY": str(tmp_path)})
    assert config.bridge.state_dir == Path("/var/lib/alert-bridge")
    assert config.venues["gate-main"].options["api_key"] == "test-gate-key"


def test_every_hardening_line_has_a_comment() -> None:
    lines = UNIT.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# Hardening."))
    end = next(i for i, line in enumerate(lines) if line == "[Install]")
    block = lines[start:end]
    settings = [i for i, line in enumerate(block) if line and not line.startswith("#")]
    assert len(settings) >= 25
    for i in settings:
        # Comments cannot trail a value in a unit file: the one above must explain this line.
        assert block[i - 1].startswith("# "), f"no comment above {block[i]!r}"


@needs_systemd_analyze
def test_security_exposure_is_low() -> None:
    result = analyze("security", "--offline=yes", "--no-pager", str(UNIT))
    assert result.returncode == 0, result.stderr
    match = re.search(
        r"Overall exposure level for alert-bridge\.service: (\d+\.\d+)", result.stdout
    )
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= MAX_EXPOSURE, result.stdout


@needs_systemd_analyze
def test_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists, and this machine has no
    # /opt/alert-bridge. So verify a copy that differs in that one path only, pointing at
    # a real executable; everything else is checked exactly as installed.
    program = tmp_path / "bin" / "alert-bridge"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    original = UNIT.read_text()
    assert original.count(EXEC_START) == 1
    copy = tmp_path / "alert-bridge.service"
    copy.write_text(original.replace(EXEC_START, str(program)))
    result = analyze("verify", "--man=no", str(copy))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "alert-bridge.service" not in result.stdout + result.stderr


@needs_systemd_analyze
def test_verify_reports_a_broken_unit(tmp_path: Path) -> None:
    # The check above must be able to fail: the same copy with a misspelled directive.
    program = tmp_path / "alert-bridge"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    broken = UNIT.read_text().replace(EXEC_START, str(program))
    broken = broken.replace("Type=notify", "Type=notfy")
    copy = tmp_path / "alert-bridge.service"
    copy.write_text(broken)
    result = analyze("verify", "--man=no", str(copy))
    assert "notfy" in result.stdout + result.stderr

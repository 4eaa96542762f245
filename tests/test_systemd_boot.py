"""The shipped unit, unchanged, under the machine's own systemd booted as PID 1 (#15 item 4).

``tests/systemd_harness.py`` boots systemd in private namespaces on an overlay of the
root; the unit file is installed byte for byte, the service's venv sits where ExecStart=
looks (``/opt/alert-bridge/venv``, reaching this checkout's install), and the secrets are
credential files read through ``${file:…}``. A fake Gate.io venue and a webhook receiver
run inside the machine's private network (``tests/systemd_fakes.py``): a venue that
accepts the subscription and a webhook that verifies prove the credentials arrived.

Only the watchdog step adds a drop-in (WatchdogSec=4s, RestartSec=1s): with the unit's
30 s the kill alone could take 30 s. Everything before it runs the unit as shipped.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO
from tests.systemd_harness import Machine, unavailable

WHY_NOT = unavailable()
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(WHY_NOT is not None, reason=str(WHY_NOT)),
]

UNIT = "alert-bridge.service"
HTTP = "http://127.0.0.1:9108"
SECRETS = {
    "gate_key": "gate-key-from-credential",
    "gate_secret": "gate-secret-from-credential",
    # Nothing listens on port 9: the notifier is configured (the unit loads the
    # credential), the rules send to the webhook only.
    "desk_apprise_url": "json://127.0.0.1:9/desk-token-from-credential",
    "ops_webhook_secret": "whsec_c3lzdGVtZC1jcmVkZW50aWFsLXNlY3JldCE=",
}
CONFIG = """
[bridge]
state_dir = "/var/lib/alert-bridge"
http = "127.0.0.1:9108"
reconnect_delay = "50ms"
reconnect_max_delay = "500ms"

[venues.gate-main]
plugin = "gateio"
api_key = "${{file:gate_key}}"
api_secret = "${{file:gate_secret}}"
url = "{venue}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[notifiers.desk]
urls = ["${{file:desk_apprise_url}}"]

[webhooks.ops]
url = "{hook}"
secret = "${{file:ops_webhook_secret}}"

[[rules]]
name = "large fill"
on = "fill"
where = {{ notional = {{ gte = "10000" }} }}
notify = ["ops"]
"""
SECOND_RULE = """
[[rules]]
name = "any fill"
on = "fill"
notify = ["ops"]
"""
WATCHDOG_DROP_IN = "[Service]\nWatchdogSec=4s\nRestartSec=1s\n"


class Fakes:
    """The fakes process inside the machine's network, driven one JSON line at a time."""

    def __init__(self, machine: Machine) -> None:
        self.process = machine.popen_in_network(
            [
                sys.executable,
                "-m",
                "tests.systemd_fakes",
                SECRETS["gate_key"],
                SECRETS["gate_secret"],
                SECRETS["ops_webhook_secret"],
            ],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.urls = self._read()

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, "the fakes process died"
        reply: dict[str, Any] = json.loads(line)
        assert "error" not in reply, reply["error"]
        return reply

    def ask(self, **command: object) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._read()

    def get(self, path: str) -> tuple[int, str]:
        reply = self.ask(get=HTTP + path)
        return reply["status"], reply["body"]

    def metric(self, name: str) -> float:
        status, body = self.get("/metrics")
        assert status == 200
        match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", body, re.MULTILINE)
        assert match, f"{name} is not in /metrics"
        return float(match.group(1))

    def close(self) -> None:
        """End of stdin ends it; one that hangs is killed (it would keep the network alive)."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=20)
        finally:
            self.process.kill()
            self.process.wait()
            self.process.stdout.close()


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    machine = Machine(tmp_path / "machine")
    # The unit exactly as shipped, where docs/deploy.md installs it.
    machine.put("/etc/systemd/system/" + UNIT, (REPO / "systemd" / UNIT).read_bytes())
    machine.install_service_venv()
    for name, value in SECRETS.items():
        # As `install -m 0600 /dev/stdin` leaves them: the trailing newline is dropped on read.
        machine.put(f"/etc/alert-bridge/credentials/{name}", value + "\n", mode=0o600)
    (machine.upper / "etc/alert-bridge/credentials").chmod(0o700)
    try:
        machine.boot()
        yield machine
    finally:
        machine.poweroff()


@pytest.fixture
def fakes(machine: Machine) -> Iterator[Fakes]:
    fakes = Fakes(machine)
    try:
        yield fakes
    finally:
        fakes.close()


def journal(machine: Machine) -> str:
    return machine.run("journalctl", "-u", UNIT, "--no-pager", "-o", "cat").stdout


def test_shipped_unit_under_systemd(machine: Machine, fakes: Fakes) -> None:
    started = time.monotonic()
    config = CONFIG.format(venue=fakes.urls["venue"], hook=fakes.urls["hook"])
    machine.write("/etc/alert-bridge/config.toml", config)

    # --- start: `systemctl start` returns once READY=1 came, with the status text.
    machine.run("systemctl", "start", UNIT)
    state = machine.show(
        UNIT, "ActiveState", "SubState", "StatusText", "MainPID", "FragmentPath", "DropInPaths"
    )
    assert (state["ActiveState"], state["SubState"]) == ("active", "running"), state
    assert state["StatusText"] == "1 venues, 2 destinations, 1 rules"
    assert state["FragmentPath"] == "/etc/systemd/system/" + UNIT
    assert state["DropInPaths"] == ""
    shipped = (REPO / "systemd" / UNIT).read_text()
    assert machine.run("cat", state["FragmentPath"]).stdout == shipped
    main_pid = state["MainPID"]

    # --- /healthz, and the venue authenticated with the credentials' key pair.
    assert fakes.get("/healthz")[0] == 200
    assert fakes.ask(fill=1) == {"ok": True}
    [payload] = fakes.ask(webhooks=1)["payloads"]  # verified with the credential's secret
    assert payload["data"]["rule"] == "large fill"

    # --- the state directory: the dynamic user's, 0700; the database 0600 (UMask=0077).
    uid = re.search(r"^Uid:\s+(\d+)", machine.run("cat", f"/proc/{main_pid}/status").stdout, re.M)
    assert uid and int(uid.group(1)) >= 61184, "DynamicUser= allocates from 61184 up"
    assert machine.run("readlink", "/var/lib/alert-bridge").stdout.strip() == (
        "private/alert-bridge"
    )
    stats = machine.run(
        "sh", "-c", "stat -c '%n %u %a' {0}/ {0}/*".format("/var/lib/private/alert-bridge")
    ).stdout.splitlines()
    assert any(line.endswith("state.sqlite3 " + uid.group(1) + " 600") for line in stats), stats
    for line in stats:
        _, owner, mode = line.rsplit(" ", 2)
        assert owner == uid.group(1), line
        assert mode == ("700" if line.startswith("/var/lib/private/alert-bridge/ ") else "600")
    # The credentials, in the service's private directory, readable by it alone.
    credentials = machine.run(
        "sh", "-c", "cd /run/credentials/" + UNIT + " && stat -c '%n %u %a' *"
    ).stdout.split("\n")
    assert sorted(c for c in credentials if c) == sorted(
        f"{name} {uid.group(1)} 400" for name in SECRETS
    )

    # --- reload with a valid config: same process, new rules, gauge at 1.
    machine.write("/etc/alert-bridge/config.toml", config + SECOND_RULE)
    machine.run("systemctl", "reload", UNIT)
    state = machine.wait_for(
        UNIT, lambda s: s["StatusText"] == "1 venues, 2 destinations, 2 rules", within=20
    )
    assert (state["ActiveState"], state["MainPID"]) == ("active", main_pid)
    assert fakes.metric("alert_bridge_config_last_reload_successful") == 1

    # --- reload with broken TOML: rejected, the service keeps running, gauge at 0.
    machine.write("/etc/alert-bridge/config.toml", config + "[[rules]\n")
    machine.run("systemctl", "reload", UNIT)
    deadline = time.monotonic() + 20
    while fakes.metric("alert_bridge_config_last_reload_successful") != 0:
        assert time.monotonic() < deadline, "the broken config was never rejected"
        time.sleep(0.1)
    state = machine.show(UNIT, "ActiveState", "SubState", "MainPID", "StatusText")
    assert state == {
        "ActiveState": "active",
        "SubState": "running",
        "MainPID": main_pid,
        "StatusText": "1 venues, 2 destinations, 2 rules",
    }
    assert fakes.get("/healthz")[0] == 200
    assert "reload rejected, the running config stays" in journal(machine)
    machine.write("/etc/alert-bridge/config.toml", config + SECOND_RULE)
    # Healthy all along, from the first watchdog check on (it once ran before start-up
    # had finished and logged a false alarm at every start).
    assert "watchdog pings withheld" not in journal(machine)

    # --- watchdog: a SIGSTOPped service is killed and restarted. The only drop-in, for
    # timing alone (see the module docstring); it needs a restart to take effect.
    machine.write(f"/run/systemd/system/{UNIT}.d/watchdog-timing.conf", WATCHDOG_DROP_IN)
    machine.run("systemctl", "daemon-reload")
    machine.run("systemctl", "restart", UNIT)
    before = machine.show(UNIT, "MainPID", "NRestarts", "WatchdogUSec")
    assert before["WatchdogUSec"] == "4s"
    machine.run("systemctl", "kill", "--kill-whom=main", "--signal=SIGSTOP", UNIT)
    after = machine.wait_for(
        UNIT,
        lambda s: (
            s["NRestarts"] == str(int(before["NRestarts"]) + 1) and s["ActiveState"] == "active"
        ),
        within=20,
    )
    assert after["MainPID"] != before["MainPID"]
    log = journal(machine)
    assert "Watchdog timeout" in log
    assert "Failed with result 'watchdog'" in log
    assert fakes.get("/healthz")[0] == 200

    # --- stop: clean (SIGTERM handled, exit 0), nothing left running.
    machine.run("systemctl", "stop", UNIT)
    state = machine.show(UNIT, "ActiveState", "Result", "ExecMainStatus")
    assert state == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}
    # The state (and the outbox in it) outlives the service.
    machine.run("test", "-s", "/var/lib/private/alert-bridge/state.sqlite3")

    # No secret ever reached the journal.
    log = journal(machine)
    for value in SECRETS.values():
        assert value not in log
    # The test's own bound (make test runs it; the suite's 60 s timeout is the backstop).
    assert time.monotonic() - started < 60

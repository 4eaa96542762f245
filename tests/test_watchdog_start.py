"""The systemd watchdog of a real ``alert-bridge run``: pings start with READY=1, not later.

systemd arms ``WatchdogSec=`` only once start-up is complete (READY=1), so the first
WATCHDOG=1 must follow READY=1 at once, and a normal start must not log "unhealthy".
"""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bridge.testing.gate import GateSpotFake
from bridge.testing.waiting import Changes
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, run_service, write_config

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""

[webhooks.ops]
url = "{hook}"
secret = "{secret}"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{gate}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[[rules]]
name = "any fill"
on = "fill"
notify = ["ops"]
"""

# As in systemd/alert-bridge.service (WatchdogSec=30s): a ping is due every 15 s, so a
# first ping that waits for the next period arrives far outside PROMPT.
WATCHDOG_USEC = "30000000"
# Bounds only a failing test: a passing one gets its ping within milliseconds of READY=1.
PROMPT = 5.0


async def test_first_watchdog_ping_follows_ready_at_once_and_nothing_is_unhealthy(
    tmp_path: Path,
) -> None:
    socket_path = tmp_path / "notify.sock"
    received: list[str] = []
    changes = Changes()

    async with (
        GateSpotFake() as gate,
        await anyio.create_unix_datagram_socket(local_path=socket_path) as sock,
        anyio.create_task_group() as tg,
    ):
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)

        async def listen() -> None:
            async for datagram, _ in sock:
                received.extend(datagram.decode().split("\n"))
                changes.notify()

        tg.start_soon(listen)
        config = write_config(
            tmp_path / "config.toml",
            CONFIG,
            state=tmp_path / "state",
            hook=hook.url,
            secret=WEBHOOK_SECRET,
            gate=gate.url,
        )
        env = {"NOTIFY_SOCKET": str(socket_path), "WATCHDOG_USEC": WATCHDOG_USEC}
        async with run_service(config, env=env) as service:
            await changes.wait_for(lambda: "READY=1" in received, timeout=30)
            await changes.wait_for(lambda: "WATCHDOG=1" in received, timeout=PROMPT)
            await service.wait_for_log("gate-main: connected")
        tg.cancel_scope.cancel()

    # The watchdog is armed at READY=1: pinging starts there, not before.
    assert received.index("READY=1") < received.index("WATCHDOG=1")
    assert "unhealthy" not in service.log, service.log
    assert "watchdog pings withheld" not in service.log, service.log

"""Signals against a real ``alert-bridge run``: SIGHUP reloads, SIGTERM stops gracefully."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from bridge.testing.waiting import Changes
from tests.receivers import Receiver, Reply, Request
from tests.service_helpers import EXE, WEBHOOK_SECRET, run_service

pytestmark = pytest.mark.anyio

HEAD = """
[bridge]
state_dir = "{state}"
http = ""
reconnect_delay = "20ms"
shutdown_grace = "{grace}"

[webhooks.ops]
url = "{hook}"
secret = "{secret}"
timeout = "30s"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{main}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)
"""

SECOND_VENUE = """
[venues.gate-second]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{second}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)
"""

FILL_RULE = """
[[rules]]
name = "fill over"
on = "fill"
notify = ["ops"]
where = {{ notional = {{ gte = "{level}" }} }}
"""


@dataclass
class Setup:
    main: GateSpotFake
    second: GateSpotFake
    hook: Receiver
    path: Path

    def write(
        self, *, level: str = "10000", second: bool = False, grace: str = "10s", extra: str = ""
    ) -> None:
        text = HEAD + (SECOND_VENUE if second else "") + FILL_RULE + extra
        self.path.write_text(
            text.format(
                state=self.path.parent / "state",
                grace=grace,
                hook=self.hook.url,
                secret=WEBHOOK_SECRET,
                main=self.main.url,
                second=self.second.url,
                level=level,
            )
        )

    def trade_ids(self) -> list[str]:
        assert all(all(r.verified) for r in self.hook.requests)
        return [
            r.payload["data"]["trade_id"]
            for r in self.hook.requests
            if r.payload and r.payload["type"] == "fill"
        ]


async def subscribed(fake: GateSpotFake, connections: int = 1) -> None:
    connection = await fake.wait_for_connections(connections)
    await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades", connection))


@pytest.fixture
async def setup(tmp_path: Path) -> AsyncIterator[Setup]:
    async with GateSpotFake() as main, GateSpotFake() as second, anyio.create_task_group() as tg:
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)
        yield Setup(main, second, hook, tmp_path / "config.toml")
        tg.cancel_scope.cancel()


async def test_sighup_swaps_rules_and_venues_and_keeps_other_connections(setup: Setup) -> None:
    setup.write(level="10000")
    async with run_service(setup.path) as service:
        await subscribed(setup.main)
        await setup.main.update("spot.usertrades", [usertrade(1, amount="0.01")])  # 300: silent
        setup.write(level="100", second=True)
        service.process.send_signal(signal.SIGHUP)
        await service.wait_for_log("reloaded: 2 venues")
        await subscribed(setup.second)
        await setup.main.update("spot.usertrades", [usertrade(2, amount="0.01")])  # now alerts
        await setup.second.update("spot.usertrades", [usertrade(3, amount="0.01")])
        with anyio.fail_after(15):
            await setup.hook.wait_until(lambda r: len(r.requests) >= 2)
        assert len(setup.main.connections) == 1  # the unchanged venue kept its stream

        setup.write(level="100", second=False)  # remove the second venue again
        service.process.send_signal(signal.SIGHUP)
        await service.wait_for_log("reloaded: 1 venues")
        await setup.second.changes.wait_for(lambda: not setup.second.open_connections)
        assert len(setup.main.connections) == 1
    assert sorted(setup.trade_ids()) == ["2", "3"]


async def test_invalid_config_on_sighup_is_rejected_and_the_old_one_keeps_running(
    setup: Setup,
) -> None:
    setup.write(level="100")
    async with run_service(setup.path) as service:
        await subscribed(setup.main)
        setup.path.write_text(setup.path.read_text().replace('on = "fill"', 'on = "fil"'))
        service.process.send_signal(signal.SIGHUP)
        await service.wait_for_log("reload rejected")
        assert 'rules[0] ("fill over").on: "fil" is not an event kind' in service.log
        await setup.main.update("spot.usertrades", [usertrade(4, amount="0.01")])
        with anyio.fail_after(15):
            await setup.hook.wait_until(lambda r: len(r.requests) >= 1)
        assert service.process.returncode is None
    assert setup.trade_ids() == ["4"]


async def test_sigterm_leaves_an_unfinished_delivery_in_the_outbox(setup: Setup) -> None:
    arrived = anyio.Event()

    async def hang(request: Request) -> Reply:
        arrived.set()
        await anyio.sleep_forever()  # the receiver never answers: the delivery stays in flight
        raise AssertionError("unreachable")

    setup.hook.respond = hang
    setup.write(level="100", grace="500ms")
    async with run_service(setup.path) as service:
        await subscribed(setup.main)
        await setup.main.update("spot.usertrades", [usertrade(5, amount="0.01")])
        with anyio.fail_after(15):
            await arrived.wait()
        started = anyio.current_time()
        assert await service.stop() == 0
        assert anyio.current_time() - started < 8  # the grace period, not the 30 s timeout
    listing = await anyio.run_process([EXE, "outbox", "list", "-c", str(setup.path)])
    stdout = listing.stdout.decode()
    lines = [line for line in stdout.splitlines() if "fill over" in line]
    assert len(lines) == 1 and "ops" in lines[0], stdout  # exactly the one job, kept


async def test_systemd_hears_ready_watchdog_reloading_and_stopping(
    setup: Setup, tmp_path: Path
) -> None:
    setup.write(level="100")
    socket_path = tmp_path / "notify.sock"
    received: list[str] = []
    changes = Changes()
    async with await anyio.create_unix_datagram_socket(local_path=socket_path) as sock:

        async def listen() -> None:
            async for datagram, _ in sock:
                received.extend(datagram.decode().split("\n"))
                changes.notify()

        def count(line: str) -> int:
            return sum(r == line for r in received)

        env = {"NOTIFY_SOCKET": str(socket_path), "WATCHDOG_USEC": "200000"}
        async with anyio.create_task_group() as tg:
            tg.start_soon(listen)
            async with run_service(setup.path, env=env) as service:
                await changes.wait_for(lambda: count("READY=1") == 1)
                await changes.wait_for(lambda: count("WATCHDOG=1") >= 2)  # every 0.1 s
                service.process.send_signal(signal.SIGHUP)
                await changes.wait_for(lambda: count("READY=1") == 2)
                await service.stop()
            await changes.wait_for(lambda: count("STOPPING=1") == 1)
            tg.cancel_scope.cancel()
    reloading = received.index("RELOADING=1")
    assert received[reloading + 1].startswith("MONOTONIC_USEC=")
    assert (
        received.index("READY=1") < reloading < len(received) - 1 - received[::-1].index("READY=1")
    )
    assert any(line.startswith("STATUS=1 venues") for line in received)

"""A full disk under a real ``alert-bridge run`` (issue #12, item 1).

``state_dir`` lives on a small tmpfs mounted for the test; a filler file takes its last
byte while fills flow from the fake Gate.io venue. The service must stay up, say so
(one ERROR line, ``/readyz`` 503 naming the store, the metrics), hold what it cannot
commit, and once the filler is gone deliver every fill exactly once, in order. A
restart while the disk is still full is one line and a non-zero exit.

Mounting needs root (CI runs the tests as root); elsewhere the test is skipped.
"""

from __future__ import annotations

import errno
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import GateWorld
from tests.service_helpers import EXE, free_port, run_service, sample

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{disk_state}"
http = "127.0.0.1:{port}"
reconnect_delay = "20ms"
reconnect_max_delay = "200ms"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"
concurrency = 1  # one at a time: arrival order is delivery order

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""

DISK_SIZE = "4m"
RATE = 100  # fills per second while the disk fills and while it is full
WHILE_FULL = 100  # fills pushed once the store has said it cannot write
STORE_DOWN = "store: cannot write state.sqlite3: database or disk is full; retrying"


@pytest.fixture
async def disk(tmp_path: Path) -> AsyncIterator[Path]:
    """A DISK_SIZE tmpfs under tmp_path, unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    try:
        result = await anyio.run_process(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount)], check=False
        )
    except OSError:  # no mount(8) at all
        result = None
    if result is None or result.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs the tests as root)")
    try:
        yield mount
    finally:
        await anyio.run_process(["umount", str(mount)])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GateWorld]:
    async with GateSpotFake() as fake, GateWorld.start(fake, tmp_path) as world:
        yield world


def fill_up(path: Path) -> None:
    """Write ``path`` until its file system has no byte left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        for size in (1 << 20, 4096, 1):  # big chunks, then the last crumbs
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    finally:
        os.close(fd)


async def test_a_full_disk_holds_alerts_and_delivers_each_once_when_space_returns(
    world: GateWorld, disk: Path
) -> None:
    port = free_port()
    state = disk / "state"
    config = world.write_config(CONFIG, disk_state=state, port=port, url=world.fake.url)
    filler = disk / "filler"
    pushed: list[int] = []

    async def push() -> None:
        number = len(pushed) + 1
        pushed.append(number)
        await world.fake.update("spot.usertrades", [usertrade(number, amount="1")])
        await anyio.sleep(1 / RATE)  # pacing the load at RATE, not waiting for anything

    async with (
        run_service(config) as service,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        await world.subscribed()
        await push()
        await world.received(hook=1)  # the store works
        assert (await http.get("/readyz")).text == "ready\n"

        fill_up(filler)
        with anyio.fail_after(30):  # fills flow until a commit finds no room
            while (
                sample((await http.get("/metrics")).text, "alert_bridge_store_write_failing") == 0
            ):
                await push()
        for _ in range(WHILE_FULL):
            await push()

        ready = await http.get("/readyz")
        assert (ready.status_code, ready.text) == (503, STORE_DOWN + "\n")
        metrics = (await http.get("/metrics")).text
        assert sample(metrics, "alert_bridge_store_write_failing") == 1
        assert sample(metrics, "alert_bridge_store_write_failures_total") >= 1
        assert sample(metrics, "alert_bridge_store_pending_events") >= WHILE_FULL
        assert service.process.returncode is None  # still up
        assert len(world.hook.requests) < len(pushed)  # those not committed are held

        filler.unlink()  # space is back
        with anyio.fail_after(30):
            await world.hook.wait_until(lambda r: len(r.accepted) >= len(pushed))
        await service.wait_for_log("is writable again")
        assert (await http.get("/readyz")).text == "ready\n"
        metrics = (await http.get("/metrics")).text
        assert sample(metrics, "alert_bridge_store_write_failing") == 0
        assert sample(metrics, "alert_bridge_store_pending_events") == 0

    trade_ids = [int(fill["trade_id"]) for fill in world.payloads("fill")]
    lost = sorted(set(pushed) - set(trade_ids))
    assert lost == [], f"{len(lost)} of {len(pushed)} alerts lost"
    assert trade_ids == pushed  # each exactly once, in order
    assert len({r.headers["webhook-id"] for r in world.hook.requests}) == len(pushed)
    # said once: one ERROR when writes started failing, one INFO when they worked again
    assert service.count("ERROR alert_bridge.store: store: cannot write") == 1
    assert service.count("store: ") == 2 + service.count("WAL checkpoint")
    assert "Traceback" not in service.log

    # A restart while the disk is still full: one line naming state_dir, non-zero exit.
    fill_up(filler)
    with anyio.fail_after(20):
        result = await anyio.run_process([EXE, "run", "-c", str(config)], check=False)
    output = result.stderr.decode()
    assert result.returncode != 0, output
    assert f"state_dir {state}: cannot write state.sqlite3: " in output
    assert "free space on its file system" in output
    assert "Traceback" not in output, output
    assert sum(line.startswith("alert-bridge run: error: ") for line in output.splitlines()) == 1


async def test_stopping_while_the_disk_is_full_exits_cleanly_and_counts_what_is_lost(
    world: GateWorld, disk: Path
) -> None:
    port = free_port()
    config = world.write_config(CONFIG, disk_state=disk / "state", port=port, url=world.fake.url)
    number = 0
    async with (
        run_service(config) as service,  # asserts exit code 0 after SIGTERM
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
    ):
        await world.subscribed()
        fill_up(disk / "filler")
        with anyio.fail_after(30):
            # until events are held: at 100/s a working store never holds 5 at once
            while (
                sample((await http.get("/metrics")).text, "alert_bridge_store_pending_events") < 5
            ):
                number += 1
                await world.fake.update("spot.usertrades", [usertrade(number, amount="1")])
                await anyio.sleep(1 / RATE)  # pacing the load, not waiting for anything
        with anyio.fail_after(10):  # shutdown_grace (5 s) bounds the stop
            assert await service.stop() == 0
    # What was only in memory is gone, and the log says how much: never silently.
    assert service.count("events were never written (store: cannot write state.sqlite3") == 1
    assert "Traceback" not in service.log

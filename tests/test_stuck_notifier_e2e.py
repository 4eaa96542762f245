"""SIGTERM while an Apprise send is stuck, under a real ``alert-bridge run`` (issue #12, 2).

The notifier's server (tests/trickle.py) reads the request and trickles its answer one
byte every 0.5 s: each byte comes well within Apprise's socket timeouts, so the send
never ends by itself. A SIGTERM must still end the process, exit 0, within about
``shutdown_grace``; the job stays in the outbox and the next start delivers it (same id).
"""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import BRIDGE, VenueWorld
from tests.service_helpers import EXE, run_service
from tests.trickle import Trickle

pytestmark = pytest.mark.anyio

CONFIG = (
    BRIDGE
    + """shutdown_grace = "1s"
log_level = "debug"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[notifiers.desk]
urls = ["json://127.0.0.1:{notifier}/alerts"]
timeout = "60s"  # longer than the test: the send is in flight when SIGTERM comes

[[rules]]
name = "every fill"
on = "fill"
notify = ["desk"]
"""
)

GRACE = 1.0
# Generous for a loaded machine, far below what a stuck send used to cost (it kept the
# process alive until the trickle ended: 60 s here, and as long as the server likes).
EXIT_BOUND = GRACE + 4.0


class World(VenueWorld[GateSpotFake]):
    async def subscribed(self) -> None:
        connection = await self.fake.wait_for_connections(1)
        await self.fake.changes.wait_for(
            lambda: self.fake.subscribed("spot.usertrades", connection)
        )


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with GateSpotFake() as fake, World.start(fake, tmp_path) as world:
        yield world


async def pending_jobs(config: Path) -> list[list[str]]:
    """``alert-bridge outbox list``: each pending job's columns (ID, DESTINATION, ...)."""
    listing = await anyio.run_process([EXE, "outbox", "list", "-c", str(config)])
    *table, _count = listing.stdout.decode().splitlines()
    return [line.split() for line in table[1:]]


async def test_sigterm_ends_a_stuck_send_in_time_and_the_next_start_delivers_it(
    world: World,
) -> None:
    trickle = Trickle()
    async with anyio.create_task_group() as tg:
        await tg.start(trickle.serve)
        config = world.write_config(CONFIG, url=world.fake.url, notifier=trickle.port)
        async with run_service(config) as service:  # asserts exit code 0
            await world.subscribed()
            await world.fake.update("spot.usertrades", [usertrade(1, amount="1")])
            await trickle.changes.wait_for(lambda: trickle.requests == 1, 15)
            started = time.monotonic()
            service.process.send_signal(signal.SIGTERM)
            with anyio.fail_after(30):
                await service.process.wait()
            took = time.monotonic() - started
        tg.cancel_scope.cancel()
    print(f"SIGTERM to exit with a stuck notifier: {took:.2f}s (shutdown_grace {GRACE:g}s)")
    assert took < EXIT_BOUND, f"{took:.1f}s from SIGTERM to exit:\n{service.log}"
    assert "Traceback" not in service.log
    assert "the Apprise send of " in service.log  # said why it did not wait
    assert "exiting without waiting" not in service.log  # no thread was left to the guard

    jobs = await pending_jobs(config)
    # the job stayed, and its cut-off attempt was not counted
    assert [job[1:6] for job in jobs] == [["desk", "every", "fill", "fill", "0"]], jobs
    job_id = jobs[0][0]

    # The next start, with a notifier that answers: the same job is delivered, once.
    config = world.write_config(CONFIG, url=world.fake.url, notifier=world.sink.port)
    async with run_service(config) as service:
        await world.received(sink=1)
        await service.wait_for_log(f"delivered {job_id} ")
    assert len(world.messages()) == 1
    assert await pending_jobs(config) == []


STRAY = """
import logging, threading
from bridge.runtime.runner import leave_stray_threads

logging.basicConfig(format="%(levelname)s %(message)s")
stuck = threading.Thread(target=threading.Event().wait, name="stuck-library-thread")
stuck.start()  # not a daemon: the interpreter would wait for it at exit, forever
leave_stray_threads(0.2)
print("still here")
"""


async def test_a_stray_thread_cannot_keep_the_stopped_service_alive() -> None:
    """The guard ``run`` ends with: whatever else a library left running, the exit is 0."""
    with anyio.fail_after(20):
        result = await anyio.run_process([sys.executable, "-c", STRAY], check=False)
    assert result.returncode == 0
    assert result.stdout == b""  # it left at once
    assert result.stderr.decode() == (
        "WARNING exiting without waiting for 1 thread still running after the service "
        "stopped: stuck-library-thread\n"
    )

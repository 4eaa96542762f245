"""Wall-clock steps never stretch a schedule (issue #12, item 3).

The service runs under libfaketime (Debian's ``faketime`` package, installed by ``make
test``), which moves what the process reads as the wall clock whenever the test rewrites
a file, while the monotonic clock stays real. A retry due 3 s after a failed attempt
must come about 3 s later even when the wall clock steps back an hour in between, in a
running service and across a restart.
"""

from __future__ import annotations

import glob
import os
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.e2e_helpers import BRIDGE, GateWorld
from tests.receivers import Receiver, Reply, script
from tests.service_helpers import WEBHOOK_SECRET, run_service

pytestmark = pytest.mark.anyio

LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
if not LIBFAKETIME:
    pytest.skip(
        "libfaketime is not installed (Debian package faketime; `make test` installs it)",
        allow_module_level=True,
    )

CONFIG = (
    BRIDGE
    + """
[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[webhooks.ops]
url = "{hook}"
secret = "{webhook_secret}"
retry = ["3s"]

[[rules]]
name = "large fill"
on = "fill"
notify = ["ops"]
where = {{ notional = {{ gte = "10000" }} }}
"""
)
RETRY_LOGGED = "failed: HTTP 503; attempt 1 of 8"
# The retry is due 3 s (±20 % jitter) after the failed attempt; with the wall clock's
# hour counted it would be due in 3,603 s. Anything under a minute tells them apart.
WITHIN = 30


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GateWorld]:
    async with GateSpotFake() as fake, GateWorld.start(fake, tmp_path) as world:
        # The first attempt fails (without Retry-After, so the retry schedule decides).
        world.hook = Receiver([WEBHOOK_SECRET], script(Reply(503), Reply(204)))
        async with anyio.create_task_group() as tg:
            await tg.start(world.hook.serve)
            yield world
            tg.cancel_scope.cancel()


def faketime(control: Path, offset: str) -> dict[str, str]:
    """The environment that runs a process on a wall clock ``control`` says (``offset``
    from the real one; the test rewrites the file to step it)."""
    control.write_text(offset + "\n")
    return {
        "LD_PRELOAD": LIBFAKETIME[0],
        "FAKETIME_TIMESTAMP_FILE": str(control),
        "FAKETIME_NO_CACHE": "1",  # read the file at every clock call: steps act at once
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",  # only the wall clock steps, as with NTP
        "PATH": os.environ.get("PATH", ""),
    }


async def large_fill(world: GateWorld) -> None:
    await world.subscribed()
    await world.fake.update("spot.usertrades", [usertrade(1, amount="1", price="30000")])


async def test_a_step_back_in_a_running_service_does_not_delay_a_retry(
    world: GateWorld, tmp_path: Path
) -> None:
    control = tmp_path / "faketime"
    config = world.write_config(CONFIG, url=world.fake.url)
    async with run_service(config, env=faketime(control, "+0")) as service:
        await large_fill(world)
        await service.wait_for_log(RETRY_LOGGED)  # the retry's due time is stored
        control.write_text("-1h\n")  # the wall clock steps back an hour
        with anyio.fail_after(WITHIN):
            await world.hook.wait_until(lambda r: len(r.requests) >= 2)
    first, second = world.hook.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.status == 204
    assert 2.0 <= second.at - first.at < WITHIN


async def test_a_step_back_while_stopped_does_not_delay_a_retry(
    world: GateWorld, tmp_path: Path
) -> None:
    control = tmp_path / "faketime"
    config = world.write_config(CONFIG, url=world.fake.url)
    async with run_service(config, env=faketime(control, "+0")) as service:
        await large_fill(world)
        await service.wait_for_log(RETRY_LOGGED)
    # Stopped with the retry pending; the clock goes back an hour before the next start.
    async with run_service(config, env=faketime(control, "-1h")) as service:
        with anyio.fail_after(WITHIN):
            await world.hook.wait_until(lambda r: len(r.requests) >= 2)
        await service.wait_for_log("retry times and cooldowns moved back")
    first, second = world.hook.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.status == 204

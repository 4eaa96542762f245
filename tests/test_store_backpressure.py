"""Back-pressure from a full store to a venue's socket, with the real parts in-process.

The state file is capped (``max_page_count``: SQLite fails with SQLITE_FULL as on a full
disk) and the committer's queue is small, so its bound is reached after a few frames.
The venue's reader must then stop reading; when the idle watchdog ends the connection
meanwhile, what was read is kept, and the stream reconnects cleanly once the store can
write again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import httpx
import orjson
import pytest

from bridge.config import parse_config
from bridge.delivery import Committer
from bridge.plugins import plugin_host
from bridge.rules import RuleEngine
from bridge.runtime.backoff import ReconnectPolicy
from bridge.runtime.pipeline import Pipeline
from bridge.runtime.supervisor import StreamStatus, Supervisor
from bridge.store import Job, Store
from bridge.testing.gate import GateSpotFake, usertrade
from bridge.venue import StateMap
from tests.test_store_full import cap_pages

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
http = ""

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{url}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)
idle_timeout = "500ms"

[webhooks.ops]
url = "http://127.0.0.1:9/hook"
secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""

BOUND = 5  # events the committer holds before the pipeline waits
PUSHED = 40


async def until(status: StreamStatus, condition: Callable[[StreamStatus], bool]) -> None:
    with anyio.fail_after(10):
        while not condition(status):
            await status.changed.wait()


@pytest.fixture
async def fake() -> AsyncIterator[GateSpotFake]:
    async with GateSpotFake() as fake:
        yield fake


async def test_a_full_store_stops_the_reader_and_a_reconnect_meanwhile_is_clean(
    tmp_path: Path, fake: GateSpotFake
) -> None:
    text = CONFIG.format(state=tmp_path / "state", url=fake.url)
    config = parse_config(text, environ={}, venue_plugins=plugin_host().venues)
    settings = config.venues["gate-main"]
    venue = plugin_host().venues[settings.plugin](settings.name, settings.options)
    store = Store.open(config.bridge.state_dir)
    fills: list[int] = []  # trade ids of the fills whose jobs were committed, in order
    last_committed = anyio.Event()

    def on_jobs(jobs: list[Job]) -> None:
        for job in jobs:
            fills.append(int(orjson.loads(job.body)["data"]["trade_id"]))
        if PUSHED + 1 in fills:
            last_committed.set()

    try:
        engine = RuleEngine(config.rules)
        committer = Committer(store, max_pending=BOUND, on_jobs=on_jobs)
        pipeline = Pipeline(engine, committer)
        async with httpx.AsyncClient() as http, anyio.create_task_group() as tg:
            supervisor = Supervisor(
                venue,
                "main",
                sink=pipeline.process,
                http=http,
                state=StateMap(),
                policy=ReconnectPolicy(base=0.02, cap=0.1, auth_delay=0.0),
            )
            status = supervisor.status
            await tg.start(committer.run)
            await tg.start(supervisor.run)
            await until(status, lambda s: s.connected)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades"))

            cap_pages(store, full=True)
            for number in range(1, PUSHED + 1):
                await fake.update("spot.usertrades", [usertrade(number, amount="1")])
            # The reader queues until the bound, then waits: the rest stays unread.
            await until(status, lambda s: s.reconnects == 1)  # the watchdog gave up on it
            assert store.health.failing and not status.connected
            read = status.frames
            assert read < PUSHED
            # Held in memory: the batch being retried (what was queued when it was taken:
            # at most the bound and one frame over it), the queue (the same), and the
            # event of the disconnect.
            assert committer.pending <= 2 * (BOUND + 1) + 1

            cap_pages(store, full=False)  # space is back
            await until(status, lambda s: s.connected and s.reconnects == 1)
            await fake.changes.wait_for(
                lambda: len(fake.connections) == 2 and fake.subscribed("spot.usertrades")
            )
            await fake.update("spot.usertrades", [usertrade(PUSHED + 1, amount="1")])
            with anyio.fail_after(10):
                await last_committed.wait()
            tg.cancel_scope.cancel()
    finally:
        store.close()
    assert not store.health.failing
    # Every fill the reader took off the socket is committed once, in order; those the
    # venue pushed while the reader waited went with the old connection (a venue that
    # cannot resend them needs reconciliation at the reconnect).
    *before, after = fills
    assert before == list(range(1, len(before) + 1))
    assert 0 < len(before) < read < PUSHED  # the other frames read: subscription acks
    assert after == PUSHED + 1

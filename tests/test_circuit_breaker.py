"""A dead destination is probed by a circuit breaker, not stormed (issue #12, item 6).

End to end through ``alert-bridge run``: a receiver that answers 503 sees about one
request per retry delay once the circuit is open, and when it answers again the backlog
arrives exactly once, oldest event first. Plus unit tests of the breaker's decisions.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from bridge.delivery.attempt import AttemptResult
from bridge.delivery.breaker import Breaker
from bridge.testing.gate import GateSpotFake, usertrade
from tests.delivery_helpers import make_config, running
from tests.e2e_helpers import GateWorld
from tests.receivers import Receiver, Reply, Request
from tests.service_helpers import WEBHOOK_SECRET, free_port, run_service

pytestmark = pytest.mark.anyio

CONFIG = """
[bridge]
state_dir = "{state}"
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
retry = ["{retry}"]
max_attempts = 1000
concurrency = {concurrency}
circuit_breaker = 3

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""
FILLS = 30
RETRY = 0.3  # seconds: the probe interval (±20 % jitter)


class Outage:
    """A receiver's answers: 503 while ``down``, then 204."""

    def __init__(self) -> None:
        self.down = True

    async def __call__(self, request: Request) -> Reply:
        return Reply(503) if self.down else Reply(204)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[GateWorld]:
    async with GateSpotFake() as fake, GateWorld.start(fake, tmp_path) as world:
        yield world


async def dead_receiver_then_recovery(world: GateWorld, concurrency: int) -> tuple[Outage, float]:
    """Run the service against a receiver that is down until it got 20 requests' worth of
    time, then comes back; returns the outage and how long it lasted (seconds)."""
    outage = Outage()
    world.hook = Receiver([WEBHOOK_SECRET], outage)
    async with anyio.create_task_group() as tg:
        await tg.start(world.hook.serve)  # listening: its URL has a port
        port = free_port()
        config = world.write_config(
            CONFIG,
            url=world.fake.url,
            retry=f"{int(RETRY * 1000)}ms",
            concurrency=concurrency,
            port=port,
        )
        async with run_service(config) as service:
            await world.subscribed()
            trades = [usertrade(n, amount="0.1") for n in range(1, FILLS + 1)]
            await world.fake.update("spot.usertrades", trades)
            await service.wait_for_log("circuit open")
            opened = time.monotonic()
            # A few probe intervals with the receiver still down.
            with anyio.fail_after(30):
                await world.hook.wait_until(lambda r: sum(q.at > opened for q in r.requests) >= 5)
            down_for = time.monotonic() - opened
            async with httpx.AsyncClient() as client:
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                metrics = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            assert ready.status_code == 200 and "circuit open: ops" in ready.text
            assert 'alert_bridge_circuit_open{destination="ops"} 1' in metrics
            outage.down = False
            with anyio.fail_after(30):
                await world.hook.wait_until(lambda r: len(r.accepted) >= FILLS)
            await service.wait_for_log("circuit closed")
        tg.cancel_scope.cancel()
    return outage, down_for


def trade_ids(requests: list[Request]) -> list[int]:
    return [int(r.payload["data"]["trade_id"]) for r in requests]


async def test_a_dead_receiver_gets_a_probe_per_retry_delay_then_the_backlog_in_order(
    world: GateWorld,
) -> None:
    _, down_for = await dead_receiver_then_recovery(world, concurrency=1)
    requests = world.hook.requests
    assert all(all(r.verified) for r in requests)
    failed = [r for r in requests if r.status == 503]
    # Before the circuit opened: 3 failures in a row. After: about one probe per RETRY
    # (jitter makes it at most 1.2 RETRY apart... at least 0.8 RETRY), never a storm:
    # without the breaker, 30 jobs retrying every 0.3 s are ~100 requests a second.
    probes = failed[3:]
    assert len(probes) <= down_for / (0.8 * RETRY) + 2
    gaps = [b.at - a.at for a, b in itertools.pairwise(probes)]
    assert min(gaps) >= 0.8 * RETRY * 0.9
    # Every fill delivered exactly once, oldest first.
    assert trade_ids(world.hook.accepted) == list(range(1, FILLS + 1))


async def test_with_four_workers_nothing_is_lost_or_repeated(world: GateWorld) -> None:
    await dead_receiver_then_recovery(world, concurrency=4)
    delivered = trade_ids(world.hook.accepted)
    assert sorted(delivered) == list(range(1, FILLS + 1))


def test_the_breaker_opens_after_the_threshold_and_closes_on_an_answer() -> None:
    rng = random.Random(1)
    breaker = Breaker("ops", threshold=3, retry=[10.0, 60.0])
    failed = AttemptResult.failure("HTTP 503")
    for job in ("a", "b"):
        assert not breaker.observe(job, failed, 100.0, rng)
    assert not breaker.open
    assert not breaker.observe("c", failed, 100.0, rng)
    assert breaker.open
    assert 108.0 <= breaker.next_probe_at <= 112.0  # the first retry delay, jittered
    assert not breaker.may_probe(105.0) and breaker.may_probe(112.0)
    breaker.probing, breaker.probe_id = True, "a"
    assert not breaker.may_probe(200.0)  # one probe at a time
    assert not breaker.observe("b", failed, 113.0, rng)  # a straggler: not the probe
    assert breaker.probing
    assert not breaker.observe("a", failed, 113.0, rng)  # the probe failed
    assert not breaker.probing and 121.0 <= breaker.next_probe_at <= 125.0
    assert breaker.observe("a", AttemptResult(ok=True), 130.0, rng)  # closed: drain
    assert not breaker.open and breaker.failures == 0


def test_a_permanent_refusal_proves_the_receiver_is_there() -> None:
    rng = random.Random(1)
    breaker = Breaker("ops", threshold=1, retry=[1.0])
    assert not breaker.observe("a", AttemptResult.failure("timeout"), 0.0, rng)
    assert breaker.open
    breaker.probe_id = "b"
    refused = AttemptResult.failure("HTTP 400 (permanent)", permanent=True)
    assert breaker.observe("b", refused, 2.0, rng)
    assert not breaker.open


def test_threshold_zero_never_opens() -> None:
    breaker = Breaker("ops", threshold=0, retry=[1.0])
    for n in range(100):
        breaker.observe(str(n), AttemptResult.failure("HTTP 503"), 0.0, random.Random(1))
    assert not breaker.open


async def test_each_url_of_a_notifier_has_a_circuit_of_its_own(tmp_path: Path) -> None:
    """A dead Slack must not hold back Telegram: only the dead URL's circuit opens."""
    healthy, dead = Receiver(), Receiver(respond=Outage())
    async with anyio.create_task_group() as tg:
        await tg.start(healthy.serve)
        await tg.start(dead.serve)
        notifier = {
            "urls": [f"json://127.0.0.1:{r.port}/alerts" for r in (healthy, dead)],
            "retry": ["1h"],  # only the breaker's probes may reach the dead URL again
            "circuit_breaker": 2,
            "concurrency": 1,
        }
        config = make_config(tmp_path, notifiers={"desk": notifier})
        with anyio.fail_after(30):
            async with running(config) as bridge:
                await bridge.commit(6)
                await healthy.wait_until(lambda r: len(r.accepted) == 6)
                await dead.wait_until(lambda r: len(r.requests) >= 2)
                circuits = {n: b.open for n, b in bridge.deliverer.circuits.items()}
        tg.cancel_scope.cancel()
    assert circuits["desk[1]"] and not circuits["desk[0]"]
    assert len(dead.requests) <= 3  # two failures opened it; at most one probe since

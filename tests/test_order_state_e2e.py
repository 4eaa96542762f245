"""Bounded per-order state through ``alert-bridge run``: Gate fake -> service -> webhooks.

Gate spot without ``spot.usertrades`` derives fills from each order's cumulative
``filled_amount``, keeping one state entry per open order. With ``order_state_max = 5``
and 20 orders that never finish, the state holds five entries, the evictions show in
``/metrics`` and the log, a live order keeps its exact fills, and a restart brings no
evicted entry back.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from bridge.store.db import FILENAME
from bridge.testing.gate import GateSpotFake
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, run_service
from tests.test_http_e2e import free_port, sample
from tests.test_order_state import gate_order

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
channels = ["spot.orders"]
order_state_max = 5

[webhooks.ops]
url = "{hook}"
secret = "{secret}"

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
"""


def order(order_id: str, filled: str, total: str) -> dict[str, Any]:
    [item] = gate_order(order_id, filled, total)["result"]
    return dict(item)


def live_fills(hook: Receiver) -> list[tuple[Decimal, Decimal]]:
    assert all(all(r.verified) for r in hook.requests)
    return sorted(
        (Decimal(d["amount"]), Decimal(d["price"]))
        for d in (r.payload["data"] for r in hook.requests)
        if d["order_id"] == "live"
    )


def state_keys(state_dir: Path) -> set[str]:
    with sqlite3.connect(state_dir / FILENAME) as conn:
        return {key for (key,) in conn.execute("SELECT key FROM venue_state")}


async def test_unfinished_orders_are_bounded_and_a_live_one_keeps_exact_fills(
    tmp_path: Path,
) -> None:
    port = free_port()
    async with GateSpotFake() as fake, anyio.create_task_group() as tg:
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)
        config = tmp_path / "config.toml"
        config.write_text(
            CONFIG.format(
                state=tmp_path / "state", port=port, url=fake.url, hook=hook.url,
                secret=WEBHOOK_SECRET,
            )
        )  # fmt: skip
        async with (
            run_service(config) as service,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            await fake.wait_for_connections(1)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.orders"))
            await fake.update("spot.orders", [order("live", "0.4", "40")])
            for n in range(20):
                await fake.update("spot.orders", [order(f"o{n}", "0.1", "10")])
                if n % 3 == 0:  # the live order is updated now and then (no new fill)
                    await fake.update("spot.orders", [order("live", "0.4", "40")])
            await fake.update("spot.orders", [order("live", "0.7", "73")])
            with anyio.fail_after(15):
                await hook.wait_until(lambda r: len(r.requests) >= 22)
            await service.wait_for_log("gate-main: dropped 1 per-order state entries")
            metrics = (await http.get("/metrics")).text
        assert live_fills(hook) == [(Decimal("0.3"), Decimal(110)), (Decimal("0.4"), Decimal(100))]
        # 21 orders tracked, 5 held: evicted least recently touched first, never "live"
        assert sample(metrics, 'alert_bridge_state_evictions_total{venue="gate-main"}') == 16
        kept = {k for k in state_keys(tmp_path / "state") if k.startswith("filled:")}
        assert kept == {"filled:live", "filled:o16", "filled:o17", "filled:o18", "filled:o19"}

        # After a restart: the same five entries, and the live order's exact next fill.
        async with run_service(config):
            await fake.wait_for_connections(2)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.orders", fake.latest))
            await fake.update("spot.orders", [order("live", "0.9", "95")])
            with anyio.fail_after(15):
                await hook.wait_until(lambda r: len(r.requests) >= 23)
        assert live_fills(hook) == [
            (Decimal("0.2"), Decimal(110)),  # (95 - 73) / 0.2
            (Decimal("0.3"), Decimal(110)),
            (Decimal("0.4"), Decimal(100)),
        ]
        after = {k for k in state_keys(tmp_path / "state") if k.startswith("filled:")}
        assert after == kept
        tg.cancel_scope.cancel()

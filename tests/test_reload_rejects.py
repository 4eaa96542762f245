"""A SIGHUP with a config that is not UTF-8, empty or cut short, against a real service.

Each is refused: the log says why, ``alert_bridge_config_last_reload_successful`` drops to
0, and the old config keeps running — the venue's one connection stays open and alerts
keep arriving. A good config afterwards is taken and sets the gauge back to 1.
"""

from __future__ import annotations

import signal
from pathlib import Path

import anyio
import httpx
import pytest

from bridge.testing.gate import GateSpotFake, usertrade
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, ServiceProcess, free_port, run_service, sample

pytestmark = pytest.mark.anyio

CONFIG = """\
[bridge]
state_dir = "{state}"
http = "127.0.0.1:{port}"
reconnect_delay = "20ms"

[webhooks.ops]
url = "{hook}"
secret = "{secret}"

[venues.gate-main]
plugin = "gateio"
api_key = "gate-key"
api_secret = "gate-secret"
url = "{venue}/ws/v4/"
reconcile = false  # no REST on loopback here (tests/test_gateio_reconcile_e2e.py has it)

[[rules]]
name = "every fill"
on = "fill"
notify = ["ops"]
title = "{{venue}}: fill {{trade_id}}"
"""

SUCCESSFUL = "alert_bridge_config_last_reload_successful"
SUCCESS_TIME = "alert_bridge_config_last_reload_success_timestamp_seconds"


class Scene:
    """The service, its venue and its webhook receiver, with the steps the test repeats."""

    def __init__(
        self, service: ServiceProcess, fake: GateSpotFake, hook: Receiver, http: httpx.AsyncClient
    ) -> None:
        self.service, self.fake, self.hook, self.http = service, fake, hook, http
        self.trades = 0

    async def metric(self, name: str) -> float:
        response = await self.http.get("/metrics")
        assert response.status_code == 200, response.text
        return sample(response.text, name)

    async def reload(self, expect: str) -> None:
        count = self.service.count(expect)
        self.service.process.send_signal(signal.SIGHUP)
        await self.service.wait_for_log(expect, count + 1)

    async def alert_arrives(self) -> None:
        """A new fill on the venue reaches the webhook: the old config still runs."""
        self.trades += 1
        await self.fake.update("spot.usertrades", [usertrade(self.trades)])
        with anyio.fail_after(15):
            await self.hook.wait_until(lambda r: len(r.requests) >= self.trades)
        assert self.hook.requests[-1].payload["data"]["trade_id"] == str(self.trades)


async def test_a_reload_with_a_broken_file_is_refused_and_nothing_stops(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    port = free_port()
    async with GateSpotFake() as fake, anyio.create_task_group() as tg:
        hook = Receiver([WEBHOOK_SECRET])
        await tg.start(hook.serve)
        good = CONFIG.format(
            state=tmp_path / "state",
            port=port,
            hook=hook.url,
            secret=WEBHOOK_SECRET,
            venue=fake.url,
        )
        path.write_text(good)
        async with (
            run_service(path) as service,
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http,
        ):
            scene = Scene(service, fake, hook, http)
            connection = await fake.wait_for_connections(1)
            await fake.changes.wait_for(lambda: fake.subscribed("spot.usertrades", connection))
            await service.wait_for_log("running: 1 venues")
            assert await scene.metric(SUCCESSFUL) == 1  # the start is a successful load
            started = await scene.metric(SUCCESS_TIME)
            assert started > 1_700_000_000
            await scene.alert_arrives()

            # Saved in Latin-1 by an editor: today this killed the service outright.
            path.write_bytes(
                good.replace("fill {trade_id}", "fill n° {trade_id}").encode("latin-1")
            )
            await scene.reload("reload rejected")
            assert "line 21: byte 0xb0 is not UTF-8" in service.log
            assert await scene.metric(SUCCESSFUL) == 0
            await scene.alert_arrives()

            # Emptied (a failed copy, a full disk): would have stopped every venue.
            path.write_text("")
            await scene.reload("reload rejected")
            assert f"{path} is invalid (1 problem):" in service.log
            assert "no settings at all (an empty or truncated file?)" in service.log
            await scene.alert_arrives()

            # Cut off before the venues: valid TOML, with no venue and no rule left.
            path.write_text(good[: good.index("[venues.")])
            await scene.reload("reload rejected")
            assert f"{path} is invalid (2 problems):" in service.log
            assert "venues: none configured" in service.log
            assert "rules: none configured" in service.log
            assert await scene.metric(SUCCESSFUL) == 0
            assert await scene.metric(SUCCESS_TIME) == started  # still the start's config
            await scene.alert_arrives()

            # Through all of it the venue kept its one stream.
            assert fake.connections == [connection] and fake.open_connections == [connection]
            assert service.count("reload: stopping venue") == 0

            path.write_text(good.replace("every fill", "each fill"))
            await scene.reload("reloaded: 1 venues")
            assert await scene.metric(SUCCESSFUL) == 1
            assert await scene.metric(SUCCESS_TIME) > started
            await scene.alert_arrives()
            assert service.process.returncode is None
        tg.cancel_scope.cancel()
    assert [r.payload["data"]["rule"] for r in hook.requests] == ["every fill"] * 4 + ["each fill"]

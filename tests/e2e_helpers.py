"""What the venue end-to-end tests share: a fake venue, the service's two destinations, and
the config's common part.

The service under test posts signed webhooks to ``hook`` (each verified with
standardwebhooks, see ``tests/receivers.py``) and Apprise's ``json://`` notifications to
``sink``. A test file subclasses ``VenueWorld`` with its fake's type and adds only what its
venue needs; its config template starts with ``BRIDGE`` and names the destinations with the
placeholders ``VenueWorld.write_config`` fills in.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import anyio

from bridge.testing.gate import GateSpotFake
from tests.receivers import Receiver
from tests.service_helpers import WEBHOOK_SECRET, write_config

# Reconnects and auth retries at test speed: a test that drops the venue's connection or
# fixes its credentials would otherwise wait out production back-offs.
BRIDGE = """
[bridge]
state_dir = "{state}"
http = ""
reconnect_delay = "20ms"
reconnect_max_delay = "200ms"
auth_retry_delay = "0s"
"""

Fake = TypeVar("Fake")
WorldT = TypeVar("WorldT", bound="VenueWorld[Any]")


@dataclass
class VenueWorld(Generic[Fake]):
    """A fake venue, the receivers the service delivers to, and where its config goes."""

    fake: Fake
    hook: Receiver  # the signed webhook destination
    sink: Receiver  # Apprise's json:// notifier posts here
    config: Path

    @classmethod
    @asynccontextmanager
    async def start(cls: type[WorldT], fake: Fake, tmp_path: Path) -> AsyncIterator[WorldT]:
        """Both receivers listening around ``fake`` until the block ends."""
        async with anyio.create_task_group() as tg:
            hook, sink = Receiver([WEBHOOK_SECRET]), Receiver()
            await tg.start(hook.serve)
            await tg.start(sink.serve)
            yield cls(fake, hook, sink, tmp_path / "config.toml")
            tg.cancel_scope.cancel()

    @property
    def state(self) -> Path:
        return self.config.parent / "state"

    def write_config(self, template: str, **values: object) -> Path:
        """Write ``template`` as the config; ``{state}``, ``{sink}``, ``{hook}`` and
        ``{webhook_secret}`` are filled in here, the venue's own ``values`` with them."""
        return write_config(
            self.config,
            template,
            state=self.state,
            sink=self.sink.port,
            hook=self.hook.url,
            webhook_secret=WEBHOOK_SECRET,
            **values,
        )

    def webhooks(self) -> list[dict[str, Any]]:
        """Webhook payloads (``type`` and ``data``), in arrival order; all must verify."""
        assert all(all(r.verified) for r in self.hook.requests), "unverified webhook"
        return [r.payload for r in self.hook.requests]

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        """Verified webhook payloads of one event kind, in arrival order."""
        return [w["data"] for w in self.webhooks() if w["type"] == kind]

    def messages(self) -> list[dict[str, Any]]:
        """Apprise notifications (title, message, type), in arrival order."""
        return [json.loads(r.body) for r in self.sink.requests]

    async def received(self, hook: int = 0, sink: int = 0) -> None:
        """Wait until at least ``hook`` webhooks and ``sink`` notifications arrived (15 s at
        most for both together; wait twice for a time limit each)."""
        with anyio.fail_after(15):
            await self.hook.wait_until(lambda r: len(r.requests) >= hook)
            await self.sink.wait_until(lambda r: len(r.requests) >= sink)


class GateWorld(VenueWorld[GateSpotFake]):
    """The Gate.io spot fake as the venue: for tests about the service, not the venue."""

    async def subscribed(self) -> None:
        """Wait until the first connection holds its ``spot.usertrades`` subscription."""
        connection = await self.fake.wait_for_connections(1)
        await self.fake.changes.wait_for(
            lambda: self.fake.subscribed("spot.usertrades", connection)
        )

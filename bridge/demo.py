"""``alert-bridge demo``: the real pipeline against a simulated Gate.io venue, on loopback.

Everything runs in this process and on 127.0.0.1: the Gate.io fake (which checks
signatures like the real venue), a webhook receiver that verifies every delivery with the
``standardwebhooks`` library, and an HTTP sink for Apprise's ``json://`` notifier.
"""

from __future__ import annotations

import tempfile
from typing import Any, TextIO

import anyio

from bridge.config import parse_config
from bridge.logs import setup_logging
from bridge.runtime.service import Running, Service
from bridge.testing.gate import GateSpotFake, balance, usertrade
from bridge.testing.waiting import Changes
from bridge.testing.webhooks import AppriseSink, WebhookReceiver

SECRET = "whsec_ZGVtby1zZWNyZXQtZm9yLXRoZS1kZW1vLW9ubHk="  # noqa: S105 - a public demo value
STEP_TIMEOUT = 15.0

CONFIG = """
[bridge]
state_dir = "{state_dir}"
http = ""
reconnect_delay = "200ms"

[venues.gate-demo]
plugin = "gateio"
api_key = "demo-key"
api_secret = "demo-secret"
url = "{venue_url}/ws/v4/"
reconcile = false  # the simulated venue has no REST API

[notifiers.desk]
urls = ["{apprise_url}"]

[webhooks.ops]
url = "{hook_url}"
secret = "{secret}"

[[rules]]
name = "large fill"
on = "fill"
notify = ["desk", "ops"]
title = "{{venue}}: {{side}} {{amount}} {{base}} @ {{price}}"
body = "notional {{notional}} {{quote}} ({{symbol}}, order {{order_id}})"
where = {{ notional = {{ gte = "10000" }} }}

[[rules]]
name = "USDT running low"
on = "balance"
where = {{ asset = "USDT" }}
threshold = {{ field = "total", below = "5000", rearm = "5500" }}
notify = ["desk", "ops"]
severity = "warning"
title = "{{venue}}: USDT balance low"
body = "total {{total}} USDT (change {{change}} by {{change_type}})"

[[rules]]
name = "venue reconnected"
on = "connection"
where = {{ state = "connected", reason = {{ matches = "^reconnected" }} }}
notify = ["desk"]
severity = "success"
title = "{{venue}} is back"
body = "reconnected after {{down_seconds}}s"
"""


class Demo:
    """The scripted scenario and its running tally."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.expected_webhooks = 0
        self.expected_messages = 0
        self.shown_webhooks = 0
        self.shown_messages = 0
        self.changes = Changes()  # arrivals at either receiver, and what was printed

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    async def run(self, forever: bool) -> int:
        with tempfile.TemporaryDirectory(prefix="alert-bridge-demo-") as state_dir:
            async with (
                GateSpotFake("demo-key", "demo-secret") as fake,
                WebhookReceiver(SECRET) as hook,
                AppriseSink() as sink,
            ):
                hook.changes = sink.changes = self.changes
                config = parse_config(
                    CONFIG.format(
                        state_dir=state_dir,
                        venue_url=fake.url,
                        hook_url=hook.hook_url,
                        apprise_url=sink.apprise_url,
                        secret=SECRET,
                    ),
                    source="demo config",
                    environ={},
                )
                service = Service(config)
                async with anyio.create_task_group() as tg:
                    running: Running = await tg.start(service.run)
                    tg.start_soon(self._print_arrivals, hook, sink)
                    try:
                        await self._scenario(fake, hook, sink, running)
                    except TimeoutError:
                        self.say(f"\ndemo: a step got no alert within {STEP_TIMEOUT:g}s")
                        ok = False
                    else:
                        expected = self.expected_webhooks + self.expected_messages
                        with anyio.move_on_after(STEP_TIMEOUT):  # outcomes are recorded
                            await running.deliverer.wait_until(lambda s: s.delivered >= expected)
                        ok = self._summary(hook, sink, running)
                    if forever and ok:
                        self.say(
                            f"\n--forever: the simulated venue listens on {fake.url}; "
                            "Ctrl-C to stop."
                        )
                        await anyio.sleep_forever()
                    service.stop()
                    await service.stopped()
                    tg.cancel_scope.cancel()
        return 0 if ok else 1

    async def _subscribed(self, fake: GateSpotFake, connections: int) -> None:
        connection = await fake.wait_for_connections(connections, STEP_TIMEOUT)
        await fake.changes.wait_for(
            lambda: (
                fake.subscribed("spot.usertrades", connection)
                and fake.subscribed("spot.balances", connection)
            ),
            STEP_TIMEOUT,
        )

    async def _expect(
        self, hook: WebhookReceiver, sink: AppriseSink, webhooks: int, messages: int
    ) -> None:
        self.expected_webhooks += webhooks
        self.expected_messages += messages
        await self.changes.wait_for(
            lambda: (
                self.shown_webhooks >= self.expected_webhooks
                and self.shown_messages >= self.expected_messages
            ),
            STEP_TIMEOUT,
        )

    async def _scenario(
        self, fake: GateSpotFake, hook: WebhookReceiver, sink: AppriseSink, running: Running
    ) -> None:
        self.say("alert-bridge demo: a simulated Gate.io venue, the real pipeline, local sinks\n")
        self.say("1. connecting with signed subscribes...")
        await self._subscribed(fake, 1)
        self.say("   subscribed to spot.usertrades, spot.orders, spot.balances\n")
        self.say("2. a large fill (trade 1001): buy 0.5 BTC @ 30000 (rule: notional >= 10000)")
        big = usertrade(1001, amount="0.5", price="30000")
        await fake.update("spot.usertrades", [big])
        await self._expect(hook, sink, webhooks=1, messages=1)
        self.say("3. a small fill: buy 0.01 BTC @ 30000 -> no alert expected")
        await fake.update("spot.usertrades", [usertrade(1002, amount="0.01", price="30000")])
        self.say("4. USDT balance 6200, then 4800 (rule: below 5000, re-arms at 5500)")
        await fake.update("spot.balances", [balance("USDT", "6200", change="-300")])
        await fake.update(
            "spot.balances", [balance("USDT", "4800", change="-1400", change_type="withdraw")]
        )
        await self._expect(hook, sink, webhooks=1, messages=1)
        self.say("5. the venue drops the connection -> the bridge reconnects (rule: say when back)")
        await fake.drop(1011, "demo: server restart")
        await self._subscribed(fake, 2)
        await self._expect(hook, sink, webhooks=0, messages=1)
        self.say("6. the venue re-sends trade 1001 after the reconnect -> already seen: no alert")
        await fake.update("spot.usertrades", [big])
        # The venue's frames are processed in order: once this new fill's alerts arrive,
        # the re-sent one has been through dedup, and had it alerted it would show first.
        self.say("7. then a new large fill (trade 1003): buy 1 BTC @ 30100")
        new = usertrade(1003, amount="1", price="30100", order_id="30784431")
        await fake.update("spot.usertrades", [new])
        await self._expect(hook, sink, webhooks=1, messages=1)
        duplicates = running.pipeline.duplicates
        self.say(
            "   only the new fill alerted: trade 1001 was skipped as a duplicate"
            if duplicates == 1
            else f"   MISMATCH: expected 1 duplicate event skipped, counted {duplicates}"
        )

    async def _print_arrivals(self, hook: WebhookReceiver, sink: AppriseSink) -> None:
        while True:
            await self.changes.wait_for(
                lambda: (
                    len(hook.deliveries) > self.shown_webhooks
                    or len(sink.messages) > self.shown_messages
                ),
                float("inf"),
            )
            for delivery in hook.deliveries[self.shown_webhooks :]:
                self.say("   " + _describe_webhook(delivery.verified, delivery.payload))
            for message in sink.messages[self.shown_messages :]:
                self.say(
                    f"   apprise  [{message.get('type')}] {message.get('title')}: "
                    f"{message.get('message')}"
                )
            self.shown_webhooks, self.shown_messages = len(hook.deliveries), len(sink.messages)
            self.changes.notify()

    def _summary(self, hook: WebhookReceiver, sink: AppriseSink, running: Running) -> bool:
        verified = sum(d.verified for d in hook.deliveries)
        pending, dead = running.store.counts()
        ok = (
            verified == len(hook.deliveries) == self.expected_webhooks
            and len(sink.messages) == self.expected_messages
            and dead == 0
            and running.pipeline.duplicates == 1  # the fill re-sent in step 6
        )
        self.say(
            f"\nsummary: {verified}/{len(hook.deliveries)} webhooks verified "
            f"(expected {self.expected_webhooks}), {len(sink.messages)} Apprise messages "
            f"(expected {self.expected_messages}), {_count(running.pipeline.duplicates)} "
            f"suppressed (expected 1), outbox {pending} pending / {dead} dead: "
            + ("nothing lost, nothing repeated." if ok else "MISMATCH")
        )
        return ok


def _count(duplicates: int) -> str:
    return f"{duplicates} duplicate event{'' if duplicates == 1 else 's'}"


def _describe_webhook(verified: bool, payload: Any) -> str:
    if not verified:
        return "webhook  SIGNATURE FAILED"
    data = payload["data"]
    return f"webhook  verified ({payload['type']}, rule {data['rule']!r}, event {data['id'][:8]})"


def run_demo(out: TextIO, *, forever: bool = False) -> int:
    """The ``demo`` command's body."""
    # The scenario drops a connection on purpose: the warning it logs is expected noise.
    setup_logging("error")
    return anyio.run(Demo(out).run, forever)

"""End to end: the fake feed -> ``alert-bridge run`` with this plugin -> verified webhooks."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from bridge.testing.webhooks import WebhookReceiver
from feed_support import TOKEN, RunService

from alert_bridge_jsonws.testing import JsonFeedFake

pytestmark = pytest.mark.anyio

HOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def fill(trade_id: str, qty: str, px: str = "30000") -> dict[str, Any]:
    """A fill frame of the demo feed."""
    item = {"id": trade_id, "order": "O-1", "market": "btc-usdt", "side": "B", "px": px}
    return {"type": "fill", "data": {**item, "qty": qty, "time": 1700000000000}}


@pytest.fixture
async def feed() -> AsyncIterator[JsonFeedFake]:
    async with JsonFeedFake(token=TOKEN) as fake:
        yield fake


@pytest.fixture
async def hook() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(HOOK_SECRET) as receiver:
        yield receiver


@pytest.fixture
def audit(tmp_path: Path) -> Path:
    """Where the example's ``[jsonl.audit]`` destination appends alerts."""
    return tmp_path / "audit.jsonl"


def environ(feed: JsonFeedFake, hook: WebhookReceiver, audit: Path) -> dict[str, str]:
    """What example.toml reads from the environment."""
    return {
        "AUDIT_LOG": str(audit),
        "FEED_URL": f"{feed.url}/v1/stream",
        "FEED_TOKEN": TOKEN,
        "OPS_HOOK_URL": hook.hook_url,
        "OPS_HOOK_SECRET": HOOK_SECRET,
    }


def audited(audit: Path) -> list[str]:
    """Trade ids of the fills in the audit file, in the order they were appended."""
    if not audit.exists():
        return []
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    return sorted(line["data"]["trade_id"] for line in lines if line["type"] == "fill")


def alerts(hook: WebhookReceiver, kind: str) -> list[dict[str, Any]]:
    """The ``data`` of verified webhook deliveries of ``kind``, in arrival order."""
    assert all(d.verified for d in hook.deliveries), "a webhook did not verify"
    return [d.payload["data"] for d in hook.deliveries if d.payload["type"] == kind]


async def test_a_large_fill_alerts_once_and_a_small_one_never(
    feed: JsonFeedFake, hook: WebhookReceiver, run_service: RunService, audit: Path
) -> None:
    async with run_service(environ(feed, hook, audit)) as service:
        await feed.changes.wait_for(lambda: "fills" in feed.subscribed, 15)
        assert feed.latest.request is not None
        assert feed.latest.request.headers["Authorization"] == f"Bearer {TOKEN}"
        await feed.push(fill("T-1", "0.01"))  # 300 USDT: below the rule's 10000
        await feed.push(fill("T-2", "0.5"))  # 15000 USDT
        await feed.push(fill("T-2", "0.5"))  # the venue sends it again: same id
        await feed.push(fill("T-3", "1"))  # 30000 USDT
        # Frames are handled in order: once T-3 is delivered, T-1 and the repeat were seen.
        await hook.changes.wait_for(lambda: len(hook.deliveries) >= 2, 15)
        # The same alerts also reach the plugin's own destination kind, [jsonl.audit]. A
        # file sends no notice when written: re-read it, yielding between reads.
        with anyio.fail_after(15):
            while audited(audit) != ["T-2", "T-3"]:
                await anyio.lowlevel.checkpoint()
        assert service.process.returncode is None
    fills = alerts(hook, "fill")
    assert [(f["trade_id"], f["notional"], f["rule"]) for f in fills] == [
        ("T-2", "15000", "large fill"),
        ("T-3", "30000", "large fill"),
    ]
    assert {(f["venue"], f["plugin"], f["symbol"], f["side"]) for f in fills} == {
        ("desk-feed", "jsonws", "BTC/USDT", "buy")
    }


async def test_a_rejected_token_alerts_and_a_fixed_one_recovers(
    feed: JsonFeedFake, hook: WebhookReceiver, run_service: RunService, audit: Path
) -> None:
    feed.token = "the-rotated-token"  # the config's token is no longer valid
    async with run_service(environ(feed, hook, audit)) as service:
        await hook.changes.wait_for(lambda: bool(alerts(hook, "connection")), 15)
        [down, *_] = alerts(hook, "connection")
        assert (down["state"], down["rule"]) == ("auth_failed", "feed auth failed")
        assert "HTTP 401" in down["reason"]
        assert feed.rejected and not feed.connections
        feed.token = TOKEN  # the token is valid again at the venue
        await feed.changes.wait_for(lambda: "fills" in feed.subscribed, 15)
        await feed.push(fill("T-9", "1"))
        await hook.changes.wait_for(lambda: bool(alerts(hook, "fill")), 15)
    assert [f["trade_id"] for f in alerts(hook, "fill")] == ["T-9"]
    assert TOKEN not in service.output() and "the-rotated-token" not in service.output()

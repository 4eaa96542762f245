"""``alert-bridge notify-test``: one sample alert through a destination's real send path."""

from __future__ import annotations

import time
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

import httpx

from bridge.config import Config
from bridge.delivery.attempt import AttemptResult
from bridge.delivery.destinations import build_destination, make_client
from bridge.delivery.notifier import AppriseDestination
from bridge.events import FillEvent, event_id
from bridge.logs import tame_libraries
from bridge.rules import Match, Rule, Template
from bridge.store import Job, render_jobs

_FIELDS = ("venue", "side", "amount", "base", "price", "quote", "symbol", "rule")
SAMPLE_TITLE = "alert-bridge test alert ({rule})"
SAMPLE_BODY = (
    "A sample fill on {venue}: {side} {amount} {base} @ {price} {quote} ({symbol}). "
    "Sent by `alert-bridge notify-test`; nothing happened on any venue."
)


@dataclass(frozen=True)
class ProbeReport:
    """What one test delivery did."""

    destination: str
    kind: str
    job: Job
    result: AttemptResult
    seconds: float


def sample_job(destination: str, now: float) -> Job:
    """A rendered job for a made-up fill, as the outbox would hold it."""
    ms = int(now * 1000)
    event = FillEvent(
        id=event_id("notify-test", "fill", ms),
        venue="notify-test",
        plugin="alert-bridge",
        ts=ms,
        received_at=ms,
        trade_id=str(ms),
        order_id="sample",
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        side="buy",
        role="taker",
        price=Decimal("30000"),
        amount=Decimal("0.5"),
        notional=Decimal("15000"),
        fee=Decimal("0"),
        fee_asset="USDT",
    )
    rule = Rule(
        name="notify-test",
        kinds=("fill",),
        venues=None,
        notify=(destination,),
        severity="info",
        cooldown=0.0,
        title=Template.parse(SAMPLE_TITLE, _FIELDS),
        body=Template.parse(SAMPLE_BODY, _FIELDS),
        threshold=None,
        enabled=True,
        predicate=lambda _event: True,
    )
    (job,) = render_jobs(Match(rule, event), now)
    return job


async def probe(
    config: Config, name: str, *, client: httpx.AsyncClient | None = None
) -> list[ProbeReport]:
    """Send one sample alert to destination ``name`` (one attempt, no outbox, no retry).

    A notifier with several URLs gets one sample per URL, each reported on its own, as
    the service would deliver them.
    """
    tame_libraries()
    reports = []
    # A borrowed client is left open: its owner closes it.
    async with make_client() if client is None else nullcontext(client) as http:
        destination = build_destination(config, name, http)
        fanout = destination.fanout if isinstance(destination, AppriseDestination) else ()
        for target in fanout or (name,):
            job = sample_job(target, time.time())
            started = time.perf_counter()
            result = await destination.send(job)
            seconds = time.perf_counter() - started
            reports.append(ProbeReport(target, destination.kind, job, result, seconds))
    return reports

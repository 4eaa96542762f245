"""Building blocks for the store and delivery tests, and a child process for crash tests.

Run as a script (``python tests/delivery_helpers.py CONFIG COUNT``) it commits COUNT
events through the real committer, printing ``committed <event id>`` once each is
durable, while a deliverer works the outbox; the crash test kills it with SIGKILL.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio

from bridge.config import Config, load_config, parse_config
from bridge.delivery import Committer, Deliverer
from bridge.events import FillEvent, event_id
from bridge.rules import RuleEngine
from bridge.store import CommitItem, Job, Outcome, Store

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OTHER_SECRET = "whsec_dGhlIG90aGVyIHNlY3JldCBmb3Igcm90YXRpb24="
UNRELATED_SECRET = "whsec_bm90IG9uZSBvZiB0aGUgY29uZmlndXJlZCBzZWNyZXRz"


def toml_value(value: object) -> str:
    """A Python value as TOML (strings, numbers, lists, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f'"{k}" = {toml_value(v)}' for k, v in value.items()) + " }"
    raise TypeError(value)


def config_text(
    state_dir: Path,
    *,
    webhooks: dict[str, dict[str, object]] | None = None,
    notifiers: dict[str, dict[str, object]] | None = None,
    rules: list[dict[str, object]] | None = None,
) -> str:
    """A complete config: no venues, the given destinations, rules (default: all fills)."""
    parts = [f'[bridge]\nstate_dir = {toml_value(str(state_dir))}\nhttp = ""\n']
    for section, tables in (("webhooks", webhooks or {}), ("notifiers", notifiers or {})):
        for name, table in tables.items():
            body = "\n".join(f"{k} = {toml_value(v)}" for k, v in table.items())
            parts.append(f"[{section}.{name}]\n{body}\n")
    if rules is None:
        names = [*(webhooks or {}), *(notifiers or {})]
        rules = [{"name": "every fill", "on": "fill", "notify": names, "severity": "warning"}]
    for rule in rules:
        body = "\n".join(f"{k} = {toml_value(v)}" for k, v in rule.items())
        parts.append(f"[[rules]]\n{body}\n")
    return "\n".join(parts)


def make_config(state_dir: Path, **sections: object) -> Config:
    """A validated Config built by :func:`config_text`."""
    return parse_config(config_text(state_dir, **sections), venue_plugins={})  # type: ignore[arg-type]


def fill_event(number: int, venue: str = "gate-main") -> FillEvent:
    """A distinct fill event (ids differ by ``number``)."""
    return FillEvent(
        id=event_id(venue, "fill", number),
        venue=venue,
        plugin="gateio",
        ts=1_700_000_000_000 + number,
        received_at=1_700_000_000_000 + number,
        trade_id=str(number),
        order_id=f"o{number}",
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


def commit_items(engine: RuleEngine, numbers: Iterable[int]) -> list[CommitItem]:
    """Evaluate fill events ``numbers`` and package them as the pipeline would."""
    items = []
    for number in numbers:
        event = fill_event(number)
        matches = engine.evaluate(event)
        items.append(CommitItem(event, matches, engine.state.drain_changes()))
    return items


@dataclass
class Harness:
    """A store, a committer and a deliverer running together, as the service runs them."""

    config: Config
    store: Store
    committer: Committer
    deliverer: Deliverer
    engine: RuleEngine
    outcomes: list[Outcome] = field(default_factory=list)
    next_number: int = 0

    async def commit(self, count: int = 1) -> list[Job]:
        """Commit ``count`` new fill events; the jobs they made."""
        numbers = range(self.next_number, self.next_number + count)
        self.next_number += count
        jobs: list[Job] = []
        for item in commit_items(self.engine, numbers):
            jobs += await self.committer.commit(item)
        return jobs

    async def settled(self, count: int) -> None:
        """Wait until ``count`` attempts have had their outcome recorded."""
        await self.deliverer.wait_until(lambda stats: stats.attempts >= count)


@asynccontextmanager
async def running(config: Config, **options: Any) -> AsyncIterator[Harness]:
    """Run committer and deliverer on ``config``'s state dir; shut both down afterwards."""
    store = Store.open(config.bridge.state_dir)
    outcomes: list[Outcome] = []
    deliverer = Deliverer(
        store,
        config,
        on_attempt=lambda _name, _job, outcome, _seconds: outcomes.append(outcome),
        **options,
    )
    committer = Committer(store, on_jobs=deliverer.notify)
    harness = Harness(config, store, committer, deliverer, RuleEngine(config.rules), outcomes)
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(committer.run)
            await tg.start(deliverer.run)
            yield harness
            await deliverer.shutdown(0)
            committer.close()
    finally:
        store.close()


async def _child(config_path: str, count: int) -> None:
    config = load_config(config_path, venue_plugins={})
    store = Store.open(config.bridge.state_dir)
    engine = RuleEngine(config.rules, store.load_rule_state())
    deliverer = Deliverer(store, config)
    committer = Committer(store, on_jobs=deliverer.notify)
    async with anyio.create_task_group() as tg:
        await tg.start(committer.run)
        await tg.start(deliverer.run)
        for item in commit_items(engine, range(count)):
            await committer.commit(item)
            print("committed", item.event.id, flush=True)
        print("done", flush=True)
        await anyio.sleep_forever()


if __name__ == "__main__":
    anyio.run(_child, sys.argv[1], int(sys.argv[2]))

"""``alert-bridge test``: which rules an event sequence fires, and what would be sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from bridge.codec import dumps, event_to_dict
from bridge.config import Config
from bridge.events import Event
from bridge.rules import Match, NotFired, RuleEngine


@dataclass
class DryRunSummary:
    events: int = 0
    matches: int = 0
    deliveries: int = 0
    duplicates: int = 0


def webhook_body(match: Match, timestamp: str) -> dict[str, object]:
    """The JSON body a webhook destination receives for ``match`` (DESIGN §7)."""
    data = event_to_dict(match.event)
    data["rule"] = match.rule.name
    return {"type": match.event.kind, "timestamp": timestamp, "data": data}


def _describe(event: Event) -> str:
    subject = getattr(event, "symbol", None) or getattr(event, "asset", None)
    about = f", {subject}" if subject else ""
    return f"{event.kind} on {event.venue}{about} (id {event.id})"


def dry_run(config: Config, events: Iterable[tuple[object, Event]], out: TextIO) -> DryRunSummary:
    """Evaluate ``events`` in order (thresholds and cooldowns carry across) and print."""
    engine = RuleEngine(config.rules)
    summary = DryRunSummary()
    seen: dict[str, object] = {}
    for where, event in events:
        summary.events += 1
        if event.id in seen:  # as the service does: the same fact never alerts twice
            out.write(f"event {where}: duplicate of event {seen[event.id]} (same id), skipped\n")
            summary.duplicates += 1
            continue
        seen[event.id] = where
        # Cooldowns run on the events' own clock, so a recorded sequence replays faithfully.
        # Rules that held but did not fire are told apart from rules that did not match.
        not_fired: list[NotFired] = []
        matches = engine.evaluate(event, now=event.ts / 1000, not_fired=not_fired)
        out.write(f"event {where}: {_describe(event)}\n")
        if not matches and not not_fired:
            out.write("  no rule matched\n")
        for match in matches:
            summary.matches += 1
            rule = match.rule
            out.write(f'  rule "{rule.name}" [{rule.severity}] -> {", ".join(rule.notify)}\n')
            for name in rule.notify:
                summary.deliveries += 1
                if name in config.webhooks:
                    body = dumps(webhook_body(match, "<time of delivery>")).decode()
                    out.write(f"    {name} (webhook): {body}\n")
                else:
                    out.write(f"    {name} (notifier): {match.title}\n")
                    for line in match.body.splitlines() or [""]:
                        out.write(f"      {line}\n")
        for held in not_fired:
            out.write(f'  rule "{held.rule.name}": {held.describe()}\n')
    out.write(
        f"{summary.events} events, {summary.matches} rule matches, "
        f"{summary.deliveries} deliveries (dry run: nothing was sent)\n"
    )
    return summary

"""``alert-bridge test``: which rules an event sequence fires, and what would be sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TextIO

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
    matched_rules: set[str] = field(default_factory=set)  # for `test --expect`


def webhook_body(match: Match, timestamp: str) -> dict[str, object]:
    """The JSON body a webhook destination receives for ``match`` (DESIGN §7)."""
    data = event_to_dict(match.event)
    data["rule"] = match.rule.name
    return {"type": match.event.kind, "timestamp": timestamp, "data": data}


def _describe(event: Event) -> str:
    subject = getattr(event, "symbol", None) or getattr(event, "asset", None)
    about = f", {subject}" if subject else ""
    return f"{event.kind} on {event.venue}{about} (id {event.id})"


def dry_run(
    config: Config,
    events: Iterable[tuple[object, Event]],
    out: TextIO,
    *,
    as_json: bool = False,
) -> DryRunSummary:
    """Evaluate ``events`` in order (thresholds and cooldowns carry across) and print,
    as text for a person or (``as_json``) one JSON document (docs/rules.md)."""
    engine = RuleEngine(config.rules)
    summary = DryRunSummary()
    seen: dict[str, object] = {}
    results: list[dict[str, Any]] = []
    for where, event in events:
        summary.events += 1
        if event.id in seen:  # as the service does: the same fact never alerts twice
            results.append(
                {"event": where, "id": event.id, "kind": event.kind, "duplicate_of": seen[event.id]}
            )
            if not as_json:
                out.write(
                    f"event {where}: duplicate of event {seen[event.id]} (same id), skipped\n"
                )
            summary.duplicates += 1
            continue
        seen[event.id] = where
        # Cooldowns run on the events' own clock, so a recorded sequence replays faithfully.
        # Rules that held but did not fire are told apart from rules that did not match.
        not_fired: list[NotFired] = []
        matches = engine.evaluate(event, now=event.ts / 1000, not_fired=not_fired)
        result: dict[str, Any] = {
            "event": where,
            "id": event.id,
            "kind": event.kind,
            "venue": event.venue,
            "matched": [],
            "suppressed": [
                {"rule": held.rule.name, "reason": held.reason.value, "detail": held.describe()}
                for held in not_fired
            ],
        }
        results.append(result)
        if not as_json:
            out.write(f"event {where}: {_describe(event)}\n")
            if not matches and not not_fired:
                out.write("  no rule matched\n")
        for match in matches:
            summary.matches += 1
            summary.matched_rules.add(match.rule.name)
            result["matched"].append(_match_result(config, match))
            summary.deliveries += len(match.rule.notify)
            if not as_json:
                _write_match(config, match, out)
        if not as_json:
            for held in not_fired:
                out.write(f'  rule "{held.rule.name}": {held.describe()}\n')
    if as_json:
        document = {
            "events": summary.events,
            "matches": summary.matches,
            "deliveries": summary.deliveries,
            "duplicates": summary.duplicates,
            "results": results,
        }
        out.write(dumps(document).decode() + "\n")
    else:
        out.write(
            f"{summary.events} events, {summary.matches} rule matches, "
            f"{summary.deliveries} deliveries (dry run: nothing was sent)\n"
        )
    return summary


def _match_result(config: Config, match: Match) -> dict[str, Any]:
    """What one match would send, per destination (JSON form)."""
    rule = match.rule
    sends: list[dict[str, Any]] = []
    for name in rule.notify:
        if name in config.webhooks:
            sends.append(
                {
                    "destination": name,
                    "kind": "webhook",
                    "body": webhook_body(match, "<time of delivery>"),
                }
            )
        else:
            sends.append(
                {"destination": name, "kind": "notifier", "title": match.title, "body": match.body}
            )
    return {"rule": rule.name, "severity": rule.severity, "deliveries": sends}


def _write_match(config: Config, match: Match, out: TextIO) -> None:
    rule = match.rule
    out.write(f'  rule "{rule.name}" [{rule.severity}] -> {", ".join(rule.notify)}\n')
    for name in rule.notify:
        if name in config.webhooks:
            body = dumps(webhook_body(match, "<time of delivery>")).decode()
            out.write(f"    {name} (webhook): {body}\n")
        else:
            out.write(f"    {name} (notifier): {match.title}\n")
            for line in match.body.splitlines() or [""]:
                out.write(f"      {line}\n")

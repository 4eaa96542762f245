"""A compiled rule and what a match carries."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from bridge.events import Event
from bridge.rules.conditions import Predicate
from bridge.rules.templates import Template

SEVERITIES = ("info", "success", "warning", "failure")  # Apprise notify types

# Which field names a rule's state key: "per rule and key (venue + symbol/asset)".
SUBJECT_FIELDS = {"order": "symbol", "fill": "symbol", "balance": "asset", "deposit": "asset"}


@dataclass(frozen=True)
class Threshold:
    """Fire once when ``field`` crosses ``level``; re-arm once it reaches ``rearm``.

    For ``below``: fires when value < level, re-arms when value >= rearm.
    For ``above``: fires when value > level, re-arms when value <= rearm.
    ``rearm`` defaults to ``level``.
    """

    field: str
    direction: str  # "below" or "above"
    level: Decimal
    rearm: Decimal

    def crossed(self, value: Decimal) -> bool:
        return value < self.level if self.direction == "below" else value > self.level

    def rearmed(self, value: Decimal) -> bool:
        return value >= self.rearm if self.direction == "below" else value <= self.rearm


@dataclass(frozen=True, eq=False)
class Rule:
    """A rule compiled from config: a predicate plus its stateful parts and templates."""

    name: str
    kinds: tuple[str, ...]
    venues: frozenset[str] | None  # None: every venue
    notify: tuple[str, ...]
    severity: str
    cooldown: float
    title: Template
    body: Template
    threshold: Threshold | None
    enabled: bool
    predicate: Predicate
    where: tuple[tuple[str, str, Any], ...] = ()  # (field, operator, value) as compiled

    def applies_to(self, kind: str, venue: str) -> bool:
        return self.enabled and kind in self.kinds and (self.venues is None or venue in self.venues)


@dataclass(frozen=True)
class Match:
    """A rule that matched an event; renders the rule's templates against it."""

    rule: Rule
    event: Event

    def lookup(self, name: str) -> Any:
        if name == "rule":
            return self.rule.name
        if name == "severity" and not hasattr(self.event, "severity"):
            return self.rule.severity
        return getattr(self.event, name, None)

    @property
    def title(self) -> str:
        return self.rule.title.render(self.lookup)

    @property
    def body(self) -> str:
        return self.rule.body.render(self.lookup)

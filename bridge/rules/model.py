"""A compiled rule and what a match carries."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone
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


class Reason(enum.Enum):
    """Why a rule whose ``where`` held did not fire."""

    COOLDOWN = "cooldown"  # it fired for this key less than `cooldown` ago
    ALREADY_FIRED = "already fired"  # its threshold fired and has not re-armed yet
    REARMED = "re-armed"  # this event re-armed the threshold (it fires on the next crossing)
    NOT_CROSSED = "not crossed"  # the threshold field is on the quiet side of the level
    NO_VALUE = "no value"  # the threshold field is missing or not a number


@dataclass(frozen=True)
class NotFired:
    """A rule whose ``where`` held for an event but that did not fire: the engine's reason."""

    rule: Rule
    event: Event
    reason: Reason
    value: Decimal | None = None  # the threshold field's value in this event
    last_fired: float | None = None  # cooldown: when this rule last fired for the key

    def describe(self) -> str:
        """One line for a person, e.g. ``matched, suppressed by cooldown 30m (...)``."""
        if self.reason is Reason.COOLDOWN:
            assert self.last_fired is not None
            cooldown = self.rule.cooldown
            return (
                f"matched, suppressed by cooldown {_duration(cooldown)} (last alert "
                f"{_time(self.last_fired)}; quiet until {_time(self.last_fired + cooldown)})"
            )
        threshold = self.rule.threshold
        assert threshold is not None
        name = threshold.field
        if self.reason is Reason.NO_VALUE:
            return f"condition held, but {name} is missing or not a number: threshold not checked"
        # Numbers as templates show them: never with an exponent.
        level, rearm, value = f"{threshold.level:f}", f"{threshold.rearm:f}", f"{self.value:f}"
        fires = f"{name} {'<' if threshold.direction == 'below' else '>'} {level}"
        rearms = f"{'>=' if threshold.direction == 'below' else '<='} {rearm}"
        if self.reason is Reason.ALREADY_FIRED:
            return (
                f"condition held but threshold already fired ({name} {value}); "
                f"re-arms once {name} {rearms}"
            )
        if self.reason is Reason.REARMED:
            return (
                f"condition held; threshold re-armed ({name} {value} {rearms}): "
                f"fires again once {fires}"
            )
        return f"condition held; threshold not crossed ({name} {value}; fires once {fires})"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def _time(seconds: float) -> str:
    """UTC, to the second unless the instant has a fraction (sub-second cooldowns)."""
    spec = "seconds" if seconds == int(seconds) else "milliseconds"
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")

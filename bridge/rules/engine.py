"""Evaluating events against compiled rules, with threshold and cooldown memory."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from decimal import Decimal

from bridge.events import Event
from bridge.rules.model import SUBJECT_FIELDS, Match, NotFired, Reason, Rule
from bridge.rules.state import RuleState, StateKey

Clock = Callable[[], float]


class RuleEngine:
    """Matches events against rules. Not thread-safe: one engine per pipeline."""

    def __init__(
        self,
        rules: Sequence[Rule],
        state: RuleState | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.rules = tuple(rules)
        self.state = state if state is not None else RuleState()
        self.clock = clock
        # (kind, venue) -> the rules to try, built on first sight of the pair.
        self._index: dict[tuple[str, str], tuple[Rule, ...]] = {}

    def rules_for(self, kind: str, venue: str) -> tuple[Rule, ...]:
        key = (kind, venue)
        found = self._index.get(key)
        if found is None:
            found = tuple(r for r in self.rules if r.applies_to(kind, venue))
            self._index[key] = found
        return found

    def evaluate(
        self, event: Event, now: float | None = None, not_fired: list[NotFired] | None = None
    ) -> list[Match]:
        """The rules this event fires, in config order; updates threshold/cooldown state.

        ``not_fired``, if given, receives each rule whose ``where`` held but that did not
        fire, with the reason this very decision made (``alert-bridge test`` shows them).
        It is looked at only on those branches: the common path pays nothing for it.
        """
        candidates = self._index.get((event.kind, event.venue))
        if candidates is None:
            candidates = self.rules_for(event.kind, event.venue)
        matches: list[Match] = []
        for rule in candidates:
            if not rule.predicate(event):
                continue
            if rule.threshold is None and not rule.cooldown:
                matches.append(Match(rule, event))
                continue
            key = self._key(rule, event)
            if rule.threshold is not None and not self._threshold_fires(
                rule, event, key, not_fired
            ):
                continue
            if rule.cooldown:
                at = self.clock() if now is None else now
                last = self.state.last_fired.get(key)
                if last is not None and at - last < rule.cooldown:
                    if not_fired is not None:
                        not_fired.append(NotFired(rule, event, Reason.COOLDOWN, last_fired=last))
                    continue
                self.state.fired(key, at)
            matches.append(Match(rule, event))
        return matches

    def _threshold_fires(
        self, rule: Rule, event: Event, key: StateKey, not_fired: list[NotFired] | None
    ) -> bool:
        threshold = rule.threshold
        assert threshold is not None
        value = getattr(event, threshold.field, None)
        if isinstance(value, int) and not isinstance(value, bool):
            value = Decimal(value)
        if not isinstance(value, Decimal) or not value.is_finite():
            if not_fired is not None:
                not_fired.append(NotFired(rule, event, Reason.NO_VALUE))
            return False
        if key in self.state.tripped:
            if threshold.rearmed(value):
                self.state.rearm(key)
                reason = Reason.REARMED
            else:
                reason = Reason.ALREADY_FIRED
            if not_fired is not None:
                not_fired.append(NotFired(rule, event, reason, value=value))
            return False
        if threshold.crossed(value):
            self.state.trip(key)
            return True
        if not_fired is not None:
            not_fired.append(NotFired(rule, event, Reason.NOT_CROSSED, value=value))
        return False

    @staticmethod
    def _key(rule: Rule, event: Event) -> StateKey:
        subject_field = SUBJECT_FIELDS.get(event.kind)
        subject = getattr(event, subject_field, None) if subject_field else None
        return (rule.name, event.venue, subject if isinstance(subject, str) else "")

"""Threshold and cooldown memory: a plain, serializable structure.

Keys are ``(rule name, venue, subject)`` where the subject is the event's symbol or
asset ("" for kinds that have neither). The store (#3) persists this state in the same
transaction as the event that changed it, using :meth:`RuleState.drain_changes`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

StateKey = tuple[str, str, str]


@dataclass
class RuleState:
    """Which thresholds have fired (and not re-armed), and when each key last fired."""

    tripped: set[StateKey] = field(default_factory=set)
    last_fired: dict[StateKey, float] = field(default_factory=dict)
    # (table, key) pairs changed since the last drain: what a store must write.
    _changed: set[tuple[str, StateKey]] = field(default_factory=set, repr=False)

    def trip(self, key: StateKey) -> None:
        self.tripped.add(key)
        self._changed.add(("tripped", key))

    def rearm(self, key: StateKey) -> None:
        self.tripped.discard(key)
        self._changed.add(("tripped", key))

    def fired(self, key: StateKey, at: float) -> None:
        self.last_fired[key] = at
        self._changed.add(("last_fired", key))

    def drain_changes(self) -> list[tuple[str, StateKey, Any]]:
        """Changes since the last call: ``(table, key, value)``; value None means deleted."""
        changes: list[tuple[str, StateKey, Any]] = []
        for table, key in self._changed:
            if table == "tripped":
                changes.append((table, key, True if key in self.tripped else None))
            else:
                changes.append((table, key, self.last_fired.get(key)))
        self._changed.clear()
        return changes

    def prune(self, before: float) -> None:
        """Forget cooldown times older than ``before`` (they can no longer suppress)."""
        for key in [k for k, t in self.last_fired.items() if t < before]:
            del self.last_fired[key]
            self._changed.add(("last_fired", key))

    def to_dict(self) -> dict[str, Any]:
        return {
            "tripped": sorted([list(k) for k in self.tripped]),
            "last_fired": [[*k, t] for k, t in sorted(self.last_fired.items())],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleState:
        state = cls()
        for rule, venue, subject in data.get("tripped", []):
            state.tripped.add((rule, venue, subject))
        for rule, venue, subject, at in data.get("last_fired", []):
            state.last_fired[(rule, venue, subject)] = float(at)
        return state

"""The identity checks: replays of the recorded frames must give the same ids, no new ones.

A first replay, a fresh one later, a reconnect, a restart, another account.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from bridge.events import Event
from bridge.testing.conformance.checker import RECEIVED_AT, Checker
from bridge.testing.conformance.frames import Frame, Outcome
from bridge.testing.conformance.report import ConformanceReport
from bridge.venue import StateMap

LATER = 86_400_123  # how much later the determinism replay runs (ms)


class ReplayChecks(Checker):
    """Deterministic ids, no new ids on re-pushes, other ids for another instance."""

    def replays(self, recorded: list[Frame]) -> ConformanceReport:
        """A first replay, a fresh one later, a reconnect, a restart, another account."""
        streams = [f.stream for f in recorded]
        first, state = self.make(), StateMap()
        self.open_streams(first, streams)
        outcomes = self.replay(first, state, recorded, RECEIVED_AT, self.stored, clean=True)
        events = [o.events for o in outcomes]
        flat = [e for group in events for e in group]
        if not flat:
            raise AssertionError(
                "no recorded frame yielded an event, so nothing could be checked: pass "
                "frames your venue turns into events" + "".join(f"\n- {b}" for b in self.breaches)
            )
        self.collisions(recorded, events)
        seen = {e.id for e in flat}
        again = self.make()
        self.open_streams(again, streams)
        later = self.replay(again, StateMap(), recorded, RECEIVED_AT + LATER)
        for item, one, two in zip(recorded, events, later, strict=True):
            if [e.id for e in one] != [e.id for e in two.events]:
                self.breach(
                    f"{item.label}: a fresh replay a day later gave other ids "
                    f"({_ids(one)}, then {_ids(two.events)}); ids must come from the frame"
                )
        self.open_streams(first, streams)  # a reconnect: same instance, same state
        repushed = self.replay(first, state, recorded, RECEIVED_AT + 1000)
        self.no_new_ids(recorded, repushed, seen, "re-pushed after a reconnect")
        restarted = self.make()
        self.open_streams(restarted, streams)
        restored = StateMap(copy.deepcopy(self.stored))
        after = self.replay(restarted, restored, recorded, RECEIVED_AT + 2000)
        self.no_new_ids(recorded, after, seen, "re-pushed after a restart (state from JSON)")
        other = self.make(f"{self.name}-2")
        self.open_streams(other, streams)
        outcomes_2 = self.replay(other, StateMap(), recorded, RECEIVED_AT)
        shared = sorted({e.id for o in outcomes_2 for e in o.events} & seen)
        if shared:
            self.breach(
                f"another venue instance gave the same ids {_ids(shared)}: ids must "
                "include the instance name (event_id(ctx.venue, ...))"
            )
        return ConformanceReport(flat, sum(o.data for o in outcomes), 0)

    def collisions(self, recorded: list[Frame], events: list[list[Event]]) -> None:
        """Two facts in one frame never share an id: the core would drop the second."""
        for item, group in zip(recorded, events, strict=True):
            by_id: dict[str, Event] = {}
            for event in group:
                if by_id.setdefault(event.id, event) != event:
                    self.breach(
                        f"{item.label}: two different {event.kind} events share the id "
                        f"{event.id}; the core would drop the second"
                    )

    def no_new_ids(
        self, recorded: list[Frame], outcomes: list[Outcome], seen: set[str], how: str
    ) -> None:
        for item, outcome in zip(recorded, outcomes, strict=True):
            new = [e for e in outcome.events if e.id not in seen]
            if new:
                self.breach(
                    f"{item.label}: {how}, it gave new {new[0].kind} ids {_ids(new)}: "
                    "each would be alerted again"
                )


def _ids(events: Iterable[Any]) -> str:
    ids = [e.id if isinstance(e, Event) else str(e) for e in events]
    shown = ", ".join(i[:12] for i in ids[:3])
    return f"[{shown}{', ...' if len(ids) > 3 else ''}]"

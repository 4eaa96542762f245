"""Events -> dedup -> rules -> one outbox commit per event (grouped by the committer)."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from bridge.delivery.batcher import Pending
from bridge.delivery.committer import Committer
from bridge.events import Event
from bridge.rules import RuleEngine
from bridge.store import CommitItem, Job

log = logging.getLogger("alert_bridge.pipeline")


class Pipeline:
    """The one place events enter: every supervisor (and replay --send) feeds it.

    Supervisors share one event loop, and nothing here awaits between the dedup check and
    the hand-over to the committer, so a repeat arriving on another stream is caught.
    """

    def __init__(self, engine: RuleEngine, committer: Committer) -> None:
        self.engine = engine
        self.committer = committer
        # Normalizer state changes that came without a new event: they ride with the
        # venue's next committed event instead of costing a transaction of their own.
        self._carry: dict[str, dict[str, Any]] = {}
        self.events: Counter[tuple[str, str]] = Counter()  # (venue, kind) -> new events
        self.duplicates = 0
        self.matches: Counter[str] = Counter()  # rule name -> matches

    def is_seen(self, event_id: str) -> bool:
        """Whether an event with this id was processed already (committed or queued)."""
        return self.committer.is_seen(event_id)

    async def process(
        self,
        venue: str,
        events: list[Event],
        changes: dict[str, Any],
        *,
        wait: bool = False,
        alert: bool = True,
    ) -> list[Job]:
        """Commit the new events of one frame, with the normalizer state they changed.

        By default events are queued for the next group commit; ``wait`` returns only
        once they are durable, with the jobs they created. With ``alert`` false the events
        are only recorded as seen, no rule runs (a first start's reconciliation seeds).
        """
        jobs: list[Job] = []
        entries: list[Pending[CommitItem, list[Job]]] = []
        carry = self._carry.pop(venue, {})
        carry.update(changes)
        for event in events:
            if self.committer.is_seen(event.id):
                self.duplicates += 1
                continue
            matches = self.engine.evaluate(event) if alert else []
            item = CommitItem(
                event,
                matches,
                self.engine.state.drain_changes(),
                carry if event.venue == venue else {},
            )
            if event.venue == venue:
                carry = {}
            self.events[(event.venue, event.kind)] += 1
            for match in matches:
                self.matches[match.rule.name] += 1
                log.info(
                    "%s: rule %r matched %s %s", event.venue, match.rule.name, event.kind, event.id
                )
            entries.append(self.committer.enqueue(item, wait=wait))
        if carry:
            self._carry[venue] = carry
        # Back-pressure only once the whole frame is queued: while the store cannot keep
        # up (a full disk), this waits and the venue's reader with it, so its socket is
        # no longer read. If the wait is cancelled (the connection ended meanwhile), every
        # event of the frame and its state changes are queued already; none is lost.
        await self.committer.room()
        for entry in entries if wait else ():
            jobs.extend(await entry.result())
        return jobs

    async def checkpoint(self, marker: Event, changes: dict[str, Any]) -> None:
        """Make a venue's state changes durable now, with no event of their own to ride on.

        ``marker`` (an id no venue fact has) is recorded as seen and matches nothing; it
        carries the changes, and any the venue left waiting, in one commit. Returns once
        they are durable.
        """
        carry = self._carry.pop(marker.venue, {})
        carry.update(changes)
        entry = self.committer.enqueue(CommitItem(marker, [], [], carry), wait=True)
        await self.committer.room()
        await entry.result()

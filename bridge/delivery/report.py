"""Accounting for attempts: counters, log lines, the ``on_attempt`` hook, progress waits."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from bridge.delivery.attempt import AttemptResult
from bridge.delivery.lane import Lane
from bridge.delivery.stats import DeliveryStats
from bridge.store import Job, Outcome

logger = logging.getLogger("alert_bridge.delivery")

OnAttempt = Callable[[str, Job, Outcome, float], None]


@dataclass(slots=True)
class Attempt:
    """One finished attempt, on its way to the store."""

    lane: Lane
    job: Job
    result: AttemptResult
    outcome: Outcome
    seconds: float


class Reporter:
    """Counts outcomes in ``stats``, logs them (never a secret), wakes whoever waits."""

    def __init__(self, clock: Callable[[], float], on_attempt: OnAttempt | None) -> None:
        self.stats = DeliveryStats()
        self.clock = clock
        self.on_attempt = on_attempt
        self._progress = anyio.Event()

    async def wait_until(self, condition: Callable[[DeliveryStats], bool]) -> None:
        """Return once ``condition(stats)`` holds (checked whenever the counts change)."""
        while not condition(self.stats):
            await self._progress.wait()

    def changed(self) -> None:
        """Counts changed: let waiters look again."""
        self._progress.set()
        self._progress = anyio.Event()

    def attempted(self, attempt: Attempt) -> None:
        """Account one attempt whose outcome is durable."""
        # The job's destination, not the lane's: a notifier's URLs are counted one by one.
        name, job, outcome = attempt.job.destination, attempt.job, attempt.outcome
        self.stats.timed(name, attempt.seconds)
        if outcome.action == "delivered":
            self.stats.add(name, "delivered")
            logger.debug("delivered %s (rule %r) to %s", job.id, job.rule, name)
        elif outcome.action == "retry":
            self.stats.add(name, "retried")
            logger.warning(
                "delivery of %s (rule %r) to %s failed: %s; attempt %d of %d, next in %.0fs",
                job.id,
                job.rule,
                name,
                attempt.result.error,
                outcome.attempts,
                attempt.lane.destination.settings.max_attempts,
                max(outcome.next_at - self.clock(), 0.0),
            )
        else:
            self.stats.add(name, "dead")
            logger.error(
                "delivery of %s (rule %r) to %s moved to the dead letters: %s",
                job.id,
                job.rule,
                name,
                outcome.error,
            )
        if self.on_attempt is not None:
            self.on_attempt(name, job, outcome, attempt.seconds)

    def disabled(self, lane: Lane) -> None:
        """A destination answered 410 Gone."""
        self.stats.add(lane.name, "disabled")
        logger.error(
            "%s %s answered 410 Gone: disabled until the config is reloaded; its jobs go to "
            "the dead letters (alert-bridge outbox retry --all-dead once it is fixed)",
            lane.destination.kind,
            lane.name,
        )
        self.changed()

    def buried(self, destination: str, count: int, why: str) -> None:
        """``count`` pending jobs went to the dead letters without an attempt."""
        self.stats.add(destination, "dead", count)
        logger.warning(
            "%d pending job(s) for %s moved to the dead letters (%s); see: alert-bridge "
            "outbox list --dead",
            count,
            destination,
            why,
        )
        self.changed()

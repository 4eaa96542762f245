"""One destination's runtime state inside the deliverer."""

from __future__ import annotations

import anyio

from bridge.delivery.breaker import Breaker
from bridge.delivery.destinations import Destination
from bridge.delivery.handoff import Handoff
from bridge.store import Job


class Lane:
    """A destination, its hand-off to ``concurrency`` workers, wake-up signal, 410 flag,
    and circuit breaker."""

    def __init__(self, destination: Destination, breaker: Breaker | None = None) -> None:
        self.destination = destination
        self.name = destination.name
        settings = destination.settings
        if breaker is None:
            breaker = Breaker(self.name, settings.circuit_breaker, list(settings.retry))
        else:  # a reload keeps what the circuit knows, with the new settings
            breaker.threshold, breaker.retry = settings.circuit_breaker, list(settings.retry)
        self.breaker = breaker
        self.jobs = Handoff()  # served by `concurrency` workers: the bound on attempts
        self.scope = anyio.CancelScope()  # the dispatcher's
        self.disabled = False
        self._wakeup = anyio.Event()

    def close(self) -> list[Job]:
        """No more jobs: the dispatcher stops, workers end after their current attempt.

        Returns the jobs that were handed over but not started (no longer in flight).
        """
        self.scope.cancel()
        self.jobs.close()
        return self.jobs.drain()

    def reset(self) -> anyio.Event:
        """A fresh wake-up event to wait on (events cannot be cleared)."""
        self._wakeup = anyio.Event()
        return self._wakeup

    def wake(self) -> None:
        """Make the dispatcher look at the outbox now."""
        self._wakeup.set()

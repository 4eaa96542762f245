"""One destination's runtime state inside the deliverer."""

from __future__ import annotations

import anyio

from bridge.delivery.breaker import Breaker
from bridge.delivery.destinations import Destination
from bridge.delivery.handoff import Handoff
from bridge.delivery.notifier import AppriseDestination
from bridge.store import Job


class Lane:
    """A destination, its hand-off to ``concurrency`` workers, wake-up signal, 410 flag,
    and circuit breaker."""

    def __init__(
        self, destination: Destination, breakers: dict[str, Breaker] | None = None
    ) -> None:
        self.destination = destination
        self.name = destination.name
        #: the job destinations this lane delivers (a notifier's: its name and each URL's)
        self.names: tuple[str, ...] = (self.name,)
        #: what a job for the whole destination is split into first (several URLs)
        self.fanout: tuple[str, ...] = ()
        if isinstance(destination, AppriseDestination):
            self.names = tuple(destination.targets)
            self.fanout = destination.fanout
        # One circuit per delivery (each URL of a notifier has its own): a dead Slack
        # must not hold back Telegram. A reload keeps what each circuit knows.
        settings = destination.settings
        known = breakers or {}
        self.breakers: dict[str, Breaker] = {}
        for name in self.names:
            breaker = known.get(name) or Breaker(name, 0, [])
            breaker.threshold, breaker.retry = settings.circuit_breaker, list(settings.retry)
            self.breakers[name] = breaker
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

"""Delivery counters, read by the metrics endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class OutcomeCounts:
    """How attempts ended: delivered, retried later, moved to the dead letters.

    ``disabled`` counts destinations switched off by a 410 Gone.
    """

    delivered: int = 0
    retried: int = 0
    dead: int = 0
    disabled: int = 0
    #: seconds spent in attempts, and how many, for an average delivery latency
    latency_seconds: float = 0.0
    attempts: int = 0


@dataclass
class DeliveryStats(OutcomeCounts):
    """Totals as attributes, plus the same counts per destination name."""

    destinations: dict[str, OutcomeCounts] = field(default_factory=dict)

    def add(self, destination: str, what: str, count: int = 1) -> None:
        """Add ``count`` to counter ``what`` in the totals and for ``destination``."""
        mine = self.destinations.setdefault(destination, OutcomeCounts())
        setattr(self, what, getattr(self, what) + count)
        setattr(mine, what, getattr(mine, what) + count)

    def timed(self, destination: str, seconds: float) -> None:
        """Account one attempt that took ``seconds``."""
        self.add(destination, "attempts")
        self.latency_seconds += seconds
        self.destinations[destination].latency_seconds += seconds

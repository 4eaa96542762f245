"""A circuit breaker per destination: a dead receiver is probed, not stormed.

Without it, every job of a destination that is down keeps its own retry schedule: with
100 alerts a second going to a receiver that answers 503, the receiver got about 1,000
requests a second of retries. With it, after ``threshold`` attempts in a row failed
(answers that say "try later" or no answer at all), the circuit *opens*: the destination
gets one job at a time, a probe, about once per first retry delay, and every other job
waits without spending its attempts. The first probe that gets through *closes* the
circuit, and everything waiting becomes due at once, oldest event first.

An answer that refuses one job for good (a 4xx) still proves the receiver is there, so
it counts as a success here; it goes to the dead letters as it always did.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from bridge.delivery.attempt import AttemptResult
from bridge.delivery.policy import retry_delay

logger = logging.getLogger("alert_bridge.delivery")

DEFAULT_THRESHOLD = 5


@dataclass
class Breaker:
    """One destination's circuit. ``threshold`` 0 turns it off (never opens)."""

    name: str
    threshold: int
    retry: list[float]
    failures: int = 0  # consecutive failed attempts
    open: bool = False
    opened_at: float = 0.0
    probing: bool = False  # a probe is in flight
    probe_id: str = ""  # the job that is (or last was) the probe
    next_probe_at: float = 0.0

    def may_probe(self, now: float) -> bool:
        """Whether a probe may go now (only asked while open)."""
        return not self.probing and now >= self.next_probe_at

    def probe_wait(self, now: float) -> float:
        """Seconds until the next probe may go (0 if now; only while open)."""
        return max(self.next_probe_at - now, 0.0)

    def observe(self, job_id: str, result: AttemptResult, now: float, rng: random.Random) -> bool:
        """Account one attempt of job ``job_id``; True when this closed the circuit (time
        to drain)."""
        if result.ok or result.permanent:
            self.failures = 0
            if not self.open:
                return False
            self.open = self.probing = False
            logger.warning(
                "%s answers again after %.0fs: circuit closed, delivering what waited, "
                "oldest first",
                self.name,
                max(now - self.opened_at, 0.0),
            )
            return True
        if result.gone:
            return False  # the destination is disabled anyway
        self.failures += 1
        if self.open:
            if job_id != self.probe_id:
                return False  # an attempt started before the circuit opened
            self.probing = False
            self.next_probe_at = now + self._interval(rng)
        elif self.threshold and self.failures >= self.threshold:
            self.open = True
            self.opened_at = now
            self.next_probe_at = now + self._interval(rng)
            logger.warning(
                "%s failed %d attempts in a row (last: %s): circuit open, probing with one "
                "job about every %gs until one gets through",
                self.name,
                self.failures,
                result.error or "failed",
                self.retry[0] if self.retry else 0.0,
            )
        return False

    def _interval(self, rng: random.Random) -> float:
        # The destination's first retry delay, jittered like any retry.
        return retry_delay(self.retry, 1, rng)

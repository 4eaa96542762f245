"""What happens after an attempt: done, retry when, or the dead letters.

Delays follow the destination's ``retry`` list (default 5s, 30s, 2m, 10m, 1h, 3h, 6h),
the last one repeating if ``max_attempts`` asks for more. Each delay is jittered by
±20% so that jobs which failed together (a receiver restart) do not all come back in
the same second. A Retry-After from the receiver replaces the scheduled delay: it is
never shortened by jitter (only lengthened, by up to 10%), and it is capped at the
longest delay of ``retry`` so a bogus value cannot park a job for a year.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from bridge.config import DeliveryConfig
from bridge.delivery.attempt import AttemptResult
from bridge.store import Job, Outcome

JITTER = 0.2


def retry_delay(schedule: Sequence[float], attempts: int, rng: random.Random) -> float:
    """The jittered delay after the ``attempts``-th failed attempt (1-based)."""
    if not schedule:
        return 0.0
    base = schedule[min(attempts, len(schedule)) - 1]
    return base * rng.uniform(1 - JITTER, 1 + JITTER)


def honour_retry_after(seconds: float, schedule: Sequence[float], rng: random.Random) -> float:
    """The delay for a Retry-After of ``seconds``: never earlier, at most the longest delay."""
    cap = max(schedule, default=seconds)
    return min(max(seconds, 0.0), cap) * rng.uniform(1.0, 1.1)


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max((moment - datetime.fromtimestamp(now, tz=timezone.utc)).total_seconds(), 0.0)


def decide(
    result: AttemptResult, job: Job, settings: DeliveryConfig, now: float, rng: random.Random
) -> Outcome:
    """The outcome to record for ``job`` after an attempt that gave ``result``."""
    attempts = job.attempts + 1
    if result.ok:
        return Outcome(job.id, "delivered", attempts)
    error = result.error or "failed"
    if result.permanent or result.gone:
        return Outcome(job.id, "dead", attempts, error=error)
    if attempts >= settings.max_attempts:
        return Outcome(
            job.id, "dead", attempts, error=f"gave up after {attempts} attempts: {error}"
        )
    if result.retry_after is not None:
        delay = honour_retry_after(result.retry_after, settings.retry, rng)
    else:
        delay = retry_delay(settings.retry, attempts, rng)
    return Outcome(job.id, "retry", attempts, next_at=now + delay, error=error)

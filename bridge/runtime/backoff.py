"""Reconnect delays: exponential backoff with full jitter."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReconnectPolicy:
    """How long to wait before reconnecting (DESIGN: base 1 s, cap 60 s, reset after 60 s)."""

    base: float = 1.0
    cap: float = 60.0
    reset_after: float = 60.0  # a connection that lived this long resets the attempt count
    auth_delay: float = 30.0  # added after an auth failure: a bad key will not fix itself fast

    def delay(
        self,
        failures: int,
        *,
        auth_failed: bool = False,
        uniform: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """The wait after the ``failures``-th consecutive failure (1-based), with full jitter."""
        ceiling = min(self.cap, self.base * 2 ** max(failures - 1, 0))
        wait = uniform(0.0, ceiling)
        return wait + self.auth_delay if auth_failed else wait

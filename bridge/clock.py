"""The service's clock: wall time at start, advanced by the monotonic clock.

Every schedule of a running service (retry due times, cooldowns, connection timings)
compares times taken from one clock. If that clock were the wall clock, an NTP step or
an operator's ``date -s`` would move every deadline with it: a step back of one hour
made each pending retry wait an hour more. This clock reads the wall clock once, at
start, and from then on only adds what the monotonic clock says has passed; so inside
one run no schedule waits longer than its own delay, whatever the wall clock does.

Its readings are still seconds since the epoch (they are stored, shown to people and
compared with the next run's readings), and they drift from the wall clock only by the
steps the wall clock took during the run. A restart re-reads the wall clock; what a
restart needs to undo a step taken while the service was down is in
:mod:`bridge.store.clockstep`.
"""

from __future__ import annotations

import time
from collections.abc import Callable


class SteadyClock:
    """Call it for the time: ``clock() -> float`` seconds since the epoch, never jumping."""

    __slots__ = ("_monotonic", "_offset")

    def __init__(
        self,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._monotonic = monotonic
        self._offset = wall() - monotonic()

    def __call__(self) -> float:
        return self._offset + self._monotonic()

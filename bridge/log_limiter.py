"""Rate limits for log lines that can repeat once per frame.

A venue that sends 50,000 malformed frames a second must not write 50,000 warnings a
second: the log would fill the disk (or journald would drop lines, the useful ones with
them), and formatting and writing them starves everything else on the event loop. So for
each source and reason, the first few lines are logged as they come; after that, at most
one summary line per interval says how many more there were. Counters (metrics) are kept
by the callers and stay exact; only the log is thinned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

BURST = 5  # lines logged in full before the limiter starts counting instead
INTERVAL = 10.0  # seconds between summary lines of one source and reason
MAX_REASONS = 100  # distinct reasons tracked per limiter; later ones share one
OTHER = "other reasons"


@dataclass
class _Tally:
    level: int  # of the lines, and so of their summary
    what: str  # what the lines are about, for the summary ("malformed frames")
    logged: int  # lines logged in full since the reason was last quiet
    suppressed: int  # lines counted instead of logged since ``since``
    since: float  # start of the current summary interval
    last: float  # when the reason last occurred


class LogLimiter:
    """Logs the first ``burst`` lines of each (source, reason), then a summary per interval.

    A reason that stays quiet for a whole interval starts afresh: its next lines are
    logged in full again. Summaries of suppressed lines are written when the next line of
    the same reason comes after the interval, or by :meth:`flush` (call it periodically,
    and when the source goes away, so the count of a storm's tail is not lost).

    ``clock`` is a monotonic clock in seconds; tests inject their own.
    """

    def __init__(
        self,
        logger: logging.Logger,
        *,
        burst: int = BURST,
        interval: float = INTERVAL,
        max_reasons: int = MAX_REASONS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.burst = burst
        self.interval = interval
        self.max_reasons = max_reasons
        self.clock = clock
        self._tallies: dict[tuple[str, str], _Tally] = {}  # (source, reason) -> its tally

    def allow(self, level: int, source: str, reason: str, what: str) -> bool:
        """Whether to log this line in full; if not, it is counted for a summary.

        ``what`` names the lines in the summary ("malformed frames"); ``reason`` should be
        short and stable (no values from the frame), since it is the key.
        """
        if not self.logger.isEnabledFor(level):
            return False  # nothing would be written: no bookkeeping either
        now = self.clock()
        key = (source, reason)
        tally = self._tallies.get(key)
        if tally is None and len(self._tallies) >= self.max_reasons:
            key = (source, OTHER)  # keys come from frames: their number must stay bounded
            tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = _Tally(level, what, 0, 0, now, now)
        else:
            if now - tally.since >= self.interval:
                self._summarize(key, tally, now)
            if now - tally.last >= self.interval:
                tally.logged = 0  # quiet for a whole interval: a new storm starts in full
        tally.last = now
        if tally.logged < self.burst:
            tally.logged += 1
            return True
        tally.suppressed += 1
        return False

    def flush(self) -> None:
        """Write the summaries that are due, and forget reasons that went quiet."""
        now = self.clock()
        for key, tally in list(self._tallies.items()):
            if now - tally.since >= self.interval:
                self._summarize(key, tally, now)
            if not tally.suppressed and now - tally.last >= self.interval:
                del self._tallies[key]

    def close(self) -> None:
        """Write every pending summary now (the source is going away)."""
        now = self.clock()
        for key, tally in self._tallies.items():
            self._summarize(key, tally, now)
        self._tallies.clear()

    def _summarize(self, key: tuple[str, str], tally: _Tally, now: float) -> None:
        if tally.suppressed:
            source, reason = key
            self.logger.log(
                tally.level,
                "… %s more %s from %s (%s) in the last %ss",
                f"{tally.suppressed:,}",
                tally.what,
                source,
                reason,
                f"{max(now - tally.since, 0.0):.0f}",
            )
        tally.suppressed = 0
        tally.since = now

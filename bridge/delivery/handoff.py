"""The queue between a destination's dispatcher and its workers.

Cheaper than a memory object stream where it matters: a worker that finishes an
attempt takes the next ready job without a scheduling round trip, and the dispatcher
hands over a whole batch at once, waking up again only when the queue runs low. The
event loop spends its time on HTTP rather than on hand-offs.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import anyio

from bridge.store import Job


class Handoff:
    """Jobs waiting for a worker; ``close()`` ends the workers' loops."""

    def __init__(self) -> None:
        self._jobs: deque[Job] = deque()
        self._not_empty: anyio.Event | None = None
        self._low: anyio.Event | None = None
        self._low_mark = 0
        self.closed = False

    def __len__(self) -> int:
        return len(self._jobs)

    def put_many(self, jobs: Iterable[Job]) -> None:
        """Queue jobs for the workers."""
        self._jobs.extend(jobs)
        if self._jobs and self._not_empty is not None:
            self._not_empty.set()
            self._not_empty = None

    async def wait_below(self, count: int) -> None:
        """Return once at most ``count`` jobs are waiting."""
        while len(self._jobs) > count:
            self._low_mark = count
            if self._low is None:
                self._low = anyio.Event()
            await self._low.wait()

    async def get(self) -> Job | None:
        """The next job, waiting for one; None once closed and drained."""
        while not self._jobs:
            if self.closed:
                return None
            if self._not_empty is None:
                self._not_empty = anyio.Event()
            await self._not_empty.wait()
        job = self._jobs.popleft()
        if self._low is not None and len(self._jobs) <= self._low_mark:
            self._low.set()
            self._low = None
        return job

    def drain(self) -> list[Job]:
        """Take every waiting job out (they were never attempted)."""
        jobs = list(self._jobs)
        self._jobs.clear()
        return jobs

    def close(self) -> None:
        """No more jobs: waiting workers return None once the queue is empty."""
        self.closed = True
        if self._not_empty is not None:
            self._not_empty.set()
            self._not_empty = None

"""A small bounded queue from a destination's dispatcher to its workers.

Cheaper than a memory object stream where it matters: a worker that finishes an
attempt takes the next ready job without a scheduling round trip, so the event loop
spends its time on HTTP rather than on hand-offs.
"""

from __future__ import annotations

from collections import deque

import anyio

from bridge.store import Job


class Handoff:
    """Up to ``capacity`` jobs waiting for a worker; ``close()`` ends the workers' loops."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._jobs: deque[Job] = deque()
        self._not_empty: anyio.Event | None = None
        self._not_full: anyio.Event | None = None
        self.closed = False

    def __len__(self) -> int:
        return len(self._jobs)

    async def put(self, job: Job) -> None:
        """Add a job, waiting while ``capacity`` jobs are already waiting."""
        while len(self._jobs) >= self.capacity:
            if self._not_full is None:
                self._not_full = anyio.Event()
            await self._not_full.wait()
        self._jobs.append(job)
        if self._not_empty is not None:
            self._not_empty.set()
            self._not_empty = None

    async def get(self) -> Job | None:
        """The next job, waiting for one; None once closed and drained."""
        while not self._jobs:
            if self.closed:
                return None
            if self._not_empty is None:
                self._not_empty = anyio.Event()
            await self._not_empty.wait()
        job = self._jobs.popleft()
        if self._not_full is not None:
            self._not_full.set()
            self._not_full = None
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

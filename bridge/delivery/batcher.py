"""Group commit: whatever arrives while one flush runs goes into the next flush.

A lone item is flushed at once (no timer holds it back, unless the owner asks for a
linger); under load items pile up while the worker thread writes the previous batch,
so batches grow by themselves and the fsync is paid once per batch, not once per item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

import anyio
from anyio.abc import TaskStatus

T = TypeVar("T")
R = TypeVar("R")


class Pending(Generic[T, R]):
    """An item in the queue; :meth:`result` waits until its batch is durable."""

    __slots__ = ("done", "error", "item", "value")

    def __init__(self, item: T, waited: bool) -> None:
        self.item = item
        self.done: anyio.Event | None = anyio.Event() if waited else None
        self.value: R | None = None
        self.error: BaseException | None = None

    async def result(self) -> R:
        """The flush's result for this item, or the flush's error."""
        assert self.done is not None, "queued with wait=False"
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]


class GroupCommit(Generic[T, R]):
    """Runs ``flush(batch)`` in a worker thread, one batch at a time, in arrival order.

    ``flush`` returns one result per item. ``after(batch, results)`` runs on the event
    loop once a batch is durable. ``linger`` holds the first item of a batch that long
    for company: for callers that do not wait on the result (0 for those that do).
    ``inline(batch)``, if given, is tried first on the event loop; it returns None when
    the batch has to go to the worker thread after all.

    A failing flush is fatal: waiters get the error and :meth:`run` raises it, because
    an item that cannot be stored must not be dropped quietly (the service restarts;
    everything committed before is intact).
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Sequence[R]],
        *,
        after: Callable[[list[T], Sequence[R]], None] | None = None,
        inline: Callable[[list[T]], Sequence[R] | None] | None = None,
        max_batch: int = 1000,
        max_pending: int = 10_000,
        linger: float = 0.0,
    ) -> None:
        self._flush = flush
        self._inline = inline
        self._linger = linger
        self._after = after
        self._max_batch = max_batch
        self._send, self._receive = anyio.create_memory_object_stream[Pending[T, R]](max_pending)

    async def put(self, item: T, *, wait: bool) -> Pending[T, R]:
        """Queue ``item`` (waits only while the queue is full); ``wait``: keep its result."""
        entry: Pending[T, R] = Pending(item, waited=wait)
        try:
            # No scheduling round trip when there is room: this runs once per delivery.
            self._send.send_nowait(entry)
        except anyio.WouldBlock:
            await self._send.send(entry)
        return entry

    async def submit(self, item: T) -> R:
        """Queue ``item`` and wait until its batch is durable; the flush's result for it."""
        return await (await self.put(item, wait=True)).result()

    def close(self) -> None:
        """Accept nothing more; :meth:`run` returns once the queue is flushed."""
        self._send.close()

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Flush batches until :meth:`close` (run it in a task group)."""
        task_status.started()
        # Both ends close however run() ends: later submits fail fast, nothing leaks.
        with self._send:
            async with self._receive:
                async for first in self._receive:
                    if self._linger:
                        await anyio.sleep(self._linger)
                    batch = [first]
                    while len(batch) < self._max_batch:
                        try:
                            batch.append(self._receive.receive_nowait())
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    await self._write(batch)

    async def _write(self, batch: list[Pending[T, R]]) -> None:
        items = [entry.item for entry in batch]
        try:
            results = self._inline(items) if self._inline is not None else None
            if results is None:
                results = await anyio.to_thread.run_sync(self._flush, items)
        except Exception as exc:
            for entry in batch:
                entry.error = exc
                if entry.done is not None:
                    entry.done.set()
            raise
        if self._after is not None:
            self._after(items, results)
        for entry, result in zip(batch, results, strict=True):
            entry.value = result
            if entry.done is not None:
                entry.done.set()

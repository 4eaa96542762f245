"""Waiting for a condition without sleeping: a change counter tests can await."""

from __future__ import annotations

from collections.abc import Callable

import anyio


class Changes:
    """Wakes waiters whenever something changed; they re-check their condition."""

    def __init__(self) -> None:
        self._event = anyio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = anyio.Event()

    async def wait_for(self, condition: Callable[[], bool], timeout: float = 10.0) -> None:
        """Return once ``condition()`` holds; TimeoutError after ``timeout`` seconds."""
        with anyio.fail_after(timeout):
            while not condition():
                await self._event.wait()

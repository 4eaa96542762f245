"""Run a venue's async step on its own event loop in a thread, with a time limit."""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import httpx

T = TypeVar("T")


class NoNetwork(httpx.AsyncBaseTransport):
    """A venue without a REST step has no business calling out while opening."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("the conformance check has no network", request=request)


def run(job: Callable[[], Awaitable[T]], limit: float) -> T:
    """Run ``job`` on its own event loop in a thread, so that async tests may call us."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(anyio.run(job))
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True, name="check_venue")
    thread.start()
    thread.join(limit)
    if thread.is_alive():
        raise AssertionError(f"open() did not return within {limit:g}s")
    if errors:
        raise errors[0]
    return results[0]

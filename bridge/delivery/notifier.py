"""Apprise destinations: people-facing notifications (Telegram, Slack, e-mail...).

Apprise is blocking, so each notify runs in a worker thread, bounded per destination,
with a timeout. A thread that outlives its timeout is abandoned, not killed (Python
cannot kill threads), but it keeps its slot until it really ends: hung notifications
can never pile up beyond ``concurrency`` threads.
"""

from __future__ import annotations

import contextlib
import threading

import anyio
import anyio.from_thread
import anyio.to_thread

from bridge.apprise_urls import load_apprise
from bridge.config import NotifierConfig
from bridge.delivery.attempt import AttemptResult
from bridge.store import Job


class AppriseDestination:
    """One ``[notifiers.NAME]`` table: an Apprise object built once, reused for every job."""

    kind = "apprise"

    def __init__(self, settings: NotifierConfig) -> None:
        self.name = settings.name
        self.settings = settings
        # Apprise URLs embed tokens: problems name the index in `urls`, never the URL.
        self._apprise, self.unusable = load_apprise(settings.urls)
        self._slots = anyio.CapacityLimiter(settings.concurrency)

    async def send(self, job: Job) -> AttemptResult:
        """Notify once, off the event loop, within ``timeout``."""
        if self.unusable:
            which = ", ".join(f"urls[{i}]" for i in self.unusable)
            return AttemptResult.failure(
                f"notifiers.{self.name}: {which} is not a URL Apprise supports", permanent=True
            )
        ticket = _Ticket()
        await self._slots.acquire_on_behalf_of(ticket)
        timeout = self.settings.timeout
        try:
            with anyio.fail_after(timeout):
                error = await anyio.to_thread.run_sync(
                    self._notify, job, ticket, abandon_on_cancel=True
                )
        except TimeoutError:
            return AttemptResult.failure(f"no answer within {timeout:g}s")
        finally:
            if ticket.cancel():  # the thread never started: the slot is ours to return
                self._slots.release_on_behalf_of(ticket)
        return AttemptResult.success() if error is None else AttemptResult.failure(error)

    def _notify(self, job: Job, ticket: _Ticket) -> str | None:
        """Runs in a worker thread; the error text, or None when every URL was notified."""
        if not ticket.start():
            return "cancelled before it started"
        try:
            ok = self._apprise.notify(
                title=job.title, body=job.message or job.title, notify_type=job.severity
            )
        except Exception as exc:  # a failing plugin is a failed attempt, not a crash
            return f"Apprise raised {type(exc).__name__}"
        finally:
            # RuntimeError: the event loop is gone (shutdown), nobody waits for the slot.
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(self._slots.release_on_behalf_of, ticket)
        return None if ok else "Apprise could not notify every URL (its log says why)"


class _Ticket:
    """Decides, race-free, whether the worker thread or the event loop returns the slot."""

    __slots__ = ("_lock", "_state")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = "waiting"

    def start(self) -> bool:
        """Called by the thread: False if the loop gave up first (do nothing then)."""
        with self._lock:
            if self._state != "waiting":
                return False
            self._state = "running"
            return True

    def cancel(self) -> bool:
        """Called by the loop when done waiting: True if the thread never started."""
        with self._lock:
            if self._state != "waiting":
                return False
            self._state = "cancelled"
            return True

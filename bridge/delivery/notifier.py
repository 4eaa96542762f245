"""Apprise destinations: people-facing notifications (Telegram, Slack, e-mail...).

Each URL of a notifier is a delivery of its own (``desk[0]``, ``desk[1]``...), so a URL
that failed is retried alone. The table's ``format`` goes to Apprise as the body format
on every notification, and when Apprise fails, its own (masked) reason is the error.

Apprise is blocking, so each notify runs in a worker thread, bounded per destination,
with a timeout. A thread that outlives its timeout is abandoned, not killed (Python
cannot kill threads), but it keeps its slot until it really ends: hung notifications
can never pile up beyond ``concurrency`` threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import anyio
import anyio.from_thread
import anyio.to_thread

from bridge.apprise_urls import hearing_reasons, load_apprise, reason
from bridge.config import NotifierConfig
from bridge.delivery.attempt import AttemptResult
from bridge.store import Job


def url_target(notifier: str, index: int) -> str:
    """The name of one URL's deliveries, e.g. ``desk[1]``: jobs, metrics and logs use it."""
    return f"{notifier}[{index}]"


class AppriseDestination:
    """One ``[notifiers.NAME]`` table: an Apprise object per URL, built once, reused.

    Each URL is its own delivery (own job, retries, dead letter), so one URL failing
    never makes another receive the same alert twice. A job for the whole notifier
    (``desk``: how jobs are committed, and all an older version ever wrote) is split
    into one job per URL (``desk[0]``, ``desk[1]``...) before its first attempt; with a
    single URL there is nothing to split and the job keeps the notifier's name.
    """

    kind = "apprise"

    def __init__(self, settings: NotifierConfig) -> None:
        self.name = settings.name
        self.settings = settings
        # Apprise URLs embed tokens: problems name the index in `urls`, never the URL.
        self._each = [load_apprise([url]) for url in settings.urls]
        self.unusable = [i for i, (_, bad) in enumerate(self._each) if bad]
        self._slots = anyio.CapacityLimiter(settings.concurrency)
        per_url = tuple(url_target(self.name, i) for i in range(len(settings.urls)))
        #: job destinations delivered here, and the URL each goes to (None: every URL)
        self.targets: dict[str, int | None] = {self.name: None}
        self.targets.update((target, i) for i, target in enumerate(per_url))
        #: what a job for the whole notifier is split into before it is sent
        self.fanout = per_url if len(per_url) > 1 else ()

    async def send(self, job: Job) -> AttemptResult:
        """Notify once, off the event loop, within ``timeout``: one URL, or every URL."""
        index = self.targets.get(job.destination, -1)
        if index == -1:
            return AttemptResult.failure(
                f"{job.destination} is not a URL of notifiers.{self.name}", permanent=True
            )
        indexes = range(len(self._each)) if index is None else range(index, index + 1)
        unusable = [i for i in indexes if i in self.unusable]
        if unusable:
            which = ", ".join(f"urls[{i}]" for i in unusable)
            return AttemptResult.failure(
                f"notifiers.{self.name}: {which} is not a URL Apprise supports", permanent=True
            )
        ticket = _Ticket()
        await self._slots.acquire_on_behalf_of(ticket)
        timeout = self.settings.timeout
        try:
            with anyio.fail_after(timeout):
                error = await anyio.to_thread.run_sync(
                    self._notify, job, ticket, indexes, abandon_on_cancel=True
                )
        except TimeoutError:
            return AttemptResult.failure(f"no answer within {timeout:g}s")
        finally:
            if ticket.cancel():  # the thread never started: the slot is ours to return
                self._slots.release_on_behalf_of(ticket)
        return AttemptResult.success() if error is None else AttemptResult.failure(error)

    def _notify(self, job: Job, ticket: _Ticket, indexes: range) -> str | None:
        """Runs in a worker thread; the error text, or None when every URL was notified."""
        if not ticket.start():
            return "cancelled before it started"
        try:
            errors = [(i, self._notify_one(job, i)) for i in indexes]
        finally:
            # RuntimeError: the event loop is gone (shutdown), nobody waits for the slot.
            with contextlib.suppress(RuntimeError):
                anyio.from_thread.run_sync(self._slots.release_on_behalf_of, ticket)
        failed = [(i, error) for i, error in errors if error is not None]
        if len(indexes) == 1 or not failed:
            return failed[0][1] if failed else None
        return "; ".join(f"urls[{i}]: {error}" for i, error in failed)

    def _notify_one(self, job: Job, index: int) -> str | None:
        """Notify URL ``index``; the reason it failed (Apprise's own, masked), or None."""
        notifier, _ = self._each[index]
        with hearing_reasons() as heard:
            try:
                ok = notifier.notify(
                    title=job.title,
                    body=job.message or job.title,
                    notify_type=job.severity,
                    # Explicit: without it Apprise passes text unescaped into services
                    # that parse HTML (Telegram), which reject a title holding "<" or "&".
                    body_format=self.settings.format,
                )
            except Exception as exc:  # a failing plugin is a failed attempt, not a crash
                return f"Apprise raised {type(exc).__name__}"
        if ok:
            return None
        why = reason(heard, self.settings.urls[index])
        if why is not None:
            return f"Apprise: {why}"
        if logging.getLogger("apprise").isEnabledFor(logging.WARNING):
            return "Apprise could not notify and gave no reason"
        return "Apprise could not notify (its reasons are warnings, not logged at this log_level)"


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

"""Apprise destinations: people-facing notifications (Telegram, Slack, e-mail...).

Each URL of a notifier is a delivery of its own (``desk[0]``, ``desk[1]``...), so a URL
that failed is retried alone. The table's ``format`` goes to Apprise as the body format
on every notification, and when Apprise fails, its own (masked) reason is the error.

Apprise is blocking, so each notify runs in a thread of its own, at most ``concurrency``
at a time per notifier, with a timeout. Python cannot kill a thread: one that outlives
its timeout is abandoned. Its slot is free at once (the next job is attempted), and it
is a daemon thread, so it can never hold up the process's exit (a SIGTERM ends the
service within ``shutdown_grace`` whatever a server does). Abandoned threads still
running are counted per notifier: at :func:`abandoned_limit` of them, attempts fail at
once until one ends, so hung notifications can never pile up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

import anyio

from bridge.apprise_urls import hearing_reasons, load_apprise, reason
from bridge.config import NotifierConfig
from bridge.delivery.attempt import AttemptResult
from bridge.store import Job

log = logging.getLogger("alert_bridge.delivery")


#: abandoned sends a notifier may have running (or ``concurrency``, if that is more)
ABANDONED_MIN = 4


def abandoned_limit(concurrency: int) -> int:
    """How many abandoned sends of a notifier may still run before attempts fail at once."""
    return max(ABANDONED_MIN, concurrency)


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
        self._slots = anyio.Semaphore(settings.concurrency)
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
        async with self._slots:
            hung = _HUNG.count(self.name)
            if hung >= abandoned_limit(self.settings.concurrency):
                return AttemptResult.failure(
                    f"{hung} earlier sends of notifiers.{self.name} are still running past "
                    "their timeout; none is started until one of them ends"
                )
            call = _Call(lambda: self._notify(job, indexes), f"apprise {job.destination}")
            timeout = self.settings.timeout
            try:
                with anyio.move_on_after(timeout) as waited:
                    error = await call.result()
            except BaseException:  # cancelled: the service is stopping
                self._abandon(call, job, None)
                raise
            if waited.cancelled_caught:
                self._abandon(call, job, timeout)
                return AttemptResult.failure(f"no answer within {timeout:g}s")
        return AttemptResult.success() if error is None else AttemptResult.failure(error)

    def _abandon(self, call: _Call, job: Job, timeout: float | None) -> None:
        """Stop waiting for ``call`` (timed out, or ``None``: cancelled at shutdown).

        Its slot is free, its thread runs on, counted as hung until it ends.
        """
        name, limit = self.name, abandoned_limit(self.settings.concurrency)

        def ended(error: str | None) -> None:  # in the abandoned thread, when it returns
            _HUNG.remove(name)
            log.info(
                "%s: the abandoned Apprise send of %s ended after %.0fs: %s",
                job.destination,
                job.id,
                time.monotonic() - call.started,
                "delivered after all (its retry repeats it)" if error is None else error,
            )

        if not call.abandon(ended):
            return  # it ended just now: nothing left running
        hung = _HUNG.add(name)
        if timeout is None:
            log.warning(
                "%s: the Apprise send of %s was still running at shutdown: abandoned (its "
                "thread cannot delay the exit); the job stays in the outbox",
                job.destination,
                job.id,
            )
            return
        log.warning(
            "%s: the Apprise send of %s had no answer within %gs: its slot is free, its "
            "thread is abandoned (Python cannot stop it); %d of at most %d abandoned sends "
            "of notifiers.%s still running",
            job.destination,
            job.id,
            timeout,
            hung,
            limit,
            name,
        )

    def _notify(self, job: Job, indexes: range) -> str | None:
        """Runs in a thread of its own; the error text, or None when every URL was notified."""
        errors = [(i, self._notify_one(job, i)) for i in indexes]
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


class _HungSends:
    """Abandoned sends still running, per notifier name.

    Kept here, not per destination object, so that a reload (which builds new
    destinations) does not forget threads that are still running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count: Counter[str] = Counter()

    def count(self, notifier: str) -> int:
        with self._lock:
            return self._count[notifier]

    def add(self, notifier: str) -> int:
        with self._lock:
            self._count[notifier] += 1
            return self._count[notifier]

    def remove(self, notifier: str) -> None:
        with self._lock:
            self._count[notifier] -= 1


_HUNG = _HungSends()


class _Call:
    """A blocking function run in a daemon thread of its own, awaited on the event loop.

    Not anyio's worker threads, nor a ``concurrent.futures`` pool: the interpreter
    joins those at exit, so a thread stuck in a send would keep the process alive.
    """

    def __init__(self, function: Callable[[], str | None], name: str) -> None:
        self.started = time.monotonic()
        self._function = function
        self._loop = asyncio.get_running_loop()
        self._future: asyncio.Future[str | None] = self._loop.create_future()
        self._lock = threading.Lock()  # the thread and the loop race to end the call
        self._abandoned: Callable[[str | None], None] | None = None
        self._done = False
        threading.Thread(target=self._run, name=name, daemon=True).start()

    async def result(self) -> str | None:
        """The function's result; cancelling this wait never touches the thread."""
        return await self._future

    def abandon(self, ended: Callable[[str | None], None]) -> bool:
        """Stop waiting. True if the thread still runs: it calls ``ended`` when it returns."""
        with self._lock:
            if self._done:
                return False
            self._abandoned = ended
            return True

    def _run(self) -> None:
        result: str | None = "the notification thread ended abruptly"
        failure: Exception | None = None
        try:
            result = self._function()
        except Exception as exc:  # the caller's to report, as any failing destination
            failure = exc
        finally:
            with self._lock:
                self._done = True
                ended = self._abandoned
            if ended is not None:
                ended(result if failure is None else f"Apprise raised {type(failure).__name__}")
            else:
                # RuntimeError: the event loop is closed, nobody waits any more.
                with contextlib.suppress(RuntimeError):
                    self._loop.call_soon_threadsafe(self._settle, result, failure)

    def _settle(self, result: str | None, failure: Exception | None) -> None:
        if self._future.done():  # the wait was cancelled meanwhile
            return
        if failure is not None:
            self._future.set_exception(failure)
        else:
            self._future.set_result(result)

"""A store that cannot write (a full disk): retried in order, said once, never fatal.

The group commit is driven by events, never by time: the retry pause is injected and
waits for the test. The committer test fills a real SQLite file (``max_page_count``
caps it, so SQLite fails with SQLITE_FULL exactly as on a full disk).
"""

from __future__ import annotations

import errno
import logging
import sqlite3
import sys
from pathlib import Path

import anyio
import pytest

from bridge.delivery import Committer
from bridge.delivery.batcher import GroupCommit
from bridge.rules import RuleEngine
from bridge.store import Store, StoreOpenError
from bridge.store.health import WriteHealth, is_transient
from bridge.testing.waiting import Changes
from tests.delivery_helpers import SECRET, commit_items, make_config, running
from tests.receivers import Receiver, Reply, Request

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio

FULL = sqlite3.OperationalError("database or disk is full")


class Gate:
    """The injected retry pause: each retry waits until the test lets it go."""

    def __init__(self) -> None:
        self.attempts: list[int] = []
        self.changed = anyio.Event()
        self.open = anyio.Event()

    async def __call__(self, attempt: int) -> None:
        self.attempts.append(attempt)
        self.changed.set()
        self.changed = anyio.Event()
        await self.open.wait()
        self.open = anyio.Event()

    async def paused(self, count: int) -> None:
        while len(self.attempts) < count:
            await self.changed.wait()


def test_full_disk_and_io_errors_are_transient_bugs_are_not() -> None:
    assert is_transient(FULL)
    assert is_transient(sqlite3.OperationalError("disk I/O error"))
    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert is_transient(OSError(errno.ENOSPC, "No space left on device"))
    assert not is_transient(sqlite3.OperationalError("no such table: seen"))
    assert not is_transient(sqlite3.ProgrammingError("Cannot operate on a closed database."))
    assert not is_transient(sqlite3.IntegrityError("UNIQUE constraint failed: outbox.id"))
    assert not is_transient(OSError(errno.EBADF, "Bad file descriptor"))
    assert not is_transient(ValueError("a bug"))


async def test_a_full_disk_is_retried_in_order_said_once_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    full = True
    batches: list[list[int]] = []

    def flush(items: list[int]) -> list[int]:
        if full:
            raise FULL
        batches.append(items)
        return [item * 10 for item in items]

    health = WriteHealth(Path("/state/state.sqlite3"))
    gate = Gate()
    group: GroupCommit[int, int] = GroupCommit(
        flush, failures=health.writer("events"), pause=gate, max_pending=3
    )
    results: dict[int, int] = {}

    async def submit(item: int) -> None:
        results[item] = await group.submit(item)

    caplog.set_level(logging.INFO, logger="alert_bridge.store")
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(group.run)
            tg.start_soon(submit, 0)
            await gate.paused(1)  # the first batch, [0], failed
            assert health.failing and health.failures == 1
            assert (
                health.problem
                == "store: cannot write state.sqlite3: database or disk is full; retrying"
            )
            for item in range(1, 4):  # queued behind it, in order, within the bound
                await group.put(item, wait=False)
            assert group.pending == 4
            blocked = anyio.Event()

            async def put_over_the_bound() -> None:
                with anyio.CancelScope() as scope:
                    putter_scope.append(scope)
                    await group.put(4, wait=False)
                blocked.set()

            putter_scope: list[anyio.CancelScope] = []
            tg.start_soon(put_over_the_bound)
            await anyio.wait_all_tasks_blocked()
            assert not blocked.is_set()  # back-pressure: the fifth waits for room
            putter_scope[0].cancel()  # the venue's connection ended while it waited...
            await blocked.wait()
            assert group.pending == 5  # ...and its item is queued all the same
            for attempt in (2, 3):
                gate.open.set()
                await gate.paused(attempt)
            assert health.failures == 3
            full = False
            gate.open.set()
            group.close()  # run() writes everything queued, then returns
    assert batches == [[0], [1, 2, 3, 4]]  # the failed batch whole, then the queue in order
    assert results == {0: 0}
    assert not health.failing and health.problem is None
    assert gate.attempts == [1, 2, 3]
    store_logs = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in store_logs] == ["ERROR", "INFO"]
    assert "cannot write /state/state.sqlite3: database or disk is full" in store_logs[0][1]
    assert "writable again" in store_logs[1][1] and "3 failed attempts" in store_logs[1][1]


async def test_a_bug_in_a_flush_is_still_fatal_even_with_retries_on() -> None:
    def flush(items: list[int]) -> list[int]:
        raise sqlite3.OperationalError("no such table: seen")

    health = WriteHealth(Path("state.sqlite3"))
    group: GroupCommit[int, int] = GroupCommit(flush, failures=health.writer("events"))
    with anyio.fail_after(10), pytest.raises(ExceptionGroup) as caught:
        async with anyio.create_task_group() as tg:
            await tg.start(group.run)
            await group.submit(1)
    assert caught.group_contains(sqlite3.OperationalError, match="no such table")
    assert health.failures == 0


@pytest.fixture
def store(tmp_path: Path):
    store = Store.open(tmp_path / "state")
    yield store
    store.close()


def cap_pages(store: Store, full: bool) -> None:
    """Make the database file full at its current size, or lift the cap."""
    with store.db.write() as conn:
        current = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {current if full else 1_073_741_823}")


async def test_the_committer_holds_events_while_the_file_is_full_and_dedups_across_it(
    store: Store, tmp_path: Path
) -> None:
    hook = {"url": "http://127.0.0.1:9/h", "secret": SECRET}
    config = make_config(tmp_path / "state", webhooks={"ops": hook})
    engine = RuleEngine(config.rules)
    items = commit_items(engine, range(40))
    notified: list[str] = []
    gate = Gate()
    committer = Committer(
        store, on_jobs=lambda jobs: notified.extend(j.event_id for j in jobs), pause=gate
    )
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(committer.run)
            await committer.commit(items[0])
            cap_pages(store, full=True)  # no page more: the next insert fails with SQLITE_FULL
            for item in items[1:]:
                await committer.submit(item)
            await gate.paused(1)
            assert store.health.failing
            # a repeat of a held event is caught by dedup (it is not durable yet)
            assert committer.is_seen(items[5].event.id) and not store.is_seen(items[5].event.id)
            assert committer.pending == 39
            cap_pages(store, full=False)  # space is back
            gate.open.set()
            committer.close()
    assert not store.health.failing and committer.pending == 0
    assert notified == [item.event.id for item in items]  # each once, in order
    assert [job.event_id for job in store.jobs()] == [item.event.id for item in items]
    assert all(store.is_seen(item.event.id) for item in items)


async def test_opening_on_a_full_file_system_is_one_line_naming_state_dir(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    try:
        mounted = await anyio.run_process(
            ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=False
        )
    except OSError:
        mounted = None
    if mounted is None or mounted.returncode != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs the tests as root)")
    try:
        (disk / "filler").write_bytes(b"")
        fill(disk / "filler")
        with pytest.raises(StoreOpenError) as caught:
            Store.open(disk / "state")
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith(f"state_dir {disk / 'state'}: cannot write state.sqlite3: ")
        assert "free space" in message or "file system" in message
    finally:
        await anyio.run_process(["umount", str(disk)])  # fails if a file is left open


def fill(path: Path) -> None:
    """Write ``path`` until the file system is full."""
    import os

    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        while True:
            os.write(fd, b"\0" * 65536)
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
    finally:
        os.close(fd)


def read_only(store: Store, on: bool) -> None:
    """Make every write of the store fail with SQLITE_READONLY (a transient error), or not.

    ``query_only`` is a setting of the writer connection, changed outside a transaction
    (under query_only even BEGIN IMMEDIATE fails), so this takes the writer's lock itself.
    """
    with store.db._lock:  # fault injection into the real connection
        store.db._writer.execute(f"PRAGMA query_only = {int(on)}")


async def test_an_outcome_that_cannot_be_recorded_stays_in_flight_and_is_never_lost(
    tmp_path: Path,
) -> None:
    release = anyio.Event()

    async def held(request: Request) -> Reply:
        await release.wait()
        return Reply(204)

    receiver = Receiver([SECRET], held)
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": {"url": receiver.url, "secret": SECRET}})
        with anyio.fail_after(20):
            async with running(config, poll_interval=0.01) as bridge:
                health = bridge.store.health
                changes = Changes()
                health.on_change = changes.notify
                await bridge.commit(1)
                await receiver.wait_until(lambda r: len(r.requests) == 1)
                read_only(bridge.store, True)
                release.set()  # delivered, but its outcome cannot be written
                # retried a few times, while the dispatcher looked for due jobs every 10 ms
                await changes.wait_for(lambda: health.failures >= 4)
                assert health.failing and bridge.store.counts() == (1, 0)
                assert len(receiver.requests) == 1  # in flight: not fetched and sent again
                read_only(bridge.store, False)
                await bridge.deliverer.wait_until(lambda s: s.delivered == 1)
                assert not health.failing and bridge.store.counts() == (0, 0)
        tg.cancel_scope.cancel()
    assert len(receiver.requests) == 1

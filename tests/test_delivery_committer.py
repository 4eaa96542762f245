"""Group commit: lone items go at once, items arriving during a flush share the next one."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import anyio
import anyio.from_thread
import pytest

from bridge.delivery import Committer
from bridge.delivery.batcher import GroupCommit
from bridge.rules import RuleEngine
from bridge.store import Job, Store
from tests.delivery_helpers import SECRET, commit_items, make_config

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.anyio


async def test_items_arriving_during_a_flush_share_the_next_batch() -> None:
    batches: list[list[int]] = []
    first_started = anyio.Event()
    release = threading.Event()

    def flush(items: list[int]) -> list[int]:
        if not batches:
            anyio.from_thread.run_sync(first_started.set)
            release.wait()
        batches.append(items)
        return [item * 10 for item in items]

    group: GroupCommit[int, int] = GroupCommit(flush)
    results: dict[int, int] = {}

    async def submit(item: int) -> None:
        results[item] = await group.submit(item)

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(group.run)
            async with anyio.create_task_group() as producers:
                producers.start_soon(submit, 0)
                await first_started.wait()
                for item in range(1, 50):
                    producers.start_soon(submit, item)
                await anyio.wait_all_tasks_blocked()
                release.set()
            group.close()
    assert batches[0] == [0]
    assert batches[1] == list(range(1, 50))
    assert results == {item: item * 10 for item in range(50)}


async def test_a_failing_flush_reaches_the_waiters_and_stops_the_writer() -> None:
    def flush(items: list[int]) -> list[int]:
        raise OSError("disk full")

    group: GroupCommit[int, int] = GroupCommit(flush)
    seen: list[BaseException] = []

    async def submit() -> None:
        try:
            await group.submit(1)
        except OSError as exc:
            seen.append(exc)

    with anyio.fail_after(10), pytest.raises(ExceptionGroup) as caught:
        async with anyio.create_task_group() as tg:
            tg.start_soon(submit)
            await anyio.wait_all_tasks_blocked()
            await group.run()
    assert caught.group_contains(OSError, match="disk full")
    assert [str(e) for e in seen] == ["disk full"]


@pytest.fixture
def setup(tmp_path: Path):
    hook = {"url": "http://127.0.0.1:9/h", "secret": SECRET}
    config = make_config(tmp_path / "state", webhooks={"ops": hook})
    store = Store.open(config.bridge.state_dir)
    yield config, store
    store.close()


async def test_queued_ids_count_as_seen_before_they_are_durable(setup) -> None:
    config, store = setup
    engine = RuleEngine(config.rules)
    first, second = commit_items(engine, [1, 2])
    notified: list[Job] = []
    committer = Committer(store, on_jobs=notified.extend)
    await committer.submit(first)  # queued: the writer is not running yet
    assert committer.is_seen(first.event.id) and not store.is_seen(first.event.id)
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            await tg.start(committer.run)
            jobs = await committer.commit(second)  # FIFO: the first is durable too
            committer.close()
    assert store.is_seen(first.event.id) and store.is_seen(second.event.id)
    assert committer.is_seen(first.event.id)
    assert not committer.is_seen("never seen")
    assert [j.event_id for j in jobs] == [second.event.id]
    assert sorted(j.event_id for j in notified) == sorted([first.event.id, second.event.id])
    assert committer.committed == 2


async def test_many_concurrent_events_are_all_committed(setup) -> None:
    config, store = setup
    engine = RuleEngine(config.rules)
    items = commit_items(engine, range(300))
    committer = Committer(store)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            await tg.start(committer.run)
            async with anyio.create_task_group() as producers:
                for item in items:
                    producers.start_soon(committer.commit, item)
            committer.close()
    assert store.counts() == (300, 0)
    assert all(store.is_seen(item.event.id) for item in items)

"""The workers: concurrency bound, shutdown grace, destinations that left the config."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from bridge.delivery.deliverer import UNKNOWN_ERROR
from bridge.rules import RuleEngine
from bridge.store import Store
from tests.delivery_helpers import SECRET, commit_items, make_config, running
from tests.receivers import Receiver, Reply, Request

pytestmark = pytest.mark.anyio


def held(release: anyio.Event):
    """A responder that keeps every request waiting until ``release`` is set."""

    async def respond(request: Request) -> Reply:
        await release.wait()
        return Reply(204)

    return respond


async def test_attempts_in_flight_never_exceed_concurrency(tmp_path: Path) -> None:
    release = anyio.Event()
    receiver = Receiver([SECRET], held(release))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        hook = {"url": receiver.url, "secret": SECRET, "concurrency": 2}
        config = make_config(tmp_path, webhooks={"ops": hook})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(5)
                await receiver.wait_until(lambda r: len(r.requests) == 2)
                await anyio.wait_all_tasks_blocked()
                assert len(receiver.requests) == 2
                assert bridge.deliverer.in_flight == 2
                release.set()
                await bridge.deliverer.wait_until(lambda s: s.delivered == 5)
        tg.cancel_scope.cancel()
    assert len(receiver.requests) == 5


async def test_shutdown_lets_attempts_in_flight_finish_within_grace(tmp_path: Path) -> None:
    release = anyio.Event()
    receiver = Receiver([SECRET], held(release))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": {"url": receiver.url, "secret": SECRET}})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(1)
                await receiver.wait_until(lambda r: len(r.requests) == 1)
                async with anyio.create_task_group() as stopping:
                    stopping.start_soon(bridge.deliverer.shutdown, 30)
                    await anyio.wait_all_tasks_blocked()
                    release.set()
                assert bridge.deliverer.stats.delivered == 1
                assert bridge.store.counts() == (0, 0)
        tg.cancel_scope.cancel()


async def test_shutdown_without_grace_leaves_the_job_as_it_was(tmp_path: Path) -> None:
    release = anyio.Event()
    receiver = Receiver([SECRET], held(release))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": {"url": receiver.url, "secret": SECRET}})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                (job,) = await bridge.commit(1)
                await receiver.wait_until(lambda r: len(r.requests) == 1)
                await bridge.deliverer.shutdown(0)
                (pending,) = bridge.store.jobs()
        release.set()
        tg.cancel_scope.cancel()
    assert (pending.id, pending.attempts, pending.last_error) == (job.id, 0, None)


async def test_jobs_of_a_destination_no_longer_configured_become_dead_letters(
    tmp_path: Path,
) -> None:
    hook = {"url": "http://127.0.0.1:9/h", "secret": SECRET, "retry": ["1h"]}
    before = make_config(
        tmp_path, webhooks={"ops": hook}, notifiers={"desk": {"urls": ["json://127.0.0.1:9/x"]}}
    )
    store = Store.open(before.bridge.state_dir)
    jobs = store.commit(commit_items(RuleEngine(before.rules), [1]))
    store.close()
    after = make_config(tmp_path, webhooks={"ops": hook})
    with anyio.fail_after(10):
        async with running(after) as bridge:
            await bridge.deliverer.wait_until(lambda s: s.dead == 1)
            letters = bridge.store.jobs(dead=True)
    assert {j.destination for j in jobs} == {"ops", "desk"}
    assert [(j.destination, j.last_error) for j in letters] == [("desk", UNKNOWN_ERROR)]

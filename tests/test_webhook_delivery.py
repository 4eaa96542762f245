"""Webhooks end to end: real SQLite outbox, real HTTP on 127.0.0.1, standardwebhooks checks."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import anyio
import orjson
import pytest

from bridge.store import Store
from tests.delivery_helpers import (
    OTHER_SECRET,
    SECRET,
    UNRELATED_SECRET,
    make_config,
    running,
)
from tests.receivers import Receiver, Reply, Request, script

pytestmark = pytest.mark.anyio

FAST = {"retry": ["10ms"], "timeout": "2s"}


def hook(receiver: Receiver, **options: object) -> dict[str, object]:
    return {"url": receiver.url, "secret": SECRET, **FAST, **options}


async def test_deliveries_follow_the_design_and_verify(tmp_path: Path) -> None:
    receiver = Receiver([SECRET])
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        options = {"headers": {"X-Env": "test", "Webhook-Id": "spoofed"}}
        config = make_config(tmp_path, webhooks={"ops": hook(receiver, **options)})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                jobs = await bridge.commit(3)
                await bridge.settled(3)
                assert bridge.store.counts() == (0, 0)
                assert bridge.deliverer.stats.delivered == 3
        tg.cancel_scope.cancel()
    assert len(receiver.requests) == 3
    by_id = {r.headers["webhook-id"]: r for r in receiver.requests}
    assert set(by_id) == {job.id for job in jobs}
    for job in jobs:
        request = by_id[job.id]
        assert request.verified == [True]
        assert request.method == "POST" and request.path == "/hook"
        assert request.headers["content-type"] == "application/json"
        assert request.headers["x-env"] == "test"
        assert request.body == job.body
        payload = request.payload
        assert set(payload) == {"type", "timestamp", "data"}
        assert payload["type"] == "fill"
        assert (
            payload["timestamp"].startswith("2023-11-14T22:13:20.")
            and payload["timestamp"][-1] == "Z"
        )
        assert payload["data"]["rule"] == "every fill"
        assert payload["data"]["id"] == job.event_id
        assert payload["data"]["notional"] == "15000"  # Decimals travel as strings


async def test_two_secrets_sign_with_each(tmp_path: Path) -> None:
    receiver = Receiver([SECRET, OTHER_SECRET, UNRELATED_SECRET])
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        rotating = hook(receiver, secret=[SECRET, OTHER_SECRET])
        config = make_config(tmp_path, webhooks={"ops": rotating})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(2)
                await bridge.settled(2)
        tg.cancel_scope.cancel()
    assert [r.verified for r in receiver.requests] == [[True, True, False]] * 2


async def test_failures_are_retried_with_the_same_id_and_body(tmp_path: Path) -> None:
    receiver = Receiver([SECRET], script(Reply(500), Reply(408), Reply(204)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": hook(receiver)})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(3)
                stats = bridge.deliverer.stats
                assert (stats.retried, stats.delivered, stats.dead) == (2, 1, 0)
                assert bridge.store.counts() == (0, 0)
        tg.cancel_scope.cancel()
    assert [r.status for r in receiver.requests] == [500, 408, 204]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert len({r.body for r in receiver.requests}) == 1
    assert all(r.verified == [True] for r in receiver.requests)
    assert [o.action for o in bridge.outcomes] == ["retry", "retry", "delivered"]
    assert [o.attempts for o in bridge.outcomes] == [1, 2, 3]


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured(tmp_path: Path, status: int) -> None:
    busy = Reply(status, {"Retry-After": "1"})
    receiver = Receiver([SECRET], script(busy, Reply(204)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        # The schedule alone would retry after 10ms; the receiver asks for a second.
        config = make_config(tmp_path, webhooks={"ops": hook(receiver, retry=["10ms", "5s"])})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(2)
        tg.cancel_scope.cancel()
    first, second = receiver.requests
    assert second.at - first.at >= 1.0
    assert second.status == 204


async def test_a_client_error_goes_to_the_dead_letters_at_once(tmp_path: Path) -> None:
    receiver = Receiver([SECRET], script(Reply(400)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": hook(receiver)})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                (job,) = await bridge.commit(1)
                await bridge.settled(1)
                (letter,) = bridge.store.jobs(dead=True)
        tg.cancel_scope.cancel()
    assert len(receiver.requests) == 1
    assert (letter.id, letter.attempts, letter.last_error) == (job.id, 1, "HTTP 400 (permanent)")


async def test_redirects_are_not_followed_and_exhaust_into_dead_letters(tmp_path: Path) -> None:
    moved = Reply(301, {"Location": "/elsewhere"})
    receiver = Receiver([SECRET], script(moved))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": hook(receiver, max_attempts=3)})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(3)
                (letter,) = bridge.store.jobs(dead=True)
        tg.cancel_scope.cancel()
    assert [r.path for r in receiver.requests] == ["/hook"] * 3
    assert letter.attempts == 3
    assert letter.last_error is not None
    assert letter.last_error.startswith("gave up after 3 attempts: HTTP 301: redirects")
    assert bridge.deliverer.stats.dead == 1 and bridge.deliverer.stats.retried == 2


async def test_a_receiver_hanging_past_the_timeout_is_a_failure(tmp_path: Path) -> None:
    release = anyio.Event()
    calls = 0

    async def respond(request: Request) -> Reply:
        nonlocal calls
        calls += 1
        if calls == 1:
            await release.wait()
        return Reply(204)

    receiver = Receiver([SECRET], respond)
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": hook(receiver, timeout="200ms")})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(2)
        release.set()
        tg.cancel_scope.cancel()
    assert [o.action for o in bridge.outcomes] == ["retry", "delivered"]
    assert bridge.outcomes[0].error == "no answer within 0.2s"
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1


async def test_gone_disables_the_destination_until_reload(tmp_path: Path) -> None:
    answers = {"status": 410}

    async def respond(request: Request) -> Reply:
        return Reply(answers["status"])

    receiver = Receiver([SECRET], respond)
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, webhooks={"ops": hook(receiver, concurrency=1)})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                stats = bridge.deliverer.stats
                await bridge.commit(3)
                await bridge.deliverer.wait_until(lambda s: s.dead == 3)
                assert (stats.disabled, len(receiver.requests)) == (1, 1)
                assert bridge.store.counts() == (0, 3)
                # New alerts for the disabled destination go straight to the dead letters.
                await bridge.commit(1)
                await bridge.deliverer.wait_until(lambda s: s.dead == 4)
                assert len(receiver.requests) == 1
                # A reload enables it again; the dead letters can then be retried.
                answers["status"] = 204
                bridge.deliverer.reload(config)
                assert bridge.store.retry_all_dead() == 4
                bridge.deliverer.wake()
                await bridge.deliverer.wait_until(lambda s: s.delivered == 4)
                assert bridge.store.counts() == (0, 0)
        tg.cancel_scope.cancel()
    errors = {r.status for r in receiver.requests}
    assert errors == {410, 204}


async def test_restart_resumes_pending_jobs_with_their_attempt_counts(tmp_path: Path) -> None:
    fail = {"all"}

    async def respond(request: Request) -> Reply:
        return Reply(500) if request.headers["webhook-id"] in fail or "all" in fail else Reply(204)

    receiver = Receiver([SECRET], respond)
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        # The second retry waits an hour, so the first run stops with two attempts each.
        slow = hook(receiver, max_attempts=3, retry=["10ms", "1h"])
        config = make_config(tmp_path, webhooks={"ops": slow})
        with anyio.fail_after(10):
            async with running(config) as first_run:
                keep, doomed = await first_run.commit(2)
                await first_run.settled(4)
            store = Store.open(config.bridge.state_dir)
            assert sorted(j.attempts for j in store.jobs()) == [2, 2]
            store.close()
            fail.clear()
            fail.add(doomed.id)  # the receiver recovers, except for one job
            two_hours_later = lambda: time.time() + 7200  # noqa: E731
            async with running(config, clock=two_hours_later) as second_run:
                await second_run.settled(2)
                assert second_run.store.counts() == (0, 1)
                (letter,) = second_run.store.jobs(dead=True)
        tg.cancel_scope.cancel()
    # one more attempt was left for each: delivered, or dead at exactly max_attempts
    assert (letter.id, letter.attempts) == (doomed.id, 3)
    ids = [r.headers["webhook-id"] for r in receiver.requests]
    assert ids.count(keep.id) == 3 and ids.count(doomed.id) == 3
    assert receiver.accepted[-1].headers["webhook-id"] == keep.id
    assert all(r.verified == [True] for r in receiver.requests)


async def test_secrets_never_reach_logs_or_errors(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = Receiver([SECRET], script(Reply(500), Reply(410)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        token_url = f"{receiver.url}/T0KEN-in-the-path"
        config = make_config(tmp_path, webhooks={"ops": {**hook(receiver), "url": token_url}})
        with anyio.fail_after(10):
            async with running(config) as bridge:
                await bridge.commit(2)
                await bridge.deliverer.wait_until(lambda s: s.dead == 2)
                letters = bridge.store.jobs(dead=True)
        tg.cancel_scope.cancel()
    assert "410 Gone" in caplog.text and "HTTP 500" in caplog.text
    everything = caplog.text + orjson.dumps([j.last_error for j in letters]).decode()
    for secret in (SECRET, SECRET.removeprefix("whsec_"), "T0KEN"):
        assert secret not in everything
    for request in receiver.requests:
        assert request.headers["webhook-signature"] not in caplog.text

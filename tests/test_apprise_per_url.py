"""A notifier with several URLs: one delivery per URL, so one URL's outage repeats nothing.

Real Apprise (``json://``) into two loopback receivers, the real outbox and workers.
"""

from __future__ import annotations

import logging
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from bridge.cli import main
from bridge.config import load_config
from bridge.rules import RuleEngine
from bridge.store import Outcome, Store
from tests.delivery_helpers import commit_items, config_text, make_config, running
from tests.receivers import Receiver, Reply, script

pytestmark = pytest.mark.anyio

TOKEN = "s3cr3t-t0ken"


def url(receiver: Receiver, which: str) -> str:
    return f"json://127.0.0.1:{receiver.port}/{which}/{TOKEN}"


def two_urls(healthy: Receiver, flaky: Receiver, **options: object) -> dict[str, object]:
    return {
        "urls": [url(healthy, "healthy"), url(flaky, "flaky")],
        "retry": ["10ms"],
        "timeout": "5s",
        **options,
    }


async def test_a_failing_url_is_retried_alone(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    healthy = Receiver(respond=script(Reply(200)))
    flaky = Receiver(respond=script(Reply(500), Reply(500), Reply(500), Reply(200)))
    async with anyio.create_task_group() as tg:
        await tg.start(healthy.serve)
        await tg.start(flaky.serve)
        config = make_config(tmp_path, notifiers={"desk": two_urls(healthy, flaky)})
        with anyio.fail_after(20):
            async with running(config) as bridge:
                await bridge.commit(1)
                await flaky.wait_until(lambda r: len(r.accepted) == 1)
                await bridge.deliverer.wait_until(lambda _: bridge.store.counts() == (0, 0))
                stats = bridge.deliverer.stats
        tg.cancel_scope.cancel()
    assert len(healthy.requests) == 1  # one alert, one message: never repeated
    assert [r.status for r in flaky.requests] == [500, 500, 500, 200]
    assert len(flaky.accepted) == 1
    counts = {name: (c.delivered, c.retried) for name, c in stats.destinations.items()}
    assert counts == {"desk[0]": (1, 0), "desk[1]": (1, 3)}
    # The log names the URL by index, with Apprise's reason, never the URL or its token.
    assert "to desk[1] failed: Apprise: " in caplog.text
    assert TOKEN not in caplog.text and str(flaky.port) not in caplog.text


async def test_a_job_from_before_the_upgrade_reaches_each_url_once(tmp_path: Path) -> None:
    # An older version kept one job for the whole notifier: it may have been tried
    # already (attempts spent). It is split on its next attempt and keeps its count.
    first = Receiver(respond=script(Reply(200)))
    second = Receiver(respond=script(Reply(200)))
    async with anyio.create_task_group() as tg:
        await tg.start(first.serve)
        await tg.start(second.serve)
        config = make_config(tmp_path, notifiers={"desk": two_urls(first, second)})
        store = Store.open(config.bridge.state_dir)
        (old,) = store.commit(commit_items(RuleEngine(config.rules), [7]))
        assert old.destination == "desk"
        store.record([Outcome(old.id, "retry", 3, next_at=0.0, error="Apprise could not")])
        store.close()
        with anyio.fail_after(20):
            async with running(config) as bridge:
                await bridge.settled(2)
                assert bridge.store.counts() == (0, 0)
        tg.cancel_scope.cancel()
    assert (len(first.requests), len(second.requests)) == (1, 1)
    assert [o.attempts for o in bridge.outcomes] == [4, 4]
    assert {o.job_id for o in bridge.outcomes}.isdisjoint({old.id})


async def test_the_outbox_lists_each_url_by_index_never_by_url(tmp_path: Path, capsys) -> None:
    healthy = Receiver(respond=script(Reply(200)))
    broken = Receiver(respond=script(Reply(500)))
    async with anyio.create_task_group() as tg:
        await tg.start(healthy.serve)
        await tg.start(broken.serve)
        notifiers = {"desk": two_urls(healthy, broken, max_attempts=2)}
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path / "state", notifiers=notifiers))
        config = load_config(path, venue_plugins={})
        with anyio.fail_after(20):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(3)
                assert bridge.store.counts() == (0, 1)
            code = await anyio.to_thread.run_sync(
                main, ["outbox", "list", "--dead", "-c", str(path)]
            )
        tg.cancel_scope.cancel()
    out = capsys.readouterr().out
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("msg_")]
    assert line.split()[1] == "desk[1]"
    assert "gave up after 2 attempts: Apprise: " in line
    assert TOKEN not in out and str(broken.port) not in out
    assert len(healthy.requests) == 1


async def test_metrics_count_each_url_from_the_start(tmp_path: Path) -> None:
    receiver = Receiver()
    single = {"urls": [url(receiver, "one")]}
    double = {"urls": [url(receiver, "a"), url(receiver, "b")]}
    config = make_config(tmp_path, notifiers={"solo": single, "desk": double})
    async with running(config) as bridge:
        assert bridge.deliverer.delivery_names == ["solo", "desk[0]", "desk[1]"]


async def test_a_url_removed_by_a_reload_sends_its_pending_jobs_to_the_dead_letters(
    tmp_path: Path,
) -> None:
    healthy = Receiver(respond=script(Reply(200)))
    broken = Receiver(respond=script(Reply(500)))
    async with anyio.create_task_group() as tg:
        await tg.start(healthy.serve)
        await tg.start(broken.serve)
        notifiers = {"desk": two_urls(healthy, broken, retry=["1h"])}
        config = make_config(tmp_path, notifiers=notifiers)
        with anyio.fail_after(20):
            async with running(config) as bridge:
                await bridge.commit(1)
                await bridge.settled(2)  # desk[0] delivered, desk[1] waiting an hour
                assert [j.destination for j in bridge.store.jobs()] == ["desk[1]"]
                fewer = {"desk": {"urls": [url(healthy, "healthy")], "retry": ["10ms"]}}
                bridge.deliverer.reload(make_config(tmp_path, notifiers=fewer))
                await bridge.deliverer.wait_until(lambda stats: stats.dead == 1)
                (dead,) = bridge.store.jobs(dead=True)
        tg.cancel_scope.cancel()
    assert dead.destination == "desk[1]"
    assert dead.last_error == "the destination is no longer in the config"
    assert len(healthy.requests) == 1


def test_a_split_replaces_the_job_once_and_skips_a_job_gone_meanwhile(tmp_path: Path) -> None:
    config = make_config(tmp_path, notifiers={"desk": {"urls": ["json://127.0.0.1:9/a"]}})
    store = Store.open(config.bridge.state_dir)
    try:
        kept, dropped = store.commit(commit_items(RuleEngine(config.rules), [1, 2]))
        store.drop(dropped.id)  # `outbox drop` between the dispatcher's read and its split
        parts = store.split([kept, dropped], ["desk[0]", "desk[1]"])
        assert [p.destination for p in parts] == ["desk[0]", "desk[1]"]
        assert len({p.id for p in parts} | {kept.id}) == 3  # a stable id of its own each
        assert all(p.event_id == kept.event_id and p.body == kept.body for p in parts)
        assert sorted(j.id for j in store.jobs()) == sorted(p.id for p in parts)
        assert store.split([kept], ["desk[0]", "desk[1]"]) == []  # already split
    finally:
        store.close()

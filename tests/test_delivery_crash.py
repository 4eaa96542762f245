"""A process killed with SIGKILL mid-stream loses nothing it had committed."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from anyio.streams.buffered import BufferedByteReceiveStream

from bridge.config import load_config
from bridge.store import Store
from tests.delivery_helpers import SECRET, config_text, running
from tests.receivers import Receiver, Reply, Request

pytestmark = pytest.mark.anyio

CHILD = Path(__file__).with_name("delivery_helpers.py")


async def test_sigkill_with_pending_jobs_then_restart_loses_nothing(tmp_path: Path) -> None:
    accepting = False

    async def respond(request: Request) -> Reply:
        return Reply(204 if accepting else 503)

    receiver = Receiver([SECRET], respond)
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        hook = {"url": receiver.url, "secret": SECRET, "retry": ["200ms"], "max_attempts": 1000}
        config_path = tmp_path / "config.toml"
        config_path.write_text(config_text(tmp_path / "state", webhooks={"ops": hook}))
        stderr = (tmp_path / "child.err").open("wb")
        process = await anyio.open_process(
            [sys.executable, str(CHILD), str(config_path), "5000"],
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
        committed: list[str] = []
        assert process.stdout is not None
        lines = BufferedByteReceiveStream(process.stdout)
        with anyio.fail_after(30):
            # Kill it while it is still committing, with deliveries failing meanwhile.
            await receiver.wait_until(lambda r: len(r.requests) >= 3)
            for _ in range(100):
                word, _, event = (await lines.receive_until(b"\n", 200)).decode().partition(" ")
                assert word == "committed", (tmp_path / "child.err").read_text()
                committed.append(event)
            process.send_signal(signal.SIGKILL)
            assert await process.wait() == -signal.SIGKILL
        await process.aclose()
        stderr.close()
        attempted = {r.headers["webhook-id"] for r in receiver.requests}

        store = Store.open(tmp_path / "state")
        pending = store.jobs()
        pending_events = {job.event_id for job in pending}
        assert store.counts() == (len(pending), 0)
        assert set(committed) <= pending_events  # every durable commit has its job
        assert all(store.is_seen(event) for event in pending_events)
        assert attempted <= {job.id for job in pending}  # failed ones are still queued
        assert len(pending) < 5000  # it really died mid-stream
        store.close()

        accepting = True
        config = load_config(config_path, venue_plugins={})
        with anyio.fail_after(30):
            async with running(config) as restarted:
                await restarted.deliverer.wait_until(lambda s: s.delivered == len(pending))
                assert restarted.store.counts() == (0, 0)
        tg.cancel_scope.cancel()
    delivered = {r.headers["webhook-id"] for r in receiver.accepted}
    assert delivered == {job.id for job in pending}
    assert all(r.verified == [True] for r in receiver.requests)

"""A stuck Apprise send gives its slot back at its timeout, and stuck sends are bounded.

Real Apprise (``json://``) into a loopback server that trickles its answer to chosen
requests (tests/trickle.py), so that their sends never end by themselves; the real
outbox and workers where the deliverer is involved.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import pytest

from bridge.delivery import AppriseDestination
from bridge.delivery.notifier import abandoned_limit
from bridge.delivery.probe import sample_job
from tests.delivery_helpers import make_config, running
from tests.trickle import Trickle

pytestmark = pytest.mark.anyio

ENDED = "the abandoned Apprise send of"


class Heard(logging.Handler):
    """Counts the records of ``alert_bridge.delivery`` that hold ``text``, from any thread."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.count = 0
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            with self._changed:
                self.count += 1
                self._changed.notify_all()

    async def wait_for(self, count: int) -> None:
        def wait() -> bool:
            with self._changed:
                return self._changed.wait_for(lambda: self.count >= count, timeout=15)

        assert await anyio.to_thread.run_sync(wait), f"{self.count} of {count} {self.text!r}"


@contextmanager
def hearing(text: str) -> Iterator[Heard]:
    logger = logging.getLogger("alert_bridge.delivery")
    heard, level = Heard(text), logger.level
    logger.addHandler(heard)
    logger.setLevel(logging.INFO)
    try:
        yield heard
    finally:
        logger.removeHandler(heard)
        logger.setLevel(level)


def notifier(server: Trickle, **options: object) -> dict[str, object]:
    url = f"json://127.0.0.1:{server.port}/alerts/s3cr3t-t0ken"
    return {"urls": [url], "retry": ["1h"], **options}


async def test_a_stuck_send_frees_its_slot_at_its_timeout(tmp_path: Path) -> None:
    """concurrency = 1: the next job is sent while the first one's thread still hangs."""
    server = Trickle(stuck=1)
    with hearing(ENDED) as ended:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            settings = notifier(server, timeout="500ms", concurrency=1)
            config = make_config(tmp_path, notifiers={"slow-desk": settings})
            with anyio.fail_after(20):
                async with running(config) as bridge:
                    stuck, _ = await bridge.commit(2)
                    await bridge.settled(2)
                    # The first send is still stuck (its answer still trickles), yet the
                    # second was sent and delivered through the only slot.
                    assert server.requests == 2
                    assert (bridge.deliverer.stats.delivered, ended.count) == (1, 0)
                    [job] = bridge.store.jobs()  # the stuck job waits for its retry
                    assert (job.id, job.last_error) == (stuck.id, "no answer within 0.5s")
                    server.release()
                    await ended.wait_for(1)  # its thread ended by itself once hung up on
            tg.cancel_scope.cancel()


async def test_abandoned_sends_are_bounded(tmp_path: Path) -> None:
    """Past the limit of abandoned threads still running, attempts fail at once."""
    limit = abandoned_limit(1)
    server = Trickle(stuck=limit)
    with hearing(ENDED) as ended:
        async with anyio.create_task_group() as tg:
            await tg.start(server.serve)
            settings = notifier(server, timeout="200ms", concurrency=1)
            config = make_config(tmp_path, notifiers={"stuck-desk": settings})
            destination = AppriseDestination(config.notifiers["stuck-desk"])
            with anyio.fail_after(20):
                for number in range(limit):
                    job = sample_job("stuck-desk", 1_700_000_000.0 + number)
                    result = await destination.send(job)
                    assert (result.ok, result.error) == (False, "no answer within 0.2s")
                refused = await destination.send(sample_job("stuck-desk", 1_700_000_010.0))
                assert refused.error == (
                    f"{limit} earlier sends of notifiers.stuck-desk are still running past "
                    "their timeout; none is started until one of them ends"
                )
                assert server.requests == limit  # the refused one was never sent
                server.release()
                await ended.wait_for(limit)
                result = await destination.send(sample_job("stuck-desk", 1_700_000_011.0))
                assert result.ok, result.error
                assert server.requests == limit + 1
            tg.cancel_scope.cancel()

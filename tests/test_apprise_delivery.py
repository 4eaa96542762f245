"""Apprise destinations through its real ``json://`` notifier into a loopback server."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import anyio
import pytest

from bridge.delivery import AppriseDestination
from bridge.delivery.probe import sample_job
from tests.delivery_helpers import make_config, running
from tests.receivers import Receiver, Reply, script

pytestmark = pytest.mark.anyio


def notifier(receiver: Receiver, **options: object) -> dict[str, object]:
    url = f"json://127.0.0.1:{receiver.port}/alerts/s3cr3t-t0ken"
    return {"urls": [url], "retry": ["10ms"], "timeout": "5s", **options}


async def test_apprise_posts_title_body_and_severity(tmp_path: Path) -> None:
    receiver = Receiver(respond=script(Reply(200)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        rules = [
            {
                "name": "fills",
                "on": "fill",
                "notify": ["desk"],
                "severity": "failure",
                "title": "{venue}: {side} {amount} {base}",
                "body": "at {price} {quote}",
            }
        ]
        config = make_config(tmp_path, notifiers={"desk": notifier(receiver)}, rules=rules)
        with anyio.fail_after(20):
            async with running(config) as bridge:
                await bridge.commit(2)
                await bridge.settled(2)
                assert bridge.store.counts() == (0, 0)
                assert bridge.deliverer.stats.delivered == 2
        tg.cancel_scope.cancel()
    assert [r.path for r in receiver.requests] == ["/alerts/s3cr3t-t0ken"] * 2
    for request in receiver.requests:
        assert request.payload["title"] == "gate-main: buy 0.5 BTC"
        assert request.payload["message"] == "at 30000 USDT"
        assert request.payload["type"] == "failure"


async def test_a_failed_notify_is_retried(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = Receiver(respond=script(Reply(500), Reply(200)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        config = make_config(tmp_path, notifiers={"desk": notifier(receiver)})
        with anyio.fail_after(20):
            async with running(config) as bridge:
                (job,) = await bridge.commit(1)
                await bridge.settled(2)
        tg.cancel_scope.cancel()
    assert [o.action for o in bridge.outcomes] == ["retry", "delivered"]
    assert bridge.outcomes[0].error is not None and "Apprise" in bridge.outcomes[0].error
    assert [r.status for r in receiver.requests] == [500, 200]
    assert "s3cr3t-t0ken" not in caplog.text  # Apprise logs URLs at debug level
    assert job.id in caplog.text


async def test_an_unusable_url_is_a_permanent_failure(tmp_path: Path) -> None:
    # `check` refuses such a URL at load; delivery still guards against one (a config
    # loaded by an older version, an Apprise plugin gone since): settings built directly.
    config = make_config(tmp_path, notifiers={"desk": {"urls": ["json://127.0.0.1:9/x"]}})
    settings = dataclasses.replace(
        config.notifiers["desk"], urls=["json://127.0.0.1:9/x", "nosuchscheme://t0k"]
    )
    destination = AppriseDestination(settings)
    result = await destination.send(sample_job("desk", 1_700_000_000.0))
    assert result.permanent
    assert result.error == "notifiers.desk: urls[1] is not a URL Apprise supports"

"""Failures are reported for what they are: a refusal is not a timeout, Apprise says why."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import pytest

from bridge.cli import main
from bridge.delivery.destinations import make_client
from bridge.delivery.probe import sample_job
from bridge.delivery.webhook import WebhookDestination
from tests.delivery_helpers import SECRET, config_text, make_config, running
from tests.receivers import Receiver, Reply, script

pytestmark = pytest.mark.anyio


def closed_port() -> int:
    """A loopback port nothing listens on (bound for a moment, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def full_backlog() -> Iterator[int]:
    """A listening port whose accept queue is full: a new connection is never answered."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(0)
        port = int(server.getsockname()[1])
        clients = []
        try:
            for _ in range(4):  # more than the queue holds; the extra ones just wait
                client = socket.socket()
                client.setblocking(False)
                client.connect_ex(("127.0.0.1", port))
                clients.append(client)
            yield port
        finally:
            for client in clients:
                client.close()


def write_config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "config.toml"
    hook = {"url": url, "secret": SECRET, "timeout": "500ms"}
    path.write_text(config_text(tmp_path / "state", webhooks={"ops": hook}))
    return path


async def test_a_refused_connection_is_reported_as_refused(tmp_path: Path) -> None:
    port = closed_port()
    config = make_config(
        tmp_path,
        webhooks={"ops": {"url": f"http://127.0.0.1:{port}/hook", "secret": SECRET}},
    )
    with anyio.fail_after(20):
        async with running(config) as bridge:
            await bridge.commit(1)
            await bridge.settled(1)
    (outcome,) = bridge.outcomes
    assert (outcome.action, outcome.error) == ("retry", "connection refused")


async def test_notify_test_says_connection_refused(tmp_path: Path, capsys) -> None:
    path = write_config(tmp_path, f"http://127.0.0.1:{closed_port()}/hook")
    with anyio.fail_after(20):
        code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "ops"])
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("ops (webhook): FAILED after ")
    assert ": connection refused (the service would retry" in out


async def test_a_connection_never_answered_is_still_a_timeout(tmp_path: Path) -> None:
    config = make_config(tmp_path, webhooks={"ops": {"url": "http://x/", "secret": SECRET}})
    with full_backlog() as port:
        settings = config.webhooks["ops"]
        settings = type(settings)(
            **{**vars(settings), "url": f"http://127.0.0.1:{port}/hook", "timeout": 0.3}
        )
        async with make_client() as client:
            result = await WebhookDestination(settings, client).send(sample_job("ops", 1e9))
    assert (result.ok, result.error) == (False, "no answer within 0.3s")


def test_only_the_systems_answer_makes_a_connect_failure() -> None:
    from bridge.delivery.webhook import connect_failure

    refused = httpx.ConnectTimeout("Cannot connect")
    refused.__cause__ = ConnectionRefusedError(111, "Connect call failed")
    assert connect_failure(refused) == "connection refused"
    timed_out = httpx.ConnectTimeout("timed out")
    timed_out.__cause__ = TimeoutError()
    assert connect_failure(timed_out) is None
    unreachable = httpx.ConnectError("Cannot connect")
    unreachable.__context__ = OSError(113, "No route to host")
    assert connect_failure(unreachable) == "cannot connect: no route to host"
    unknown = httpx.ConnectTimeout("Cannot connect")
    unknown.__cause__ = OSError(-2, "Name or service not known")  # how aiohttp wraps it
    assert connect_failure(unknown) == "cannot connect: the host name does not resolve"


async def test_notify_test_prints_apprises_reason(tmp_path: Path, capsys) -> None:
    receiver = Receiver(respond=script(Reply(500)))
    async with anyio.create_task_group() as tg:
        await tg.start(receiver.serve)
        token = "t0kenValue42"
        notifiers = {"desk": {"urls": [f"json://127.0.0.1:{receiver.port}/hooks/{token}"]}}
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path / "state", notifiers=notifiers))
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "desk"])
        tg.cancel_scope.cancel()
    out = capsys.readouterr().out
    assert code == 1
    assert out.startswith("desk (apprise): FAILED after ")
    assert "Apprise: Failed to send JSON" in out  # Apprise's words (they vary by version)
    assert "500" in out
    assert "its log says why" not in out
    assert token not in out and str(receiver.port) not in out


async def test_notify_test_reports_each_url_of_a_notifier(tmp_path: Path, capsys) -> None:
    good = Receiver(respond=script(Reply(200)))
    async with anyio.create_task_group() as tg:
        await tg.start(good.serve)
        urls = [f"json://127.0.0.1:{good.port}/a", f"json://127.0.0.1:{closed_port()}/b"]
        path = tmp_path / "config.toml"
        path.write_text(config_text(tmp_path / "state", notifiers={"desk": {"urls": urls}}))
        with anyio.fail_after(20):
            code = await anyio.to_thread.run_sync(main, ["notify-test", "-c", str(path), "desk"])
        tg.cancel_scope.cancel()
    first, second = capsys.readouterr().out.splitlines()
    assert code == 1
    assert first.startswith("desk[0] (apprise): delivered in ")
    assert second.startswith("desk[1] (apprise): FAILED after ")
    assert "Apprise: A Connection error occurred sending JSON notification" in second
    assert len(good.requests) == 1

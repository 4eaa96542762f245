"""sd_notify against real unix datagram sockets standing in for systemd's notify socket."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from anyio.abc import SocketAttribute, UNIXDatagramSocket

from bridge import sdnotify

RECV_TIMEOUT = 5.0  # only bounds a failing test; a passing one never waits this long


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    # The suite may itself run under systemd: never let a test ping the real manager.
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def receiver(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A bound datagram socket in tmp_path, published as $NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(RECV_TIMEOUT)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    with sock:
        yield sock


def pending(sock: socket.socket) -> list[bytes]:
    """Every datagram already queued on ``sock``, without waiting for more."""
    out = []
    timeout = sock.gettimeout()
    sock.setblocking(False)  # a socket with a timeout would poll for it despite MSG_DONTWAIT
    try:
        while True:
            out.append(sock.recv(4096))
    except BlockingIOError:
        return out
    finally:
        sock.settimeout(timeout)


def test_each_state_is_one_exact_datagram(receiver: socket.socket) -> None:
    assert sdnotify.ready()
    assert receiver.recv(4096) == b"READY=1"
    assert sdnotify.stopping()
    assert receiver.recv(4096) == b"STOPPING=1"
    assert sdnotify.watchdog_ping()
    assert receiver.recv(4096) == b"WATCHDOG=1"
    assert sdnotify.status("3/3 venues up")
    assert receiver.recv(4096) == b"STATUS=3/3 venues up"
    assert sdnotify.notify("READY=1", "STATUS=reloaded")
    assert receiver.recv(4096) == b"READY=1\nSTATUS=reloaded"
    assert pending(receiver) == []


def test_reloading_carries_the_monotonic_clock(receiver: socket.socket) -> None:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    assert sdnotify.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    first, second = receiver.recv(4096).decode().split("\n")
    assert first == "RELOADING=1"
    name, _, usec = second.partition("=")
    assert name == "MONOTONIC_USEC"
    assert before <= int(usec) <= after


def test_status_text_cannot_smuggle_in_another_state(receiver: socket.socket) -> None:
    assert sdnotify.status("gate-main down\nREADY=1")
    assert receiver.recv(4096) == b"STATUS=gate-main down READY=1"


def test_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"alert-bridge-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(RECV_TIMEOUT)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.ready()
        assert sock.recv(4096) == b"READY=1"


def test_no_op_without_notify_socket() -> None:
    assert "NOTIFY_SOCKET" not in os.environ
    assert not sdnotify.ready()
    assert not sdnotify.reloading()
    assert not sdnotify.notify("WATCHDOG=1")


def test_nothing_to_send_sends_nothing(receiver: socket.socket) -> None:
    assert not sdnotify.notify()
    assert pending(receiver) == []


@pytest.mark.parametrize(
    "target",
    [
        "relative/notify",  # systemd only ever hands out absolute paths
        "vsock:2:1234",  # a VM's notify address: unsupported, not fatal
    ],
)
def test_unusable_address_returns_false(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, target: str
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", target)
    with caplog.at_level(logging.DEBUG, logger="alert_bridge.sdnotify"):
        assert not sdnotify.ready()
    assert "sd_notify" in caplog.text


def test_never_raises_when_the_socket_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    sock.close()  # the file remains, nobody listens: ECONNREFUSED
    with caplog.at_level(logging.DEBUG, logger="alert_bridge.sdnotify"):
        assert not sdnotify.ready()
        path.unlink()  # now the file is gone too: ENOENT
        assert not sdnotify.stopping()
    assert [r.levelno for r in caplog.records] == [logging.DEBUG, logging.DEBUG]
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + f"alert-bridge-nobody-{uuid.uuid4().hex}")
    assert not sdnotify.ready()


def test_watchdog_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    assert sdnotify.watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert sdnotify.watchdog_interval() == 30.0
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + 1))  # meant for another process
    assert sdnotify.watchdog_interval() is None
    monkeypatch.delenv("WATCHDOG_PID")
    for bad in ("", "0", "-5", "soon"):
        monkeypatch.setenv("WATCHDOG_USEC", bad)
        assert sdnotify.watchdog_interval() is None
    monkeypatch.setenv("WATCHDOG_USEC", "30000000")
    monkeypatch.setenv("WATCHDOG_PID", "me")
    assert sdnotify.watchdog_interval() is None


class Health:
    """A health check the test flips; each call can be awaited."""

    def __init__(self) -> None:
        self.healthy = True
        self.calls = 0
        self.raises = False
        self._called = anyio.Event()

    def __call__(self) -> bool:
        self.calls += 1
        self._called.set()
        if self.raises:
            raise RuntimeError("health check bug")
        return self.healthy

    async def called(self, times: int) -> None:
        """Wait until the watchdog has asked ``times`` more times."""
        target = self.calls + times
        while self.calls < target:
            self._called = anyio.Event()
            await self._called.wait()


@pytest.fixture
async def datagrams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[UNIXDatagramSocket]:
    path = tmp_path / "notify"
    sock = await anyio.create_unix_datagram_socket(local_path=path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    async with sock:
        yield sock


def queued(sock: UNIXDatagramSocket) -> list[bytes]:
    """Datagrams already delivered to ``sock``: a unix datagram send is synchronous."""
    return pending(sock.extra(SocketAttribute.raw_socket))


@pytest.mark.anyio
async def test_watchdog_pings_only_while_healthy(
    datagrams: UNIXDatagramSocket,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("WATCHDOG_USEC", "20000")  # a ping every 10 ms
    caplog.set_level(logging.INFO, logger="alert_bridge.sdnotify")
    health = Health()

    async def pinged() -> None:
        message, _ = await datagrams.receive()
        assert message == b"WATCHDOG=1"

    async def silent_while(**state: bool) -> None:
        for name, value in state.items():
            setattr(health, name, value)
        queued(datagrams)  # pings sent before the change
        await health.called(3)
        assert queued(datagrams) == []

    with anyio.fail_after(RECV_TIMEOUT):
        async with anyio.create_task_group() as tg:
            await tg.start(sdnotify.run_watchdog, health)
            await pinged()
            await pinged()
            await silent_while(healthy=False)
            await silent_while(healthy=True, raises=True)  # still unhealthy; the task lives on
            await silent_while(raises=False, healthy=False)
            health.healthy = True
            await pinged()
            # A broken check straight after a healthy one: logged with its traceback.
            await silent_while(raises=True)
            health.raises = False
            await pinged()
            tg.cancel_scope.cancel()

    # One line per turn for the worse or back, not one per withheld ping.
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "unhealthy: watchdog pings withheld; systemd restarts us if this lasts"),
        ("INFO", "healthy again: watchdog pings resumed"),
        ("ERROR", "health check raised: watchdog pings withheld"),
        ("INFO", "healthy again: watchdog pings resumed"),
    ]
    assert caplog.records[2].exc_info is not None


@pytest.mark.anyio
@pytest.mark.parametrize("pid_offset", [None, 1])
async def test_watchdog_returns_at_once_when_not_expected(
    datagrams: UNIXDatagramSocket,
    monkeypatch: pytest.MonkeyPatch,
    pid_offset: int | None,
) -> None:
    if pid_offset is not None:  # a watchdog, but for another process
        monkeypatch.setenv("WATCHDOG_USEC", "20000")
        monkeypatch.setenv("WATCHDOG_PID", str(os.getpid() + pid_offset))
    health = Health()
    with anyio.fail_after(RECV_TIMEOUT):
        await sdnotify.run_watchdog(health)
    assert health.calls == 0
    assert queued(datagrams) == []

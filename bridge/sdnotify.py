"""sd_notify(3) without libsystemd: readiness, watchdog, reload and stop for ``Type=notify``.

Every function is a no-op returning False when ``$NOTIFY_SOCKET`` is unset (not under
systemd, or in tests), and none ever raises: a lost notification must never take the
service down with it. systemd notices what matters on its own (a missing READY=1 is a
start timeout, a missing WATCHDOG=1 a watchdog restart).
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable

import anyio
from anyio.abc import TaskStatus

log = logging.getLogger("alert_bridge.sdnotify")

# The send is a blocking call on the event loop; systemd drains its queue quickly, and a
# PID 1 too busy to take a datagram within this long gets the notification dropped instead
# of stalling every venue.
SEND_TIMEOUT = 1.0


def _address(target: str) -> str | bytes:
    """The socket address ``$NOTIFY_SOCKET`` names: a path, or ``@name`` for Linux abstract."""
    if target.startswith("@"):
        return b"\0" + os.fsencode(target[1:])
    if target.startswith("/"):
        return target
    # systemd may also hand out vsock: addresses (for VMs); we never run as a VM's payload.
    raise ValueError("unsupported address (neither an absolute path nor @abstract)")


def notify(*states: str) -> bool:
    """Send ``states`` (``"READY=1"``…) as one datagram; True if it was sent."""
    target = os.environ.get("NOTIFY_SOCKET")
    if not target or not states:
        return False
    message = "\n".join(states).encode("utf-8")
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(SEND_TIMEOUT)
            sock.sendto(message, _address(target))
    # Anything at all (a vanished socket, an address we cannot use): the caller carries on.
    except Exception as exc:
        # The message itself is never logged: STATUS= text could quote anything.
        log.debug("sd_notify to %r failed: %s", target, exc)
        return False
    return True


def ready() -> bool:
    """Tell systemd the service is up (ends ``Type=notify`` start-up, or a reload)."""
    return notify("READY=1")


def stopping() -> bool:
    """Tell systemd the service is shutting down."""
    return notify("STOPPING=1")


def reloading() -> bool:
    """Tell systemd a reload began; ``ready()`` ends it."""
    # MONOTONIC_USEC lets systemd tell this reload from an older one (Type=notify-reload
    # requires it); it must be CLOCK_MONOTONIC, the clock systemd itself compares against.
    usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    return notify("RELOADING=1", f"MONOTONIC_USEC={usec}")


def watchdog_ping() -> bool:
    """Tell systemd's watchdog the service is alive."""
    return notify("WATCHDOG=1")


def status(text: str) -> bool:
    """Set the one-line status ``systemctl status`` shows."""
    # A newline would start a new assignment: status text must not be able to send READY=1.
    return notify("STATUS=" + " ".join(text.splitlines()))


def watchdog_interval() -> float | None:
    """Seconds within which systemd expects a ``WATCHDOG=1``; None if none is expected of us."""
    raw = os.environ.get("WATCHDOG_USEC")
    if not raw:
        return None
    try:
        usec = int(raw)
        # WATCHDOG_PID names the process systemd watches; a child that inherited the
        # variables (or a wrapper's parent) must not ping on its behalf.
        pid = os.environ.get("WATCHDOG_PID")
        if pid and int(pid) != os.getpid():
            return None
    except ValueError:
        log.debug("ignoring malformed WATCHDOG_USEC/WATCHDOG_PID")
        return None
    return usec / 1_000_000 if usec > 0 else None


async def run_watchdog(
    is_healthy: Callable[[], bool],
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Ping the watchdog every half interval while ``is_healthy()``; return if there is none.

    Start it after READY=1: systemd arms the watchdog once start-up is complete, and the
    first check and ping happen before ``task_status.started()`` returns.
    """
    interval = watchdog_interval()
    if interval is None:
        task_status.started()
        return
    # That this task runs at all proves the event loop is not blocked; is_healthy() answers
    # for the rest (workers alive). Half the interval leaves room for one late wake-up.
    period = interval / 2
    healthy = _beat(is_healthy, was_healthy=True)
    task_status.started()
    while True:
        await anyio.sleep(period)
        healthy = _beat(is_healthy, healthy)


def _beat(is_healthy: Callable[[], bool], was_healthy: bool) -> bool:
    """One check, and a ping if it passed; returns whether it passed."""
    healthy = _check(is_healthy, was_healthy)
    if healthy:
        watchdog_ping()
        if not was_healthy:
            log.info("healthy again: watchdog pings resumed")
    return healthy


def _check(is_healthy: Callable[[], bool], was_healthy: bool) -> bool:
    """``is_healthy()``, where raising counts as unhealthy; logs only the turn for the worse."""
    try:
        healthy = bool(is_healthy())
    # A broken check must not end this task: withheld pings make systemd restart us, which
    # is the honest outcome, and a crash here would take the whole service down instead.
    except Exception:
        if was_healthy:
            log.exception("health check raised: watchdog pings withheld")
        return False
    if was_healthy and not healthy:
        log.warning("unhealthy: watchdog pings withheld; systemd restarts us if this lasts")
    return healthy

"""Keeping a listenKey alive without giving up a healthy socket over one failed PUT.

A key lives 60 minutes after its last keep-alive. A PUT that fails for a passing reason
(rate limit, server error, network) is retried while the key can still be alive: only
past that point is the connection ended, so the next connect fetches a fresh key.
Credentials rejected, or any other venue error (the key is gone), end it at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

import anyio

from bridge.plugin import Session, VenueUnavailable
from plugins.bitmusa.rest import ListenKeyApi, Transient

if TYPE_CHECKING:  # annotations only: `alert-bridge check` loads plugins, never httpx
    import httpx

log = logging.getLogger("alert_bridge.venue.bitmusa")

KEY_LIFETIME = 3600.0  # seconds a listenKey stays valid after creation or a keep-alive
RETRY_CAP = 30.0  # the longest pause between retries of a failed keep-alive
VALID_UNTIL = "valid_until"  # Session.data: unix time the key expires unless extended


def retry_delay(interval: float) -> float:
    """The pause between retries of a failed keep-alive: frequent, but never a flood."""
    return min(RETRY_CAP, interval / 5)


def mark_extended(session: Session, now: float, lifetime: float) -> None:
    """Record that the session's key was just created or extended."""
    session.data[VALID_UNTIL] = now + lifetime


async def keep_alive(
    api: ListenKeyApi,
    http: httpx.AsyncClient,
    session: Session,
    *,
    interval: float,
    lifetime: float,
    label: str,
    clock: Callable[[], float],
) -> None:
    """One scheduled keep-alive, retried on passing failures while the key may live."""
    delay = retry_delay(interval)
    while True:
        try:
            await api.keep_alive(http)
        except Transient as exc:
            valid_until = float(session.data.get(VALID_UNTIL, 0.0))
            if clock() + delay >= valid_until:
                raise VenueUnavailable(
                    f"keep-alive failed until the listenKey expired: {exc}"
                ) from exc
            log.warning("%s: keep-alive failed, retrying in %gs: %s", label, delay, exc)
            await anyio.sleep(delay)
            continue
        mark_extended(session, clock(), lifetime)
        return

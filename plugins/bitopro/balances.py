"""ACCOUNT_BALANCE -> balance events, only for currencies whose figures changed.

BitoPro re-pushes the full snapshot (every listed currency, ~2,000) on every connect and
then pushes only changed currencies. Each currency is compared with the last known
figures in ``ctx.state``; an unchanged one yields nothing, so a reconnect is silent.

State (bounded by the currencies actually held): ``balance:<ASSET>`` ->
``[amount, available, stake]`` as the venue sent them. A currency whose figures are all
zero is not stored: once seeded, *absent means zero*, so the hundreds of empty
currencies in every snapshot cost neither state nor events.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    BalanceEvent,
    Event,
    FrameError,
    NormalizeContext,
    event_id,
    obj,
    text,
)
from plugins.bitopro.fields import envelope, frame_ms, need_number, number

PREFIX = "balance:"
# Set once the first balance frame ever was applied. Before it nothing is known, so
# `change` is unknown (None) rather than "everything was just deposited".
SEEDED = "seeded:balances"
_ZERO = Decimal(0)

Entry = tuple[str | None, Any]


def normalize_balances(ctx: NormalizeContext, frame: Any) -> list[Event]:
    """Balance events for the currencies of one ACCOUNT_BALANCE push that changed."""
    frame, data = envelope(frame)
    ts = frame_ms(frame)
    if ts is None:
        ts = ctx.received_at
    seeded = SEEDED in ctx.state
    events = ctx.each(_entries(data), lambda entry: _currency(ctx, entry, ts, seeded))
    if not seeded:
        ctx.state[SEEDED] = True
    return events


def _entries(data: Any) -> list[Entry]:
    # Documented: an object keyed by currency. An array of entries is accepted too.
    if isinstance(data, dict):
        return list(data.items())
    if isinstance(data, list):
        return [(None, entry) for entry in data]
    raise FrameError(f"data: expected an object keyed by currency, got {type(data).__name__}")


def _asset(key: str | None, entry: dict[str, Any]) -> str:
    asset = text(entry.get("currency"), "currency") or key
    if not asset:
        raise FrameError("currency: missing")
    return asset.upper()


def _currency(ctx: NormalizeContext, pair: Entry, ts: int, seeded: bool) -> list[Event]:
    key, entry = pair
    entry = obj(entry, "balance")
    asset = _asset(key, entry)
    state_key = PREFIX + asset
    figures = [entry.get("amount"), entry.get("available"), entry.get("stake")]
    known = ctx.state.get(state_key)
    if known == figures:
        return []  # the re-pushed snapshot: same text, nothing to parse
    total = need_number(entry, "amount")
    available = number(figures[1], "available")
    stake = number(figures[2], "stake") or _ZERO
    current = (total, available or _ZERO, stake)
    if known is None:
        if not any(current):
            return []  # holds nothing, and absent already means zero
        prior_total = _ZERO if seeded else None
    else:
        prior = tuple(number(v, "state") or _ZERO for v in known)
        if prior == current:
            return []  # same figures written differently ("1.0" vs "1")
        prior_total = prior[0]
    if any(current):
        ctx.state[state_key] = figures
    else:
        del ctx.state[state_key]  # back to nothing: absent means zero
    # The docs have no locked figure; what is neither available nor staked is in orders.
    locked = None if available is None else total - available - stake
    return [
        ctx.event(
            BalanceEvent,
            id=event_id(ctx.venue, "balance", asset, ts, total, available, stake),
            ts=ts,
            raw=entry,
            asset=asset,
            total=total,
            available=available,
            locked=locked if locked is None or locked >= 0 else None,
            change=None if prior_total is None else total - prior_total,
        )
    ]

"""Bitmusa spot user-stream frames -> normalized events (VENUES.md §3).

Frames are ``{"data": {...}, "stream": "spot_wallet" | "spot_order", "eventTime": ms}``.
Numbers may be JSON numbers (decoded as floats): they become Decimals through their
shortest repr, and all arithmetic is on Decimals. ``spot_wallet`` keeps the last
balance per asset in ``ctx.state`` (``wallet:<ASSET>`` -> [free, locked]) to skip
unchanged re-pushes and compute ``change``; ``spot_order`` is in :mod:`.orders`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bridge.plugin import (
    BalanceEvent,
    Event,
    FrameError,
    NormalizeContext,
    dec,
    event_id,
    items,
    need,
    need_text,
    obj,
)
from plugins.bitmusa.fields import key_text, need_quantity
from plugins.bitmusa.orders import order

LATEST_MS = 10**14  # an eventTime past the year 5000 is not a millisecond timestamp


def wallet(ctx: NormalizeContext, item: Any, ts: int) -> list[Event]:
    """One ``spot_wallet`` item -> a balance event, unless nothing changed."""
    item = obj(item, "data")
    asset = need_text(item, "asset").upper()
    free, locked = need_quantity(item, "free"), need_quantity(item, "locked")
    key = f"wallet:{asset}"
    prior = ctx.state.get(key)
    prior_total = None
    if isinstance(prior, list) and len(prior) == 2:
        prior_free, prior_locked = Decimal(prior[0]), Decimal(prior[1])
        if (prior_free, prior_locked) == (free, locked):
            return []  # a re-push of what we already know is not a new fact
        prior_total = prior_free + prior_locked
    ctx.state[key] = [key_text(free), key_text(locked)]
    total = free + locked
    return [
        ctx.event(
            BalanceEvent,
            # (asset, free, locked) is the documented dedup key; eventTime tells a later
            # return to the same figures (A -> B -> A) from a repeat of the first.
            id=event_id(ctx.venue, "balance", asset, key_text(free), key_text(locked), ts),
            raw=item,
            ts=ts,
            asset=asset,
            total=total,
            available=free,
            locked=locked,
            change=None if prior_total is None else total - prior_total,
        )
    ]


def normalize_frame(ctx: NormalizeContext, frame: Any) -> list[Event]:
    """Every event in one frame; a bad item is skipped, the others kept."""
    frame = obj(frame)
    stream = frame.get("stream")
    if stream not in ("spot_wallet", "spot_order"):
        raise FrameError(f"stream: unexpected {stream!r}")
    when = dec(need(frame, "eventTime"), "eventTime")
    if when is None or not 0 <= when < LATEST_MS:
        raise FrameError("eventTime: not a millisecond timestamp")
    ts = int(when)
    data = items(frame.get("data"), "data")
    if stream == "spot_wallet":
        return ctx.each(data, lambda item: wallet(ctx, item, ts))
    return ctx.each(data, lambda item: order(ctx, item, ts))

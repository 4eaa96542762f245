"""Gate.io Unified frames -> normalized events (VENUES.md §2).

``unified.assets`` gives portfolio figures under one-letter keys; ``unified.asset_detail``
gives per-currency figures under ``dts``. Both are absolute values with a refresh time
``t`` and no ids, so :mod:`plugins.gateio_unified.applied` decides what is a new fact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bridge.plugin import (
    AccountEvent,
    BalanceEvent,
    Event,
    FrameError,
    NormalizeContext,
    dec,
    event_id,
    millis,
    need,
    need_dec,
    obj,
    text,
)
from plugins.gateio_unified.applied import apply_push

#: unified.assets short key -> AccountEvent field. ``c`` (credit_available_margin) was
#: removed on 2025-02-10 but may still be sent: it is deliberately not mapped.
ACCOUNT_KEYS = {
    "e": "equity",
    "b": "margin_balance",
    "a": "available_margin",
    "l": "liabilities",
    "r": "initial_margin_rate",
    "R": "maintenance_margin_rate",
    "T": "total",
}

# Below this, ``t`` is seconds (as in every documented example); at or above it, ms.
# 1e11 s is the year 5138, 1e11 ms is 1973: no real refresh time is ambiguous.
_MS_THRESHOLD = 10**11


def refresh_ms(item: dict[str, Any]) -> int:
    """The push's refresh time ``t`` in ms, whether the venue sent seconds or ms."""
    raw = need(item, "t")
    as_sent = millis(raw, "t")
    return as_sent if as_sent >= _MS_THRESHOLD else millis(raw, "t", seconds=True)


def account(ctx: NormalizeContext, item: Any) -> list[Event]:
    """One ``unified.assets`` result -> an account event, if its figures changed."""
    item = obj(item, "result")
    t_ms = refresh_ms(item)
    user = text(item.get("u"), "u")
    figures = {name: dec(item.get(key), key) for key, name in ACCOUNT_KEYS.items()}
    if all(value is None for value in figures.values()):
        raise FrameError(f"result: none of the figures {', '.join(ACCOUNT_KEYS)} present")
    values = list(figures.values())
    change = apply_push(ctx.state, "account", t_ms, values)
    if change is None:
        return []
    return [
        ctx.event(
            AccountEvent,
            id=event_id(ctx.venue, "account", user, t_ms, change.number, *values),
            raw=item,
            ts=t_ms,
            **figures,
        )
    ]


def _currency_balance(
    ctx: NormalizeContext, user: str | None, t_ms: int, asset: str, entry: Any
) -> list[Event]:
    entry = obj(entry, asset)
    # b = balance is the currency's total; a = available; f = freeze (locked). e (equity)
    # and tl (liabilities) stay in ``raw``: a balance event is about what is held.
    total = need_dec(entry, "b")
    available, locked = dec(entry.get("a"), "a"), dec(entry.get("f"), "f")
    change = apply_push(ctx.state, f"balance:{asset}", t_ms, [total, available, locked])
    if change is None:
        return []
    prior_total = change.previous[0] if change.previous else None
    return [
        ctx.event(
            BalanceEvent,
            id=event_id(
                ctx.venue, "balance", user, asset, t_ms, change.number, total, available, locked
            ),
            raw=entry,
            ts=t_ms,
            asset=asset,
            total=total,
            available=available,
            locked=locked,
            change=None if prior_total is None else total - prior_total,
        )
    ]


def balances(ctx: NormalizeContext, item: Any) -> list[Event]:
    """One ``unified.asset_detail`` result -> a balance event per currency that changed.

    ``dts`` may hold every subscribed currency or only the changed ones (the doc says
    "incremental" but does not say which): comparing with the last applied values gives
    the same events either way, and a currency left out is unchanged, never zero.
    """
    item = obj(item, "result")
    t_ms = refresh_ms(item)
    user = text(item.get("u"), "u")
    details = obj(need(item, "dts"), "dts")

    def one(pair: tuple[str, Any]) -> list[Event]:
        currency, entry = pair
        try:
            return _currency_balance(ctx, user, t_ms, currency.upper(), entry)
        except FrameError as exc:
            raise FrameError(f"dts.{currency}: {exc}") from None

    return ctx.each(details.items(), one)


def _each_result(
    ctx: NormalizeContext, result: Any, handle: Callable[[Any], list[Event]]
) -> list[Event]:
    # The field tables call ``result`` an array; every example sends one object. An
    # object is the frame's one item (its errors fail the frame); an array's bad items
    # are skipped one by one.
    if isinstance(result, list):
        return ctx.each(result, handle)
    return handle(obj(result, "result"))


def normalize_frame(ctx: NormalizeContext, frame: Any) -> list[Event]:
    """Every event in one ``update`` push of ``unified.assets`` or ``unified.asset_detail``."""
    frame = obj(frame)
    channel = frame.get("channel")
    result = frame.get("result")
    if channel == "unified.assets":
        return _each_result(ctx, result, lambda item: account(ctx, item))
    if channel == "unified.asset_detail":
        return _each_result(ctx, result, lambda item: balances(ctx, item))
    raise FrameError(f"channel: unexpected {channel!r}")

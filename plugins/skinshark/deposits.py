"""SkinShark ``deposit.*`` -> deposit events (VENUES.md §5, normalization notes (d)).

Two families share the event names and are told apart by their id key:
gateway deposits (Gate Pay, on-ramp) carry ``fundingId`` and USD decimals
(``receiveAmountUsd``); self-hosted EVM crypto deposits carry ``depositId``, ``amountWei``
and ``amountUsdCents`` (a string on the socket, a number or null in webhooks). The
webhook ``deposit`` object (``id``, ``amountCents``, ``cryptoAmount``) is read too.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TypeVar

from bridge.plugin import DepositEvent, Event, FrameError, NormalizeContext, event_id
from plugins.skinshark.fields import Fields

T = TypeVar("T")

ID_KEYS = ("fundingId", "depositId", "id")  # gateway, self-hosted crypto, webhook object

#: event suffix (or, under ``deposit.failed``, the data's status) -> our status
STATUSES = {
    "initiated": "pending",
    "pending": "pending",
    "transfer": "pending",  # a gateway on-chain transfer was seen; not credited yet
    "completed": "completed",
    "failed": "failed",
    # An underpaid gateway deposit: the socket sends it as deposit.failed, so it is a
    # failure (the "deposit failed" rule must see it); the reason says what happened.
    "partial": "failed",
    "expired": "expired",
    "refunded": "refunded",
    "canceled": "canceled",
    "cancelled": "canceled",  # webhook spelling
}
FAILED_STATES = frozenset({"failed", "expired", "canceled"})
NOTES = {"partial": "partial payment"}


def deposit_status(suffix: str, raw: str | None) -> tuple[str, str | None]:
    """Our status and a note for ``reason``, from ``deposit.<suffix>`` and data.status."""
    if suffix == "failed":
        word = raw or "failed"
        mapped = STATUSES.get(word)
        if mapped is not None and mapped in FAILED_STATES:
            return mapped, NOTES.get(word)
        return "failed", f"status {word}"  # the event name says failed, whatever the status
    return STATUSES.get(suffix, suffix), NOTES.get(suffix)  # unknown names are kept as is


def deposit_id(data: Fields) -> str:
    """The deposit's own id: ``fundingId`` (gateway) or ``depositId`` (crypto) or ``id``."""
    for key in ID_KEYS:
        value = data.data.get(key)
        if value not in (None, ""):
            if isinstance(value, bool) or not isinstance(value, (str, int)):
                raise FrameError(f"{key}: expected text, got {value!r}")
            return str(value)
    raise FrameError("fundingId/depositId: missing")


def _first(*values: T | None) -> T | None:
    return next((v for v in values if v is not None), None)


def _usd(data: Fields, currency: str | None) -> Decimal | None:
    """The USD value: gateway decimals, crypto cents, or a webhook's USD wallet cents."""
    usd = data.decimal("receiveAmountUsd")
    if usd is None:
        usd = data.cents("amountUsdCents")  # "1250" on the socket, 1250 or null in webhooks
    if usd is None and currency == "USD":
        usd = data.cents("amountCents")
    return usd


def deposit_events(ctx: NormalizeContext, suffix: str, payload: object, ts: int) -> list[Event]:
    """One ``deposit.<suffix>`` push -> one deposit event."""
    data = Fields(ctx, payload, "data")
    identity = deposit_id(data)
    status, note = deposit_status(suffix, data.text("status"))
    transfer = data.child("transfer")  # deposit.transfer: {txHash, amount, chain}
    tx_hash = _first(transfer.text("txHash") if transfer else None, data.text("txHash"))
    # amountWei is in the token's smallest unit and the token's decimals are not sent,
    # so it is not turned into `amount` (raw keeps it); amount_usd carries the value.
    amount = _first(
        transfer.decimal("amount") if transfer else None,
        data.decimal("cryptoAmount"),
        data.decimal("payAmountToken"),
    )
    asset = _first(
        data.text("token"),
        transfer.text("token") if transfer else None,
        data.text("payToken"),
    )
    currency = data.text("currency")  # webhook objects: the wallet currency of amountCents
    if amount is None and currency is not None:
        amount, asset = data.cents("amountCents"), currency
    reason = data.text("reason")
    if note is not None:
        reason = f"{note}: {reason}" if reason else note
    key: tuple[object, ...] = (identity, status)
    if suffix == "transfer":  # several transfers may pay one gateway funding
        key += (tx_hash,)
    return [
        ctx.event(
            DepositEvent,
            id=event_id(ctx.venue, "deposit", *key),
            ts=ts,
            raw=data.data,
            deposit_id=identity,
            status=status,
            asset=asset,
            amount=amount,
            amount_usd=_usd(data, currency),
            chain=_first(transfer.text("chain") if transfer else None, data.text("chain")),
            tx_hash=tx_hash,
            reason=reason,
            confirmations=data.integer("confirmations"),
        )
    ]

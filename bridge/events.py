"""The normalized event model (DESIGN §5): one dataclass per kind.

The dataclass annotations are the single source of truth for field names and types;
the JSON codec, the rule compiler and the templates all read :data:`FIELD_TYPES`.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import types
import typing
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any, ClassVar, Union

JSONValue = Any  # the raw venue item: whatever its JSON decoded to


@dataclass(slots=True)  # not frozen: built for every fill, and frozen init costs double
class Fee:
    """One charge on an order or fill: ``amount`` of ``asset``; a rebate is negative."""

    asset: str | None
    amount: Decimal


Fees = tuple[Fee, ...]  # an event's ``fees``: every charge, in the venue's order


@dataclass(slots=True, kw_only=True)
class Event:
    """Fields every event carries. ``ts`` and ``received_at`` are milliseconds."""

    kind: ClassVar[str] = ""

    id: str
    venue: str
    plugin: str = ""
    ts: int = 0
    received_at: int = 0
    raw: JSONValue = field(default=None, compare=False)
    #: true when REST reconciliation recovered it after the stream missed it (DESIGN §9)
    recovered: bool = False


@dataclass(slots=True, kw_only=True)
class OrderEvent(Event):
    """An order was created, (partially) filled, canceled or expired."""

    kind: ClassVar[str] = "order"

    order_id: str | None = None
    client_id: str | None = None
    symbol: str | None = None
    base: str | None = None
    quote: str | None = None
    side: str | None = None
    type: str | None = None
    status: str | None = None
    status_raw: str | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    filled: Decimal | None = None
    remaining: Decimal | None = None
    avg_price: Decimal | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    fees: Fees | None = None


@dataclass(slots=True, kw_only=True)
class FillEvent(Event):
    """A trade against one of the account's orders; ``derived`` when computed from totals."""

    kind: ClassVar[str] = "fill"

    trade_id: str | None = None
    order_id: str | None = None
    symbol: str | None = None
    base: str | None = None
    quote: str | None = None
    side: str | None = None
    role: str | None = None
    price: Decimal | None = None
    amount: Decimal | None = None
    notional: Decimal | None = None
    fee: Decimal | None = None
    fee_asset: str | None = None
    fees: Fees | None = None
    derived: bool = False


@dataclass(slots=True, kw_only=True)
class BalanceEvent(Event):
    """The balance of one asset changed; ``change`` is the delta of ``total`` when known."""

    kind: ClassVar[str] = "balance"

    asset: str | None = None
    total: Decimal | None = None
    available: Decimal | None = None
    locked: Decimal | None = None
    change: Decimal | None = None
    change_type: str | None = None


@dataclass(slots=True, kw_only=True)
class DepositEvent(Event):
    """A deposit changed status."""

    kind: ClassVar[str] = "deposit"

    deposit_id: str | None = None
    status: str | None = None
    asset: str | None = None
    amount: Decimal | None = None
    amount_usd: Decimal | None = None
    chain: str | None = None
    tx_hash: str | None = None
    reason: str | None = None
    confirmations: int | None = None


@dataclass(slots=True, kw_only=True)
class AccountEvent(Event):
    """Portfolio-level margin figures."""

    kind: ClassVar[str] = "account"

    equity: Decimal | None = None
    margin_balance: Decimal | None = None
    available_margin: Decimal | None = None
    liabilities: Decimal | None = None
    initial_margin_rate: Decimal | None = None
    maintenance_margin_rate: Decimal | None = None
    total: Decimal | None = None


@dataclass(slots=True, kw_only=True)
class ConnectionEvent(Event):
    """Emitted by the core about a venue's stream, so rules can alert on a dead stream."""

    kind: ClassVar[str] = "connection"

    state: str | None = None
    reason: str | None = None
    attempt: int | None = None
    down_seconds: Decimal | None = None


@dataclass(slots=True, kw_only=True)
class NoticeEvent(Event):
    """A venue's system notice."""

    kind: ClassVar[str] = "notice"

    severity: str | None = None
    message: str | None = None


EVENT_CLASSES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        OrderEvent,
        FillEvent,
        BalanceEvent,
        DepositEvent,
        AccountEvent,
        ConnectionEvent,
        NoticeEvent,
    )
}
KINDS: tuple[str, ...] = tuple(EVENT_CLASSES)

ORDER_STATUSES = ("open", "partially_filled", "filled", "canceled", "expired", "rejected")
CONNECTION_STATES = ("connected", "disconnected", "auth_failed")


class FieldType(enum.Enum):
    TEXT = "text"
    DECIMAL = "decimal"
    INTEGER = "integer"
    BOOLEAN = "boolean"
    JSON = "json"
    FEES = "fees"  # a list of {asset, amount}

    @property
    def numeric(self) -> bool:
        return self in (FieldType.DECIMAL, FieldType.INTEGER)


_ANNOTATION_TYPES = {
    str: FieldType.TEXT,
    Decimal: FieldType.DECIMAL,
    int: FieldType.INTEGER,
    bool: FieldType.BOOLEAN,
}


def _field_type(annotation: Any) -> FieldType:
    if annotation is JSONValue:
        return FieldType.JSON
    if annotation == Fees | None:
        return FieldType.FEES
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        annotation = members[0]
    return _ANNOTATION_TYPES[annotation]


def _kind_fields(cls: type[Event]) -> dict[str, FieldType]:
    hints = typing.get_type_hints(cls)
    return {f.name: _field_type(hints[f.name]) for f in fields(cls)}


COMMON_FIELDS: tuple[str, ...] = (
    "id",
    "kind",
    "venue",
    "plugin",
    "ts",
    "received_at",
    "raw",
    "recovered",
)

#: kind -> field name -> type, including the common fields and ``kind`` itself.
FIELD_TYPES: dict[str, dict[str, FieldType]] = {
    kind: {"kind": FieldType.TEXT, **_kind_fields(cls)} for kind, cls in EVENT_CLASSES.items()
}


def event_id(venue: str, kind: str, *parts: object) -> str:
    """A deterministic id: the same venue fact always gives the same id.

    ``parts`` is the venue's own identity of the fact (a trade id; an order id with its
    update time and fill state...). The venue *instance* name is part of the id so two
    accounts on one venue never collide. The id is the BLAKE2b-128 of the fields joined
    by U+001F.
    """
    digest = _id_prefix(venue, kind).copy()
    for part in parts:
        digest.update(b"\x1f")
        digest.update((part if type(part) is str else str(part)).encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=4096)
def _id_prefix(venue: str, kind: str) -> hashlib.blake2b:
    # Hashing continues from a copy of "venue␟kind": half the cost of hashing it afresh,
    # on every event of every frame.
    return hashlib.blake2b(f"{venue}\x1f{kind}".encode(), digest_size=16)


def market_symbol(base: str, quote: str) -> str:
    """The normalized symbol, e.g. ``BTC/USDT``."""
    return f"{base.upper()}/{quote.upper()}"

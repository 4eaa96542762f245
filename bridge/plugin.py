"""The public API for plugin authors: ``from bridge.plugin import hookimpl, Venue, ...``.

Built-in venue plugins use exactly this module (and ``bridge.testing``), never core
internals, so a third-party plugin can do everything a built-in one does.
"""

from __future__ import annotations

# Destinations pull in delivery and the store; imported last, so that venue plugins
# (which import this module early) never see a half-initialised core.
from bridge.delivery.attempt import AttemptResult
from bridge.destination import Destination
from bridge.events import (
    AccountEvent,
    BalanceEvent,
    ConnectionEvent,
    DepositEvent,
    Event,
    FillEvent,
    NoticeEvent,
    OrderEvent,
    event_id,
    market_symbol,
)
from bridge.frames import (
    dec,
    flag,
    items,
    millis,
    need,
    need_dec,
    need_text,
    notional,
    obj,
    text,
)
from bridge.hookspecs import hookimpl
from bridge.schema import (
    BOOLEAN,
    DECIMAL,
    DURATION,
    INTEGER,
    NON_EMPTY_TEXT,
    POSITIVE_INTEGER,
    TEXT,
    TEXT_LIST,
    Option,
    Schema,
    choice_list,
    non_empty_list,
    one_of,
    url_with_scheme,
)
from bridge.store import Job
from bridge.venue import (
    DATA,
    IGNORE,
    AuthFailed,
    Classification,
    Duty,
    FrameError,
    NormalizeContext,
    ReconcileWindow,
    Recovered,
    RestRequest,
    Session,
    Signal,
    StateMap,
    Venue,
    VenueUnavailable,
)

__all__ = [
    "BOOLEAN",
    "DATA",
    "DECIMAL",
    "DURATION",
    "IGNORE",
    "INTEGER",
    "NON_EMPTY_TEXT",
    "POSITIVE_INTEGER",
    "TEXT",
    "TEXT_LIST",
    "AccountEvent",
    "AttemptResult",
    "AuthFailed",
    "BalanceEvent",
    "Classification",
    "ConnectionEvent",
    "DepositEvent",
    "Destination",
    "Duty",
    "Event",
    "FillEvent",
    "FrameError",
    "Job",
    "NormalizeContext",
    "NoticeEvent",
    "Option",
    "OrderEvent",
    "ReconcileWindow",
    "Recovered",
    "RestRequest",
    "Schema",
    "Session",
    "Signal",
    "StateMap",
    "Venue",
    "VenueUnavailable",
    "choice_list",
    "dec",
    "event_id",
    "flag",
    "hookimpl",
    "items",
    "market_symbol",
    "millis",
    "need",
    "need_dec",
    "need_text",
    "non_empty_list",
    "notional",
    "obj",
    "one_of",
    "text",
    "url_with_scheme",
]

"""The public API for plugin authors: ``from bridge.plugin import hookimpl, Venue, ...``.

Built-in venue plugins use exactly this module (and ``bridge.testing``), never core
internals, so a third-party plugin can do everything a built-in one does.
"""

from __future__ import annotations

from typing import ClassVar

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


class Venue:
    """Base class of a venue connector: a description of the venue's protocol.

    Subclasses set the class attributes below. The core owns sockets, reconnects,
    heartbeats and persistence; the connection contract is added by the runtime.
    """

    #: the event kinds this venue yields (shown by ``alert-bridge plugins``)
    kinds: ClassVar[tuple[str, ...]] = ()
    #: the venue's own config keys (``plugin``, ``url`` and ``rest_url`` are added for you)
    options: ClassVar[tuple[Option, ...]] = ()
    #: production WebSocket URL
    default_url: ClassVar[str] = ""
    #: production REST base URL, for venues with a REST step (None: the venue has none)
    default_rest_url: ClassVar[str | None] = None

    @classmethod
    def config_schema(cls) -> Schema:
        """Every key a ``[venues.NAME]`` table of this plugin may hold (except ``plugin``)."""
        extra = [Option("url", url_with_scheme("wss", "ws"), default=cls.default_url)]
        if cls.default_rest_url is not None:
            extra.append(
                Option("rest_url", url_with_scheme("https", "http"), default=cls.default_rest_url)
            )
        return Schema((*cls.options, *extra))


__all__ = [
    "BOOLEAN",
    "DECIMAL",
    "DURATION",
    "INTEGER",
    "NON_EMPTY_TEXT",
    "POSITIVE_INTEGER",
    "TEXT",
    "TEXT_LIST",
    "AccountEvent",
    "BalanceEvent",
    "ConnectionEvent",
    "DepositEvent",
    "Event",
    "FillEvent",
    "NoticeEvent",
    "Option",
    "OrderEvent",
    "Schema",
    "Venue",
    "choice_list",
    "event_id",
    "hookimpl",
    "market_symbol",
    "non_empty_list",
    "one_of",
    "url_with_scheme",
]
